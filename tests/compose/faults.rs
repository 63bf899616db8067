//! A copy of docker-compose.yml with one fault each: `up` fails, naming
//! the service at fault, without waiting out the compose file's patience.
//! The copies keep everything else; their healthchecks run every second
//! (retries and start period of the project's services shortened too, so
//! that an unhealthy service is certain within seconds).

use std::path::PathBuf;

use crate::topology::{Options, Topology, repo};

/// The compose file, edited by `edit` (each edit must apply: a compose
/// file that no longer has the text fails the test rather than testing
/// nothing), in a temporary dir with the files its bind mounts name.
fn compose_copy(edits: &[(&str, &str)]) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("deploy")).unwrap();
    for f in ["deploy/gateway.toml", "deploy/postgres-init.sql"] {
        std::fs::copy(repo().join(f), dir.path().join(f)).unwrap();
    }
    let mut text = std::fs::read_to_string(repo().join("docker-compose.yml")).unwrap();
    let faster: &[(&str, &str)] = &[
        (
            "  interval: 3s\n  timeout: 2s\n  retries: 20\n  start_period: 30s\n",
            "  interval: 1s\n  timeout: 2s\n  retries: 3\n  start_period: 3s\n",
        ),
        ("      interval: 5s\n", "      interval: 1s\n"),
        ("      interval: 3s\n", "      interval: 1s\n"),
    ];
    for (from, to) in faster.iter().chain(edits) {
        assert!(
            text.contains(from),
            "docker-compose.yml no longer has {from:?}"
        );
        text = text.replace(from, to);
    }
    let file = dir.path().join("docker-compose.yml");
    std::fs::write(&file, text).unwrap();
    (dir, file)
}

async fn up_fails(file: PathBuf) -> String {
    let options = Options {
        compose_file: file,
        ..Options::default()
    };
    match Topology::up(options).await {
        Ok(t) => panic!("up succeeded:\n{}", t.startup_report()),
        Err(e) => {
            let e = format!("{e:#}");
            eprintln!("up failed as it should:\n{e}\n");
            e
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs root and network namespaces: .ci/run runs it"]
async fn a_renamed_variable_in_compose_fails_the_topology() {
    let (_dir, file) = compose_copy(&[(
        "FOOD_ORDER__MENU_URL: http://menu-service:50051",
        "FOOD_ORDER__MENU_ADDR: http://menu-service:50051",
    )]);
    let err = up_fails(file).await;
    assert!(
        err.starts_with("order-service "),
        "names order-service: {err}"
    );
    assert!(
        err.contains("exited"),
        "order-service stops at start: {err}"
    );
    assert!(
        err.contains("FOOD_ORDER__MENU_ADDR"),
        "its log names the variable: {err}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs root and network namespaces: .ci/run runs it"]
async fn a_host_name_that_does_not_resolve_fails_the_topology() {
    // The gateway's readiness asks each downstream service; `menu` is no
    // name on the compose network.
    let (_dir, file) = compose_copy(&[(
        "FOOD_GATEWAY__MENU_URL: http://menu-service:50051",
        "FOOD_GATEWAY__MENU_URL: http://menu:50051",
    )]);
    let err = up_fails(file).await;
    assert!(err.starts_with("gateway "), "names the gateway: {err}");
    assert!(err.contains("unhealthy"), "by its healthcheck: {err}");
    assert!(
        err.contains("menu"),
        "the last healthcheck says what is down: {err}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs root and network namespaces: .ci/run runs it"]
async fn a_service_without_its_healthcheck_fails_the_topology() {
    let (_dir, file) = compose_copy(&[(
        "    healthcheck:\n      <<: *healthcheck\n      test: [\"CMD\", \"menu-service\", \"healthcheck\"]\n",
        "",
    )]);
    let err = up_fails(file).await;
    assert!(err.contains("menu-service has no healthcheck"), "{err}");
    assert!(
        err.contains("order-service") && err.contains("gateway"),
        "names the services that wait for it: {err}"
    );
}
