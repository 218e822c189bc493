//! End-to-end tests of zhongshu live in `tests/` of this crate: they run the `zhongshu` binary
//! and talk to it like a user would. The library itself only holds helpers for them.
#![deny(missing_docs)]

use std::path::PathBuf;
use std::process::{Command, Output};

/// The `zhongshu` binary of this build (`ZHONGSHU_BIN` overrides).
pub fn zhongshu_bin() -> PathBuf {
    if let Ok(bin) = std::env::var("ZHONGSHU_BIN") {
        return PathBuf::from(bin);
    }
    // target/<profile>/deps/<test binary> → target/<profile>/zhongshu
    let exe = std::env::current_exe().expect("test binary path");
    let profile_dir = exe
        .parent()
        .and_then(|deps| deps.parent())
        .expect("target profile directory");
    profile_dir.join("zhongshu")
}

/// The outcome of one `zhongshu` run.
#[derive(Debug)]
pub struct Run {
    /// Exit status code.
    pub code: i32,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
}

impl From<Output> for Run {
    fn from(o: Output) -> Self {
        Run {
            code: o.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
        }
    }
}

/// Runs `zhongshu ARGS` to completion with a clean environment for zhongshu variables.
pub fn zhongshu(args: &[&str]) -> Run {
    let mut cmd = Command::new(zhongshu_bin());
    cmd.args(args);
    for (key, _) in std::env::vars() {
        if key.starts_with("ZHONGSHU_") && key != "ZHONGSHU_BIN" {
            cmd.env_remove(key);
        }
    }
    cmd.output().expect("run zhongshu").into()
}

/// The standard output of a run that must succeed; panics with both outputs otherwise.
pub fn ok(run: Run) -> String {
    assert_eq!(
        run.code, 0,
        "stdout:\n{}\nstderr:\n{}",
        run.stdout, run.stderr
    );
    run.stdout
}
