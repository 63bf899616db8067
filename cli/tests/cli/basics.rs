//! Commands that need no stack: version, help, usage errors, completion.

use predicates::prelude::*;

use crate::helpers::bare_foodctl;

#[test]
fn version_prints_the_crate_version() {
    let dir = tempfile::tempdir().unwrap();
    bare_foodctl(dir.path())
        .arg("--version")
        .assert()
        .success()
        .stdout(predicate::str::contains(env!("CARGO_PKG_VERSION")));
}

#[test]
fn help_lists_every_exit_code() {
    let dir = tempfile::tempdir().unwrap();
    let out = bare_foodctl(dir.path()).arg("--help").assert().success();
    let text = String::from_utf8(out.get_output().stdout.clone()).unwrap();
    assert!(text.contains("Exit codes:"), "{text}");
    for code in 0..=7 {
        assert!(
            text.contains(&format!("\n  {code}  ")),
            "code {code} missing:\n{text}"
        );
    }
}

#[test]
fn bad_usage_exits_2_with_one_message_on_stderr() {
    let dir = tempfile::tempdir().unwrap();
    bare_foodctl(dir.path())
        .args(["order", "create", "--item", "pizza"])
        .assert()
        .code(2)
        .stdout("")
        .stderr(predicate::str::contains("--address"));
    bare_foodctl(dir.path())
        .args(["delivery", "set", "x", "LOST"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("unknown status"));
    bare_foodctl(dir.path())
        .args(["order", "create", "--item", "pizza:0", "--address", "x"])
        .assert()
        .code(2);
    bare_foodctl(dir.path())
        .args(["menu", "list", "--timeout", "soon"])
        .assert()
        .code(2);
    bare_foodctl(dir.path())
        .args(["menu", "list", "--gateway", "localhost:8080"])
        .assert()
        .code(2)
        .stderr(predicate::str::starts_with("foodctl: gateway"));
}

#[test]
fn completion_scripts_are_printed_for_bash_zsh_and_fish() {
    let dir = tempfile::tempdir().unwrap();
    for shell in ["bash", "zsh", "fish"] {
        bare_foodctl(dir.path())
            .args(["completion", shell])
            .assert()
            .success()
            .stdout(
                predicate::str::contains("foodctl")
                    .and(predicate::str::contains("delivery"))
                    .and(predicate::str::contains("restaurant"))
                    .and(predicate::str::contains("cuisine"))
                    // The kitchen's and the couriers' commands and flags.
                    .and(predicate::str::contains("courier"))
                    .and(predicate::str::contains("accept"))
                    .and(predicate::str::contains("ready-by"))
                    .and(predicate::str::contains("on-shift")),
            );
    }
}

#[test]
fn the_kitchen_and_courier_commands_explain_themselves_with_examples() {
    let dir = tempfile::tempdir().unwrap();
    for (args, example) in [
        (
            &["order", "accept", "--help"][..],
            "foodctl order accept 1234abcd --prep 15m",
        ),
        (&["order", "reject", "--help"], "--reason \"out of dough\""),
        (
            &["order", "ready", "--help"],
            "foodctl order ready 1234abcd",
        ),
        (
            &["courier", "on", "--help"],
            "foodctl --context local-courier courier on",
        ),
        (
            &["courier", "list", "--help"],
            "foodctl courier list --on-shift",
        ),
    ] {
        bare_foodctl(dir.path())
            .args(args)
            .assert()
            .success()
            .stdout(predicate::str::contains(example));
    }
}

#[test]
fn an_unreachable_gateway_exits_6() {
    let dir = tempfile::tempdir().unwrap();
    bare_foodctl(dir.path())
        .args(["menu", "list", "--gateway", "http://127.0.0.1:1"])
        .assert()
        .code(6)
        .stdout("")
        .stderr(predicate::str::starts_with(
            "foodctl: cannot reach the gateway at http://127.0.0.1:1",
        ));
    bare_foodctl(dir.path())
        .args([
            "order",
            "get",
            "x",
            "--gateway",
            "http://127.0.0.1:1",
            "--token",
            "k",
        ])
        .assert()
        .code(6);
}

#[test]
fn an_unreachable_kafka_exits_6() {
    let dir = tempfile::tempdir().unwrap();
    bare_foodctl(dir.path())
        .args([
            "events",
            "tail",
            "--brokers",
            "127.0.0.1:1",
            "--timeout",
            "1s",
        ])
        .assert()
        .code(6)
        .stderr(predicate::str::contains("cannot reach Kafka"));
}
