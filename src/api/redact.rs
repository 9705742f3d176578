//! Token redaction: the Oceans 3.0 token travels in the query string (`token=…`), so it shows up
//! in URLs, `queryUrl`/`queryURL`, `next.parameters.token` and error messages. Everything the
//! program shows passes through [`redact`] first.

/// What a redacted token is replaced by.
pub const REDACTED: &str = "REDACTED";

/// Replaces the value of every `token=` query parameter (in URLs and URL-encoded text) and every
/// JSON `"token": "…"` member with [`REDACTED`]. The secret itself, when known, is also removed
/// wherever else it appears (`secret` may be empty).
pub fn redact(text: &str, secret: &str) -> String {
    let mut out = redact_query_params(text);
    out = redact_json_members(&out);
    if !secret.is_empty() && secret.len() >= 4 {
        out = out.replace(secret, REDACTED);
    }
    out
}

fn redact_query_params(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(pos) = find_token_param(rest) {
        let value_start = pos + "token=".len();
        out.push_str(&rest[..value_start]);
        let tail = &rest[value_start..];
        let end = tail
            .find(|c: char| {
                c == '&'
                    || c == '"'
                    || c == '\''
                    || c == '#'
                    || c.is_whitespace()
                    || c == ')'
                    || c == '>'
            })
            .unwrap_or(tail.len());
        if end > 0 {
            out.push_str(REDACTED);
        }
        rest = &tail[end..];
    }
    out.push_str(rest);
    out
}

/// Finds `token=` that starts a query parameter (preceded by `?`, `&`, whitespace or the start).
fn find_token_param(text: &str) -> Option<usize> {
    let mut from = 0;
    while let Some(rel) = text[from..].find("token=") {
        let pos = from + rel;
        let ok = pos == 0
            || matches!(
                text.as_bytes()[pos - 1],
                b'?' | b'&' | b' ' | b'\n' | b'\t' | b'"' | b'\'' | b'('
            );
        if ok {
            return Some(pos);
        }
        from = pos + "token=".len();
    }
    None
}

fn redact_json_members(text: &str) -> String {
    let key = "\"token\"";
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(pos) = rest.find(key) {
        let after_key = pos + key.len();
        out.push_str(&rest[..after_key]);
        let tail = &rest[after_key..];
        let trimmed = tail.trim_start();
        let ws = tail.len() - trimmed.len();
        if let Some(after_colon) = trimmed.strip_prefix(':') {
            let value = after_colon.trim_start();
            let ws2 = after_colon.len() - value.len();
            if let Some(body) = value.strip_prefix('"') {
                if let Some(close) = body.find('"') {
                    out.push_str(&tail[..ws + 1 + ws2]);
                    out.push('"');
                    out.push_str(REDACTED);
                    out.push('"');
                    rest = &body[close + 1..];
                    continue;
                }
            }
        }
        rest = tail;
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_parameter_is_redacted_everywhere() {
        let s = "GET https://x/api/devices?deviceCode=A&token=5ba514e8-1203-428c&x=1 failed; see ?token=abc";
        let r = redact(s, "");
        assert!(!r.contains("5ba514e8"), "{r}");
        assert!(!r.contains("abc"), "{r}");
        assert!(r.contains("deviceCode=A&token=REDACTED&x=1"), "{r}");
    }

    #[test]
    fn json_member_and_bare_secret_are_redacted() {
        let s =
            r#"{"next":{"parameters":{"token": "s3cr3t-tok","page":"2"}},"msg":"bad s3cr3t-tok"}"#;
        let r = redact(s, "s3cr3t-tok");
        assert!(!r.contains("s3cr3t"), "{r}");
        assert!(r.contains(r#""token": "REDACTED""#), "{r}");
    }

    #[test]
    fn similar_words_are_left_alone() {
        let s = "mytoken=keep accesstoken=keep";
        assert_eq!(redact(s, ""), s);
    }
}
