//! `menu list|show|import` in every output format.

use predicates::prelude::*;
use serde_json::Value;

use crate::helpers::{foodctl, json, shared_stack};

#[test]
fn menu_list_prints_a_table_with_money_for_people() {
    let stack = shared_stack();
    let out = foodctl(stack, "").args(["menu", "list"]).assert().success();
    let text = String::from_utf8(out.get_output().stdout.clone()).unwrap();
    let header = text.lines().next().unwrap();
    assert!(
        header.starts_with("ID") && header.contains("PRICE"),
        "{text}"
    );
    assert!(text.contains(" EUR"), "{text}");
    assert!(
        !text.contains('\u{1b}'),
        "no colour when stdout is not a terminal"
    );
    assert!(text.lines().count() > 40, "every page is fetched: {text}");
}

#[test]
fn menu_list_wide_adds_tags_and_descriptions() {
    let stack = shared_stack();
    foodctl(stack, "")
        .args(["menu", "list", "-o", "wide", "--limit", "3"])
        .assert()
        .success()
        .stdout(predicate::str::contains("TAGS").and(predicate::str::contains("DESCRIPTION")));
}

#[test]
fn menu_list_json_is_the_api_list_object_and_limit_bounds_it() {
    let stack = shared_stack();
    let all = json(stack, "", &["menu", "list"]);
    assert!(all["items"].as_array().unwrap().len() >= 40);
    assert!(all["next_cursor"].is_null());
    let some = json(stack, "", &["menu", "list", "--limit", "3"]);
    assert_eq!(some["items"].as_array().unwrap().len(), 3);
    assert!(some["items"][0]["price_cents"].is_i64());
}

#[test]
fn menu_list_ndjson_prints_one_item_per_line_and_yaml_the_object() {
    let stack = shared_stack();
    let out = foodctl(stack, "")
        .args(["menu", "list", "-o", "ndjson", "--limit", "4"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 4);
    assert!(lines.iter().all(|v| v["id"].is_string()));
    foodctl(stack, "")
        .args(["menu", "list", "-o", "yaml", "--limit", "2"])
        .assert()
        .success()
        .stdout(
            predicate::str::starts_with("items:").and(predicate::str::contains("price_cents:")),
        );
}

#[test]
fn menu_filters_narrow_the_list() {
    let stack = shared_stack();
    let all = json(stack, "", &["menu", "list"]);
    let category = all["items"][0]["category"].as_str().unwrap().to_owned();
    let cat = json(stack, "", &["menu", "list", "--category", &category]);
    let items = cat["items"].as_array().unwrap();
    assert!(!items.is_empty() && items.iter().all(|i| i["category"] == category.as_str()));
    let avail = json(stack, "", &["menu", "list", "--available"]);
    assert!(
        avail["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|i| i["available"] == true)
    );
    let name = all["items"][0]["name"].as_str().unwrap();
    let word = name.split_whitespace().next().unwrap();
    let found = json(stack, "", &["menu", "list", "--search", word]);
    assert!(
        !found["items"].as_array().unwrap().is_empty(),
        "searching {word}"
    );
}

#[test]
fn menu_show_prints_one_item_and_an_unknown_one_exits_3() {
    let stack = shared_stack();
    let all = json(stack, "", &["menu", "list", "--limit", "1"]);
    let id = all["items"][0]["id"].as_str().unwrap();
    let one = json(stack, "", &["menu", "show", id]);
    assert_eq!(one["id"], id);
    foodctl(stack, "")
        .args(["menu", "show", id])
        .assert()
        .success()
        .stdout(predicate::str::contains("PRICE").and(predicate::str::contains(id)));
    foodctl(stack, "")
        .args(["menu", "show", "no-such-item"])
        .assert()
        .code(3)
        .stderr(predicate::str::starts_with("foodctl: "));
}

#[test]
fn menu_import_creates_then_updates_items_from_ndjson_and_json() {
    // Arrange
    let stack = shared_stack();
    let id = format!("test-dish-{}", uuid::Uuid::now_v7().simple());
    let item = serde_json::json!({
        "id": id, "restaurant_id": "trattoria-da-luca", "name": "Test Dish",
        "description": "for a test", "category": "tests",
        "price_cents": 1234, "currency": "EUR", "available": true, "prep_minutes": 5, "tags": ["test"]
    });
    let dir = tempfile::tempdir().unwrap();
    let ndjson = dir.path().join("menu.ndjson");
    std::fs::write(&ndjson, format!("{item}\n")).unwrap();
    // Act
    let first = json(
        stack,
        &stack.ops_key,
        &["menu", "import", ndjson.to_str().unwrap()],
    );
    let again = foodctl(stack, &stack.ops_key)
        .args(["menu", "import", "-"])
        .write_stdin(serde_json::json!({ "items": [item] }).to_string())
        .assert()
        .success();
    // Assert
    assert_eq!(first, serde_json::json!({"created": 1, "updated": 0}));
    let text = String::from_utf8(again.get_output().stdout.clone()).unwrap();
    assert!(text.contains("0 created, 1 updated"), "{text}");
    let shown = json(stack, "", &["menu", "show", &id]);
    assert_eq!(shown["price_cents"], 1234);
}

#[test]
fn menu_import_refuses_a_bad_file_and_a_customer_key() {
    let stack = shared_stack();
    foodctl(stack, &stack.ops_key)
        .args(["menu", "import", "-"])
        .write_stdin("{\"id\": \"x\"}\n")
        .assert()
        .code(2);
    foodctl(stack, &stack.ops_key)
        .args(["menu", "import", "/no/such/file.json"])
        .assert()
        .code(2);
    let item = r#"[{"id":"x-cust","restaurant_id":"trattoria-da-luca","name":"X","category":"c","price_cents":1}]"#;
    foodctl(stack, &stack.customer_key)
        .args(["menu", "import", "-"])
        .write_stdin(item)
        .assert()
        .code(4);
}

#[test]
fn an_empty_list_says_so_on_stderr_in_tables_only() {
    let stack = shared_stack();
    // A table: the header on stdout, a note for people on stderr.
    foodctl(stack, "")
        .args(["menu", "list", "--category", "nope"])
        .assert()
        .success()
        .stdout(predicate::str::starts_with("ID"))
        .stderr(predicate::str::contains("no dish matches"));
    foodctl(stack, &stack.ops_key)
        .args(["delivery", "list", "--restaurant", "no-such-kitchen"])
        .assert()
        .success()
        .stderr(predicate::str::contains("no delivery matches"));
    // Scripts get the empty document and nothing else.
    for format in ["json", "yaml", "ndjson"] {
        foodctl(stack, "")
            .args(["menu", "list", "--category", "nope", "-o", format])
            .assert()
            .success()
            .stderr(predicate::str::is_empty());
    }
    // -q silences the note.
    foodctl(stack, "")
        .args(["-q", "menu", "list", "--category", "nope"])
        .assert()
        .success()
        .stderr(predicate::str::is_empty());
}
