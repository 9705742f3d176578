//! OOI credentials: the API username and token (ooinet.oceanobservatories.org → profile), found
//! in this order: explicit values (flags), the environment (`OOI_USERNAME`, `OOI_TOKEN`; the CLI
//! loads a `.env` file into it first), then `~/.netrc` (`machine ooinet.oceanobservatories.org`,
//! as OOI's own ooi-data-explorations reads them). The token is never printed: `Debug` shows
//! it redacted and [`Credentials::redact`] removes it from any text shown to a person.
//!
//! Must not know: command-line flags, HTTP.

use std::path::Path;

use super::error::OoiError;

/// What replaces a secret in anything shown.
pub const REDACTED: &str = "REDACTED";

/// The `.netrc` machine OOI's clients use.
pub const NETRC_MACHINE: &str = "ooinet.oceanobservatories.org";

/// An API username and token (HTTP basic auth).
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    username: String,
    token: String,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("username", &self.username)
            .field("token", &REDACTED)
            .finish()
    }
}

/// Where credentials came from (for messages; never the values).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CredentialSource {
    /// Given explicitly (flags).
    Explicit,
    /// `OOI_USERNAME` / `OOI_TOKEN` in the environment.
    Environment,
    /// `~/.netrc`.
    Netrc,
}

impl Credentials {
    /// Credentials from explicit values (surrounding whitespace is dropped).
    pub fn new(username: &str, token: &str) -> Result<Credentials, OoiError> {
        let (u, t) = (username.trim(), token.trim());
        if u.is_empty() || t.is_empty() {
            return Err(OoiError::Credentials(
                "both an API username and an API token are needed".into(),
            ));
        }
        Ok(Credentials {
            username: u.to_string(),
            token: t.to_string(),
        })
    }

    /// The API username (not secret, but shown only where needed).
    pub fn username(&self) -> &str {
        &self.username
    }

    /// The token, for the HTTP layer only.
    pub(crate) fn token(&self) -> &str {
        &self.token
    }

    /// Removes the token (and the `user:token` pair) from `text`.
    pub fn redact(&self, text: &str) -> String {
        if self.token.len() < 4 {
            return text.to_string();
        }
        text.replace(&self.token, REDACTED)
    }

    /// Resolves credentials: explicit values, then `env` (a lookup such as `std::env::var`),
    /// then the `.netrc` file `netrc`. A `.env` file is not read here: the CLI loads it into the
    /// environment once, before anything else, so `env` sees its values.
    pub fn resolve(
        username: Option<&str>,
        token: Option<&str>,
        env: &dyn Fn(&str) -> Option<String>,
        netrc: Option<&Path>,
    ) -> Result<(Credentials, CredentialSource), OoiError> {
        if let (Some(u), Some(t)) = (username, token) {
            return Ok((Credentials::new(u, t)?, CredentialSource::Explicit));
        }
        let user = username.map(String::from);
        let (eu, et) = (env("OOI_USERNAME"), env("OOI_TOKEN"));
        if let (Some(u), Some(t)) = (user.clone().or(eu), token.map(String::from).or(et)) {
            return Ok((Credentials::new(&u, &t)?, CredentialSource::Environment));
        }
        if let Some(path) = netrc.filter(|p| p.is_file()) {
            let text = std::fs::read_to_string(path).map_err(|e| {
                OoiError::Credentials(format!("cannot read {}: {e}", path.display()))
            })?;
            if let Some((u, t)) = parse_netrc(&text, NETRC_MACHINE) {
                return Ok((Credentials::new(&u, &t)?, CredentialSource::Netrc));
            }
        }
        Err(OoiError::Credentials(format!(
            "none found: pass --username and --token, set OOI_USERNAME and OOI_TOKEN (environment \
             or .env), or add `machine {NETRC_MACHINE} login <username> password <token>` to ~/.netrc"
        )))
    }
}

/// `login` and `password` of `machine` in `.netrc` text (tokens may span lines).
fn parse_netrc(text: &str, machine: &str) -> Option<(String, String)> {
    let words: Vec<&str> = text.split_whitespace().collect();
    let mut i = 0;
    while i < words.len() {
        if words[i] == "machine" && words.get(i + 1) == Some(&machine) {
            let (mut login, mut password) = (None, None);
            let mut j = i + 2;
            while j + 1 < words.len() && words[j] != "machine" && words[j] != "default" {
                match words[j] {
                    "login" => login = Some(words[j + 1].to_string()),
                    "password" => password = Some(words[j + 1].to_string()),
                    _ => {
                        j += 1;
                        continue;
                    }
                }
                j += 2;
            }
            return login.zip(password);
        }
        i += 1;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn no_env(_: &str) -> Option<String> {
        None
    }

    #[test]
    fn order_of_sources_and_redaction() {
        let dir = tempfile::tempdir().unwrap();
        let netrc = dir.path().join("netrc");
        std::fs::write(
            &netrc,
            "machine other login x password y\nmachine ooinet.oceanobservatories.org\n  login OOIAPI-N password TEMP-TOKEN-N\n",
        )
        .unwrap();
        let (c, src) = Credentials::resolve(None, None, &no_env, Some(&netrc)).unwrap();
        assert_eq!((c.username(), src), ("OOIAPI-N", CredentialSource::Netrc));
        let env = |k: &str| match k {
            "OOI_USERNAME" => Some("OOIAPI-E".to_string()),
            "OOI_TOKEN" => Some("TEMP-TOKEN-E".to_string()),
            _ => None,
        };
        let (c, src) = Credentials::resolve(None, None, &env, Some(&netrc)).unwrap();
        assert_eq!(
            (c.username(), src),
            ("OOIAPI-E", CredentialSource::Environment)
        );
        let (c, _) = Credentials::resolve(Some("U"), Some("SECRET-1"), &env, None).unwrap();
        let shown = format!("{c:?} {}", c.redact("auth U:SECRET-1 failed"));
        assert!(!shown.contains("SECRET-1"), "{shown}");
        let e = Credentials::resolve(None, None, &no_env, None).unwrap_err();
        assert!(e.to_string().contains("OOI_TOKEN"));
    }
}
