//! The compose file, the Kubernetes manifests and the gateway config are
//! checked here: every `FOOD_*` variable they set names a real setting
//! (a service refuses one that does not, at start), and the gateway's TOML
//! parses into its settings. tests/compose runs the compose file itself.

use serde_json::Value;

fn compose() -> serde_yaml::Value {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../docker-compose.yml"
    ))
    .unwrap();
    serde_yaml::from_str(&text).expect("docker-compose.yml is YAML")
}

fn has_path(settings: &Value, path: &[String]) -> bool {
    let mut at = settings;
    for key in path {
        match at.get(key) {
            Some(v) => at = v,
            None => return false,
        }
    }
    true
}

/// Checks that each `FOOD_*` name in `names` (from `source`) is a setting
/// of the service its prefix names; returns how many were checked.
fn check_food_variables<'a>(source: &str, names: impl IntoIterator<Item = &'a str>) -> usize {
    let defaults: Vec<(&str, Value)> = vec![
        (
            "MENU",
            serde_json::to_value(food_menu::Settings::default()).unwrap(),
        ),
        (
            "ORDER",
            serde_json::to_value(food_order::Settings::default()).unwrap(),
        ),
        (
            "DELIVERY",
            serde_json::to_value(food_delivery::Settings::default()).unwrap(),
        ),
        (
            "GATEWAY",
            serde_json::to_value(food_gateway::Settings::default()).unwrap(),
        ),
    ];
    let mut checked = 0;
    for key in names {
        let Some(rest) = key.strip_prefix("FOOD_") else {
            continue;
        };
        if matches!(
            key,
            "FOOD_KAFKA_BROKERS" | "FOOD_LOG_FORMAT" | "FOOD_CONFIG" | "FOOD_DATA_DIR"
        ) {
            continue;
        }
        let (svc_name, field) = rest
            .split_once("__")
            .unwrap_or_else(|| panic!("{key} in {source}"));
        let settings = &defaults
            .iter()
            .find(|(n, _)| *n == svc_name)
            .unwrap_or_else(|| panic!("{key} in {source}: no service {svc_name}"))
            .1;
        let path: Vec<String> = field.split("__").map(|p| p.to_ascii_lowercase()).collect();
        assert!(
            has_path(settings, &path),
            "{key} ({source}) is not a setting"
        );
        checked += 1;
    }
    checked
}

#[test]
fn every_food_variable_in_compose_names_a_real_setting() {
    let doc = compose();
    let services = doc["services"].as_mapping().unwrap();
    let mut checked = 0;
    for (name, svc) in services {
        let Some(env) = svc.get("environment").and_then(|e| e.as_mapping()) else {
            continue;
        };
        let source = format!("docker-compose.yml, service {}", name.as_str().unwrap());
        checked += check_food_variables(&source, env.keys().filter_map(|k| k.as_str()));
    }
    assert!(checked >= 10, "checked {checked} variables");
}

#[test]
fn every_food_variable_in_the_kubernetes_manifests_names_a_real_setting() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../deploy/k8s");
    let mut checked = 0;
    for file in ["configmap.yaml", "secret-databases.yaml"] {
        let text = std::fs::read_to_string(format!("{dir}/{file}")).unwrap();
        let doc: serde_yaml::Value = serde_yaml::from_str(&text).unwrap();
        let data = doc
            .get("data")
            .or_else(|| doc.get("stringData"))
            .and_then(|d| d.as_mapping())
            .unwrap_or_else(|| panic!("{file} has data or stringData"));
        checked += check_food_variables(file, data.keys().filter_map(|k| k.as_str()));
    }
    assert!(checked >= 20, "checked {checked} variables");
}

#[test]
fn the_gateway_config_for_compose_parses_with_three_roles() {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../deploy/gateway.toml"
    ))
    .unwrap();
    let settings: food_gateway::Settings =
        toml::from_str(&text).expect("deploy/gateway.toml parses");
    assert_eq!(settings.api_keys.len(), 3);
    assert!(settings.api_keys.iter().all(|k| k.sha256.len() == 64));
    // The gateway refuses a courier key without its courier at start.
    food_gateway::auth::KeyStore::new(&settings.api_keys).expect("the gateway accepts the keys");
}

#[test]
fn compose_runs_the_apache_kafka_version_the_tests_run() {
    let image = compose()["services"]["kafka"]["image"]
        .as_str()
        .expect("the kafka service names an image")
        .to_owned();
    assert_eq!(
        image,
        format!("apache/kafka:{}", food_broker::apache::version()),
        "docker-compose.yml and deploy/kafka/pom.xml disagree"
    );
}
