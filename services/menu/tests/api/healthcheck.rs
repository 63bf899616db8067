//! `menu-service healthcheck` asks the running service at the address its
//! settings give, as compose healthchecks and Kubernetes probes call it.

use food_kit::testing::{HEALTHCHECK_BOUND, healthcheck_refuses_without_a_server, run_healthcheck};

use crate::helpers::spawn_app;

const MENU_SERVICE: &str = env!("CARGO_BIN_EXE_menu-service");

#[tokio::test]
async fn healthcheck_exits_0_while_the_service_serves_and_1_once_it_stops() {
    let (app, _dir) = spawn_app().await;
    // A wildcard listen address is probed on loopback, as in a container.
    let listen = format!("0.0.0.0:{}", app.addr.port());
    let env = [("FOOD_MENU__LISTEN", listen.as_str())];

    let run = run_healthcheck(MENU_SERVICE, &env).await;
    assert_eq!(run.code, Some(0), "{run:?}");
    assert_eq!(
        run.stdout.trim(),
        format!("menu-service: serving at 127.0.0.1:{}", app.addr.port())
    );
    assert!(run.took < HEALTHCHECK_BOUND, "{run:?}");

    app.stop().await;
    let run = run_healthcheck(MENU_SERVICE, &env).await;
    assert_eq!(run.code, Some(1), "{run:?}");
    assert_eq!(run.stdout.lines().count(), 1, "one line: {run:?}");
    assert!(
        run.stdout.starts_with("menu-service: not serving: "),
        "{run:?}"
    );
}

#[tokio::test]
async fn healthcheck_refuses_without_a_server_and_names_a_bad_setting() {
    healthcheck_refuses_without_a_server(MENU_SERVICE, "menu-service", "FOOD_MENU__LISTEN").await;
}

#[tokio::test]
async fn an_unknown_argument_is_exit_2_with_the_usage() {
    let out = tokio::task::spawn_blocking(|| {
        std::process::Command::new(MENU_SERVICE)
            .arg("healthcheckz")
            .env_clear()
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("'healthcheckz'") && err.contains("Usage: menu-service"),
        "{err}"
    );
}
