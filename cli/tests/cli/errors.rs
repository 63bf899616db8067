//! Exit codes against a running gateway: 3, 4 and 6 (2, 5 and 7 are tested
//! beside the commands that produce them).

use predicates::prelude::*;

use crate::helpers::{foodctl, shared_stack};

#[test]
fn a_bad_token_exits_4() {
    let stack = shared_stack();
    foodctl(stack, "not-a-key")
        .args(["order", "list"])
        .assert()
        .code(4)
        .stdout("")
        .stderr(
            predicate::str::starts_with("foodctl: ")
                .and(predicate::str::contains("unauthenticated")),
        );
}

#[test]
fn no_token_for_a_protected_route_exits_4() {
    let stack = shared_stack();
    foodctl(stack, "").args(["order", "list"]).assert().code(4);
}

#[test]
fn an_unknown_delivery_exits_3() {
    let stack = shared_stack();
    foodctl(stack, &stack.ops_key)
        .args(["delivery", "status", "01900000-0000-7000-8000-000000000000"])
        .assert()
        .code(3);
}

#[test]
fn errors_are_printed_once_on_stderr() {
    let stack = shared_stack();
    let out = foodctl(stack, &stack.ops_key)
        .args(["order", "get", "01900000-0000-7000-8000-000000000000"])
        .output()
        .unwrap();
    let err = String::from_utf8(out.stderr).unwrap();
    assert_eq!(err.lines().count(), 1, "{err}");
    assert_eq!(err.matches("foodctl:").count(), 1, "{err}");
}
