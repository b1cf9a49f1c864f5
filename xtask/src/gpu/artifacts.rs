//! Test executables named in `cargo test --no-run --message-format=json` output.

use std::path::{Path, PathBuf};

use anyhow::Context;

/// One test executable and the package folder it must run in (cargo runs tests there).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TestBinary {
    /// The built executable.
    pub executable: PathBuf,
    /// The package's folder relative to the workspace root, e.g. `crates/xbn-core`.
    pub package_dir: PathBuf,
    /// A unique file name for the packed copy: `<package>__<target>` (`lib` for unit tests).
    pub packed_name: String,
}

/// Reads every `compiler-artifact` message of a test target that has an executable.
/// Lines that are not JSON (cargo's progress on stderr is not captured) are skipped.
pub fn test_binaries(messages: &str, workspace: &Path) -> anyhow::Result<Vec<TestBinary>> {
    let mut out = Vec::new();
    for line in messages.lines().filter(|l| l.starts_with('{')) {
        let msg: serde_json::Value =
            serde_json::from_str(line).with_context(|| format!("bad cargo message: {line}"))?;
        if msg["reason"] != "compiler-artifact" || msg["profile"]["test"] != true {
            continue;
        }
        let Some(exe) = msg["executable"].as_str() else {
            continue;
        };
        let manifest = PathBuf::from(msg["manifest_path"].as_str().context("no manifest_path")?);
        let dir = manifest.parent().context("manifest without a folder")?;
        let package_dir = dir.strip_prefix(workspace).unwrap_or(dir).to_path_buf();
        let package = package_dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let target = msg["target"]["name"].as_str().unwrap_or("unknown");
        let kinds = msg["target"]["kind"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        let kind = if kinds.iter().any(|k| k == "lib") {
            "lib"
        } else {
            target
        };
        let kind = if kinds.iter().any(|k| k == "bin") {
            format!("bin-{target}")
        } else {
            kind.to_string()
        };
        out.push(TestBinary {
            executable: PathBuf::from(exe),
            package_dir,
            packed_name: format!("{package}__{kind}"),
        });
    }
    out.sort_by(|a, b| a.packed_name.cmp(&b.packed_name));
    out.dedup_by(|a, b| a.packed_name == b.packed_name);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn picks_test_executables_with_their_package() {
        let msgs = r#"{"reason":"compiler-artifact","manifest_path":"/w/crates/xbn-core/Cargo.toml","target":{"name":"xbn_core","kind":["lib"]},"profile":{"test":true},"executable":"/w/target/cuda/release/deps/xbn_core-1"}
{"reason":"compiler-artifact","manifest_path":"/w/crates/xbn-core/Cargo.toml","target":{"name":"xbn_core","kind":["lib"]},"profile":{"test":false},"executable":null}
{"reason":"compiler-artifact","manifest_path":"/w/crates/xbn-train/Cargo.toml","target":{"name":"train_resume","kind":["test"]},"profile":{"test":true},"executable":"/w/t/train_resume-2"}
{"reason":"build-finished","success":true}"#;
        let got = test_binaries(msgs, Path::new("/w")).unwrap();
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].packed_name, "xbn-core__lib");
        assert_eq!(got[0].package_dir, PathBuf::from("crates/xbn-core"));
        assert_eq!(got[1].packed_name, "xbn-train__train_resume");
        assert_eq!(got[1].executable, PathBuf::from("/w/t/train_resume-2"));
    }
}
