//! Helpers shared by the CLI's end-to-end tests: running the real `tidemark` binary.

use std::process::{Command, Output};

/// Runs `tidemark` with `args` and returns what it did.
pub fn tidemark(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tidemark"))
        .args(args)
        .output()
        .unwrap()
}

/// Runs `tidemark`, requires success, and returns its standard output.
pub fn ok(args: &[&str]) -> String {
    let output = tidemark(args);
    assert!(
        output.status.success(),
        "tidemark {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

/// Runs `tidemark`, requires failure, and returns its standard error.
#[allow(dead_code)] // not every test file checks failures
pub fn fails(args: &[&str]) -> String {
    let output = tidemark(args);
    assert!(
        !output.status.success(),
        "tidemark {args:?} should have failed"
    );
    String::from_utf8(output.stderr).unwrap()
}
