//! The layer check (`scripts/check_layers.sh`) must fail on violations written the ways rustfmt
//! and real code write them, and pass on the crate's own tree.

use std::path::Path;
use std::process::Command;

fn check(src: &Path) -> (bool, String) {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/check_layers.sh");
    let out = Command::new("bash")
        .arg(&script)
        .arg(src)
        .output()
        .expect("run bash");
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    (out.status.success(), text)
}

fn tree(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    for (rel, text) in files {
        let path = dir.path().join(rel);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(&path, text).expect("write");
    }
    dir
}

#[test]
fn layer_check_passes_on_the_crate() {
    let (ok, text) = check(&Path::new(env!("CARGO_MANIFEST_DIR")).join("src"));
    assert!(ok, "{text}");
}

#[test]
fn layer_check_catches_multi_line_use_trees() {
    let dir = tree(&[(
        "api/client.rs",
        "//! x\nuse crate::{\n    api::Token,\n    hydro::{\n        grid::Window,\n    },\n};\n",
    )]);
    let (ok, text) = check(dir.path());
    assert!(
        !ok,
        "a multi-line import of hydro from api must fail:\n{text}"
    );
    assert!(text.contains("'api' may not use 'hydro::grid'"), "{text}");
}

#[test]
fn layer_check_catches_super_super_and_submodule_rules() {
    let dir = tree(&[
        (
            "media/flac/read.rs",
            "use super::super::super::engine::Ledger;\n",
        ),
        (
            "engine/store.rs",
            "use crate::media::atomic::write_atomic;\nuse crate::media::{atomic, flac};\n",
        ),
    ]);
    let (ok, text) = check(dir.path());
    assert!(!ok, "{text}");
    assert!(
        text.contains("'media' may not use 'engine::Ledger'"),
        "{text}"
    );
    assert!(
        text.contains("'engine' may not use 'media::flac'"),
        "{text}"
    );
    assert!(
        !text.contains("media::atomic"),
        "media::atomic is allowed in engine:\n{text}"
    );
}

#[test]
fn layer_check_catches_external_crates_and_ignores_comments_and_strings() {
    let dir = tree(&[
        ("hydro/run.rs", "fn f() -> anyhow::Result<()> { Ok(()) }\n"),
        (
            "dsp/fft.rs",
            "// use crate::cli::X;\nconst S: &str = \"crate::cli::X\";\nfn g(c: char) -> bool { c == '{' }\n",
        ),
    ]);
    let (ok, text) = check(dir.path());
    assert!(!ok, "{text}");
    assert!(
        text.contains("'hydro' may not use the crate 'anyhow'"),
        "{text}"
    );
    assert!(
        !text.contains("dsp/fft.rs"),
        "comments and strings are not uses:\n{text}"
    );
}
