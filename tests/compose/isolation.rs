//! The namespaces reach one another and nothing else, and a run leaves
//! nothing behind: no namespace, link, /etc/netns dir, process or file.

use std::path::Path;

use crate::topology::{Options, Topology, repo};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs root and network namespaces: .ci/run runs it"]
async fn the_namespaces_have_no_route_off_the_machine_and_leave_nothing_behind() {
    // Kafka and PostgreSQL of the compose file: the project's services
    // add nothing to what is checked here.
    let dir = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(repo().join("docker-compose.yml")).unwrap();
    let mut doc: serde_yaml::Value = serde_yaml::from_str(&text).unwrap();
    doc.apply_merge().unwrap();
    let services = doc["services"].as_mapping_mut().unwrap();
    services.retain(|name, _| name == "kafka" || name == "postgres");
    std::fs::create_dir(dir.path().join("deploy")).unwrap();
    std::fs::copy(
        repo().join("deploy/postgres-init.sql"),
        dir.path().join("deploy/postgres-init.sql"),
    )
    .unwrap();
    let file = dir.path().join("docker-compose.yml");
    std::fs::write(&file, serde_yaml::to_string(&doc).unwrap()).unwrap();

    let topology = Topology::up(Options {
        compose_file: file,
        ..Options::default()
    })
    .await
    .unwrap_or_else(|e| panic!("{e:#}"));
    eprintln!("{}", topology.startup_report());
    let subnet = topology.subnet();

    let mut pids = Vec::new();
    for ns in topology.namespaces() {
        let routes = sh(&[
            "ip", "netns", "exec", &ns, "ip", "-4", "route", "show", "table", "all",
        ]);
        let routes: Vec<&str> = routes
            .lines()
            .filter(|l| !l.starts_with("local ") && !l.starts_with("broadcast "))
            .collect();
        assert!(
            !routes.is_empty() && routes.iter().all(|r| r.starts_with(&subnet)),
            "{ns}: only the bridge's subnet {subnet} is routed: {routes:?}"
        );
        let off = std::process::Command::new("ip")
            .args(["netns", "exec", &ns, "ip", "route", "get", "192.0.2.1"])
            .output()
            .unwrap();
        assert!(
            !off.status.success() && String::from_utf8_lossy(&off.stderr).contains("unreachable"),
            "{ns}: an address off the machine is unreachable"
        );
        let v6 = sh(&["ip", "netns", "exec", &ns, "ip", "-6", "route", "show"]);
        assert!(!v6.contains("default"), "{ns}: no IPv6 default route: {v6}");
        pids.extend(
            sh(&["ip", "netns", "pids", &ns])
                .split_whitespace()
                .map(|p| p.parse::<u32>().unwrap()),
        );
    }
    // Names resolve to the replicas' addresses, from every namespace.
    let kafka = topology.address("kafka", 1).to_string();
    let pg_ns = topology.namespace("postgres", 1);
    let hosts = sh(&["ip", "netns", "exec", &pg_ns, "getent", "hosts", "kafka"]);
    assert!(
        hosts.starts_with(&kafka),
        "kafka resolves to {kafka}: {hosts}"
    );
    // And the test process reaches them over the bridge.
    let db = accepts(&topology.postgres_url("menu")).await;
    assert!(
        db,
        "PostgreSQL answers at {}",
        topology.postgres_url("menu")
    );
    assert!(
        !pids.is_empty(),
        "the broker and the database run in the namespaces"
    );

    let namespaces = topology.namespaces();
    let links: Vec<String> = ["kafka", "postgres"]
        .into_iter()
        .map(|s| topology.veth(s, 1))
        .chain([topology.bridge()])
        .collect();
    drop(topology);

    let netns = sh(&["ip", "netns", "list"]);
    let all_links = sh(&["ip", "-o", "link", "show"]);
    for ns in &namespaces {
        assert!(!netns.contains(ns.as_str()), "{ns} is removed");
        assert!(
            !Path::new("/etc/netns").join(ns).exists(),
            "/etc/netns/{ns} is removed"
        );
    }
    for link in &links {
        assert!(
            !all_links.contains(&format!(" {link}:")) && !all_links.contains(&format!(" {link}@")),
            "{link} is removed"
        );
    }
    let alive: Vec<u32> = pids.into_iter().filter(|&p| running(p)).collect();
    assert!(alive.is_empty(), "no process of the run is left: {alive:?}");
}

/// Whether `pid` runs: a zombie (killed, waiting for init to reap it) does
/// not.
fn running(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
        stat.rsplit_once(") ")
            .is_some_and(|(_, s)| !s.starts_with(['Z', 'X']))
    })
}

/// Whether the URL's host and port accept a TCP connection.
async fn accepts(url: &str) -> bool {
    let rest = url.split('@').nth(1).unwrap();
    let addr = rest.split('/').next().unwrap();
    tokio::net::TcpStream::connect(addr).await.is_ok()
}

fn sh(argv: &[&str]) -> String {
    let out = std::process::Command::new(argv[0])
        .args(&argv[1..])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{argv:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}
