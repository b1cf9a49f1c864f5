//! One writer per run folder: a second writer fails at once naming the holder's PID, and a
//! lock left by a process that died is taken over.

mod reliability_common;
mod train_common;

use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use xbn_train::TrainError;
use xbn_train::run_lock::{LOCK, RunLock};
use xbn_train::train::train;

#[cfg(unix)]
#[test]
fn a_second_lock_on_the_same_folder_fails_and_names_the_holder() {
    let dir = tempfile::tempdir().unwrap();
    let held = RunLock::acquire(dir.path()).unwrap();
    let text = std::fs::read_to_string(dir.path().join(LOCK)).unwrap();
    assert_eq!(text.trim(), std::process::id().to_string());
    let err = RunLock::acquire(dir.path()).unwrap_err();
    assert!(
        matches!(&err, TrainError::RunLocked { pid: Some(p), .. } if *p == std::process::id()),
        "{err}"
    );
    assert!(
        err.to_string()
            .contains(&format!("PID {}", std::process::id())),
        "{err}"
    );
    drop(held);
    // Released: the file is emptied and the next writer gets the lock.
    assert_eq!(std::fs::read_to_string(dir.path().join(LOCK)).unwrap(), "");
    let again = RunLock::acquire(dir.path()).unwrap();
    assert_eq!(again.stale_pid(), None);
}

#[cfg(unix)]
#[test]
fn a_lock_left_by_a_dead_process_is_taken_over() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = std::process::Command::new("true").spawn().unwrap();
    let dead = child.id();
    child.wait().unwrap();
    std::fs::write(dir.path().join(LOCK), format!("{dead}\n")).unwrap();
    let lock = RunLock::acquire(dir.path()).unwrap();
    assert_eq!(lock.stale_pid(), Some(dead));
    let text = std::fs::read_to_string(dir.path().join(LOCK)).unwrap();
    assert_eq!(text.trim(), std::process::id().to_string());
}

#[cfg(unix)]
#[test]
fn training_into_a_locked_folder_fails_before_any_work() {
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("busy");
    std::fs::create_dir_all(&run).unwrap();
    let _held = RunLock::acquire(&run).unwrap();
    let cfg = train_common::tiny_config(dir.path(), "busy");
    let err = train(&cfg, false, Arc::new(AtomicBool::new(false))).unwrap_err();
    assert!(matches!(err, TrainError::RunLocked { .. }), "{err}");
    // Nothing was written besides the lock.
    let names: Vec<_> = std::fs::read_dir(&run).unwrap().collect();
    assert_eq!(names.len(), 1);
}

/// Two `xbn-train` processes on one folder: the second fails at once naming the first's PID;
/// once the first is killed, a third takes the stale lock over.
#[cfg(unix)]
#[test]
fn a_second_xbn_train_on_the_same_folder_fails_naming_the_first() {
    use nix::sys::signal::{Signal, kill};
    use nix::unistd::Pid;
    use reliability_common::{tiny_train, wait_until};
    use std::process::Stdio;

    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("shared");
    let mut first = tiny_train(dir.path(), "shared", 1_000_000, &[])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let pid = first.id();
    wait_until("the first run to take the lock", 3000, || {
        std::fs::read_to_string(run.join(LOCK)).is_ok_and(|t| t.trim() == pid.to_string())
    });

    let second = tiny_train(dir.path(), "shared", 2, &["run.overwrite=true"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&second.stderr);
    kill(Pid::from_raw(pid as i32), Signal::SIGKILL).unwrap();
    first.wait().unwrap();
    assert!(!second.status.success(), "{stderr}");
    assert!(stderr.contains(&format!("PID {pid}")), "{stderr}");
    assert!(stderr.contains("in use"), "{stderr}");

    let third = tiny_train(dir.path(), "shared", 2, &["run.overwrite=true"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&third.stderr);
    assert!(third.status.success(), "{stderr}");
    assert!(
        stderr.contains(&format!("lock left by process {pid}")),
        "{stderr}"
    );
}
