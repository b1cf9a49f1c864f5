//! Logs carry terminal colour codes only on a terminal: with stderr sent to a pipe or a file
//! they are plain text, and `NO_COLOR` turns colour off on a terminal too.

mod reliability_common;

use std::process::{Command, Stdio};

/// A two-iteration tiny training ([`reliability_common::tiny_train`]), logging at INFO level,
/// with `NO_COLOR` unset.
fn tiny_train(out_dir: &str) -> Command {
    let mut cmd = reliability_common::tiny_train(std::path::Path::new(out_dir), "logs", 2, &[]);
    cmd.env_remove("NO_COLOR");
    cmd
}

fn has_escape(bytes: &[u8]) -> bool {
    bytes.windows(2).any(|w| w == b"\x1b[")
}

#[test]
fn logs_written_to_a_pipe_have_no_colour_codes() {
    let dir = tempfile::tempdir().unwrap();
    let out = tiny_train(dir.path().to_str().unwrap()).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("starting run"), "no log line: {stderr}");
    assert!(
        !has_escape(&out.stderr),
        "colour codes in a pipe: {stderr:?}"
    );
    assert!(!has_escape(&out.stdout));
}

#[test]
fn logs_redirected_to_a_file_have_no_colour_codes() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("stderr.log");
    let file = std::fs::File::create(&log).unwrap();
    let status = tiny_train(dir.path().to_str().unwrap())
        .stdout(Stdio::null())
        .stderr(file)
        .status()
        .unwrap();
    let bytes = std::fs::read(&log).unwrap();
    let text = String::from_utf8_lossy(&bytes);
    assert!(status.success(), "{text}");
    assert!(text.contains("starting run"), "no log line: {text}");
    assert!(!has_escape(&bytes), "colour codes in a file: {text:?}");
    let train_log = std::fs::read(dir.path().join("logs").join("train.log")).unwrap();
    assert!(!has_escape(&train_log));
}

/// Runs `cmd` with stderr on a pseudo-terminal and returns what it wrote there.
#[cfg(unix)]
fn stderr_on_a_terminal(mut cmd: Command) -> Vec<u8> {
    use std::io::Read;
    let pty = nix::pty::openpty(None, None).unwrap();
    let mut child = cmd
        .stdout(Stdio::null())
        .stderr(Stdio::from(pty.slave))
        .spawn()
        .unwrap();
    // Drop our copy of the terminal's slave end (moved into `cmd`), so reading the master
    // ends (EIO) once the child has exited.
    drop(cmd);
    let mut master = std::fs::File::from(pty.master);
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match master.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => out.extend_from_slice(&buf[..n]),
        }
    }
    assert!(
        child.wait().unwrap().success(),
        "{}",
        String::from_utf8_lossy(&out)
    );
    out
}

#[cfg(unix)]
#[test]
fn a_terminal_gets_colour_unless_no_color_is_set() {
    let dir = tempfile::tempdir().unwrap();
    let coloured = stderr_on_a_terminal(tiny_train(dir.path().to_str().unwrap()));
    let text = String::from_utf8_lossy(&coloured);
    assert!(text.contains("starting run"), "{text}");
    assert!(has_escape(&coloured), "no colour on a terminal: {text:?}");

    let dir = tempfile::tempdir().unwrap();
    let mut cmd = tiny_train(dir.path().to_str().unwrap());
    cmd.env("NO_COLOR", "1");
    let plain = stderr_on_a_terminal(cmd);
    let text = String::from_utf8_lossy(&plain);
    assert!(text.contains("starting run"), "{text}");
    assert!(!has_escape(&plain), "colour despite NO_COLOR: {text:?}");
}
