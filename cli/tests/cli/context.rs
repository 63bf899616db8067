//! `context list|use|set|delete|show`, and commands run through a context.

use predicates::prelude::*;
use serde_json::Value;

use crate::helpers::{bare_foodctl, shared_stack};

#[test]
fn contexts_are_saved_privately_and_select_gateway_token_and_output() {
    // Arrange
    let stack = shared_stack();
    let home = tempfile::tempdir().unwrap();
    let foodctl = || bare_foodctl(home.path());
    // Act
    foodctl()
        .args([
            "context",
            "set",
            "local",
            "--gateway",
            &stack.gateway,
            "--token",
            &stack.ops_key,
            "-o",
            "json",
        ])
        .assert()
        .success();
    foodctl()
        .args([
            "context",
            "set",
            "broken",
            "--gateway",
            "http://127.0.0.1:1",
        ])
        .assert()
        .success();
    // Assert: the first context became current and is used.
    let path = home.path().join("foodctl/config.toml");
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains("current = \"local\""), "{text}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }
    let out = foodctl()
        .args(["order", "list", "--limit", "1"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).expect("the context's output is json");
    assert!(v["orders"].is_array());

    foodctl()
        .args(["context", "list"])
        .assert()
        .success()
        .stdout(predicate::str::contains("local").and(predicate::str::contains("broken")))
        .stdout(predicate::str::contains(&stack.ops_key).not());
    foodctl()
        .args(["context", "show"])
        .assert()
        .success()
        .stdout(predicate::str::contains(&stack.gateway));

    foodctl()
        .args(["--context", "broken", "menu", "list"])
        .assert()
        .code(6);
    foodctl()
        .env("FOODCTL_CONTEXT", "broken")
        .args(["menu", "list"])
        .assert()
        .code(6);
    foodctl()
        .args(["context", "use", "broken"])
        .assert()
        .success();
    foodctl().args(["menu", "list"]).assert().code(6);
    foodctl()
        .env("FOODCTL_GATEWAY", &stack.gateway)
        .args(["menu", "list", "--limit", "1"])
        .assert()
        .success();

    foodctl()
        .args(["context", "delete", "broken"])
        .assert()
        .success();
    foodctl()
        .args(["context", "use", "broken"])
        .assert()
        .code(3);
    foodctl()
        .args(["--context", "nope", "menu", "list"])
        .assert()
        .code(3);
    foodctl()
        .args(["context", "set", "new-one"])
        .assert()
        .code(2);
    let listed: Value = serde_json::from_slice(
        &foodctl()
            .args(["context", "list", "-o", "json"])
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap();
    assert!(listed["contexts"]["local"].is_object());
    assert!(listed["contexts"]["broken"].is_null());
    assert!(listed["current"].is_null());
}
