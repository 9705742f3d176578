//! Input lists of file-level pipelines: files as given, FLAC/WAV/miniSEED files under folders
//! (recursively, sorted) and wildcard matches in the file-name part; duplicates dropped; two
//! inputs that would write the same outputs refused.
//!
//! Must not know: what is done with the files.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use super::AnalysisError;

/// True for a `.flac`, `.wav` or `.mseed` name (any case).
pub fn is_audio(path: &Path) -> bool {
    path.extension().and_then(|e| e.to_str()).is_some_and(|e| {
        ["flac", "wav", "mseed"]
            .iter()
            .any(|x| e.eq_ignore_ascii_case(x))
    })
}

fn bad(text: String) -> AnalysisError {
    AnalysisError::Parameter(text)
}

/// Files as given, FLAC/WAV/miniSEED files under folders (recursively, sorted) and wildcard matches
/// (`*` and `?` in the file-name part), in the order given, each once.
pub fn expand_inputs(inputs: &[PathBuf]) -> Result<Vec<PathBuf>, AnalysisError> {
    let mut out = Vec::new();
    for input in inputs {
        let text = input.to_string_lossy();
        if input.is_dir() {
            let mut found = Vec::new();
            walk(input, &mut found)?;
            found.sort();
            out.extend(found);
        } else if input.is_file() {
            out.push(input.clone());
        } else if text.contains('*') || text.contains('?') {
            let dir = match input.parent() {
                Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
                _ => PathBuf::from("."),
            };
            let dir_text = dir.to_string_lossy();
            if dir_text.contains('*') || dir_text.contains('?') {
                return Err(bad(format!(
                    "{text}: wildcards are supported in the file-name part only"
                )));
            }
            let pattern = input
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            let mut found: Vec<PathBuf> = std::fs::read_dir(&dir)
                .map_err(|e| AnalysisError::io(&dir, e))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| {
                    p.is_file()
                        && p.file_name()
                            .is_some_and(|n| wildcard_match(&pattern, &n.to_string_lossy()))
                })
                .collect();
            found.sort();
            if found.is_empty() {
                return Err(bad(format!("{text}: no file matches")));
            }
            out.extend(found);
        } else {
            return Err(bad(format!("{text}: no such file or folder")));
        }
    }
    let mut seen = HashSet::new();
    out.retain(|p| seen.insert(p.clone()));
    Ok(out)
}

fn walk(dir: &Path, found: &mut Vec<PathBuf>) -> Result<(), AnalysisError> {
    for entry in std::fs::read_dir(dir).map_err(|e| AnalysisError::io(dir, e))? {
        let path = entry.map_err(|e| AnalysisError::io(dir, e))?.path();
        if path.is_dir() {
            walk(&path, found)?;
        } else if is_audio(&path) {
            found.push(path);
        }
    }
    Ok(())
}

/// `*` matches any run of characters, `?` one character.
pub fn wildcard_match(pattern: &str, name: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let n: Vec<char> = name.chars().collect();
    let (mut pi, mut ni) = (0, 0);
    let (mut star, mut mark) = (None, 0);
    while ni < n.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == n[ni]) {
            pi += 1;
            ni += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ni;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ni = mark;
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}

/// Two inputs with the same stem would overwrite each other's outputs.
pub fn check_stems(files: &[PathBuf]) -> Result<(), AnalysisError> {
    let mut seen: HashMap<String, &PathBuf> = HashMap::new();
    for f in files {
        let stem = super::spectrogram::stem_of(f);
        if let Some(prev) = seen.insert(stem.clone(), f) {
            return Err(bad(format!(
                "{} and {} share the stem {stem:?}; their outputs would collide (run them into different --out folders)",
                prev.display(),
                f.display()
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards_match_like_a_shell() {
        assert!(wildcard_match("*.flac", "a.flac"));
        assert!(wildcard_match(
            "ICL*_2024*.fl?c",
            "ICLISTENHF6324_20240401T120000.000Z.flac"
        ));
        assert!(!wildcard_match("*.flac", "a.wav"));
        assert!(wildcard_match("a*b*c", "aXbYc"));
        assert!(!wildcard_match("a*b*c", "aXbY"));
    }

    #[test]
    fn colliding_stems_are_refused() {
        let files = [PathBuf::from("a/x.flac"), PathBuf::from("b/x.wav")];
        assert!(check_stems(&files).is_err());
        assert!(check_stems(&files[..1]).is_ok());
    }
}
