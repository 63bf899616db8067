//! `menu-service healthcheck` asks the running service at the address its
//! settings give, as compose healthchecks and Kubernetes probes call it.

use std::{process::Output, time::Instant};

use crate::helpers::spawn_app;

/// Runs `menu-service ARG` with only `env`, off the runtime that serves.
async fn menu_service(arg: &str, env: &[(&str, &str)]) -> (Output, std::time::Duration) {
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_menu-service"));
    command.arg(arg).env_clear().envs(env.iter().copied());
    tokio::task::spawn_blocking(move || {
        let started = Instant::now();
        let out = command.output().expect("running menu-service");
        (out, started.elapsed())
    })
    .await
    .unwrap()
}

async fn healthcheck(listen: &str) -> (Output, std::time::Duration) {
    menu_service("healthcheck", &[("FOOD_MENU__LISTEN", listen)]).await
}

#[tokio::test]
async fn healthcheck_exits_0_while_the_service_serves_and_1_once_it_stops() {
    let (app, _dir) = spawn_app().await;
    // A wildcard listen address is probed on loopback, as in a container.
    let listen = format!("0.0.0.0:{}", app.addr.port());

    let (out, took) = healthcheck(&listen).await;
    let line = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{line}");
    assert_eq!(
        line.trim(),
        format!("menu-service: serving at 127.0.0.1:{}", app.addr.port())
    );
    assert!(took.as_millis() < 1000, "took {took:?}");

    app.stop().await;
    let (out, took) = healthcheck(&listen).await;
    let line = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{line}");
    assert_eq!(line.lines().count(), 1, "one line: {line}");
    assert!(line.starts_with("menu-service: not serving: "), "{line}");
    assert!(took.as_millis() < 1000, "took {took:?}");
}

#[tokio::test]
async fn a_bad_setting_or_argument_is_exit_2_naming_it() {
    let (out, _) = healthcheck("nowhere").await;
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("FOOD_MENU__LISTEN"));

    let (out, _) = menu_service("healthcheckz", &[]).await;
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("'healthcheckz'") && err.contains("Usage: menu-service"),
        "{err}"
    );
}
