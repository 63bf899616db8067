//! `restaurant list|show|open|close`, `menu list --restaurant`, the
//! restaurant in order and delivery tables, and the refusals of one
//! restaurant per order: what a customer and ops see of restaurants.

use std::time::{Duration, Instant};

use predicates::prelude::*;
use serde_json::{Value, json};

use crate::helpers::{Stack, foodctl, json, shared_stack, wait_for_delivery};

/// Longer than order-service's menu cache: how long a pause or a resume
/// may take to reach new orders.
const PAUSE_REACHES_ORDERS: Duration = Duration::from_secs(10);

fn ids(list: &Value, key: &str) -> Vec<String> {
    list[key]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["id"].as_str().unwrap().to_owned())
        .collect()
}

fn stdout(out: &assert_cmd::assert::Assert) -> String {
    String::from_utf8(out.get_output().stdout.clone()).unwrap()
}

/// The first available dish of a restaurant, as a first-time user finds it.
fn first_dish(stack: &Stack, restaurant: &str) -> String {
    let menu = json(
        stack,
        "",
        &["menu", "list", "--restaurant", restaurant, "--available"],
    );
    menu["items"][0]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("{restaurant} has no available dish: {menu}"))
        .to_owned()
}

#[test]
fn restaurant_list_shows_the_seed_restaurants_in_table_and_json() {
    let stack = shared_stack();

    let table = foodctl(stack, "")
        .args(["restaurant", "list"])
        .assert()
        .success();
    let all = json(stack, "", &["restaurant", "list"]);

    let text = stdout(&table);
    let header = text.lines().next().unwrap();
    assert!(
        header.starts_with("ID") && header.contains("CUISINE") && header.contains("STATUS"),
        "{text}"
    );
    assert!(
        text.lines()
            .any(|l| l.starts_with("trattoria-da-luca  ") && l.contains("Trattoria da Luca")),
        "{text}"
    );
    let listed = ids(&all, "restaurants");
    for id in [
        "trattoria-da-luca",
        "le-smash-club",
        "sakura-sushi",
        "kintaro-ramen",
        "bangkok-street",
        "maison-tandoor",
        "pho-saigon",
        "green-bowl",
        "le-bouchon-des-halles",
        "taqueria-el-sol",
    ] {
        assert!(listed.iter().any(|l| l == id), "{id} missing: {listed:?}");
    }
    assert!(all["next_cursor"].is_null(), "every page is fetched");
    let luca = all["restaurants"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == "trattoria-da-luca")
        .unwrap();
    assert_eq!(luca["cuisine"], "italian");
    assert!(luca["address"].as_str().unwrap().contains("Lyon"), "{luca}");
}

#[test]
fn restaurant_list_filters_pages_and_prints_every_format() {
    let stack = shared_stack();

    let japanese = json(
        stack,
        "",
        &["restaurant", "list", "--cuisine", "japanese", "--open"],
    );
    let two = json(stack, "", &["restaurant", "list", "--limit", "2"]);
    let found = json(stack, "", &["restaurant", "list", "--search", "sakura"]);
    let ndjson = foodctl(stack, "")
        .args(["restaurant", "list", "-o", "ndjson", "--limit", "3"])
        .assert()
        .success();

    let rs = japanese["restaurants"].as_array().unwrap();
    assert!(
        rs.iter()
            .all(|r| r["cuisine"] == "japanese" && r["open"] == true),
        "{japanese}"
    );
    let japanese = ids(&japanese, "restaurants");
    assert!(
        japanese.contains(&"sakura-sushi".to_owned()),
        "{japanese:?}"
    );
    assert!(
        japanese.contains(&"kintaro-ramen".to_owned()),
        "{japanese:?}"
    );
    assert_eq!(two["restaurants"].as_array().unwrap().len(), 2);
    assert!(ids(&found, "restaurants").contains(&"sakura-sushi".to_owned()));
    let lines: Vec<Value> = stdout(&ndjson)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 3);
    assert!(
        lines
            .iter()
            .all(|r| r["id"].is_string() && r["cuisine"].is_string())
    );
    foodctl(stack, "")
        .args(["restaurant", "list", "-o", "yaml", "--limit", "1"])
        .assert()
        .success()
        .stdout(
            predicate::str::starts_with("restaurants:").and(predicate::str::contains("cuisine:")),
        );
    foodctl(stack, "")
        .args(["restaurant", "list", "-o", "wide", "--limit", "1"])
        .assert()
        .success()
        .stdout(predicate::str::contains("ADDRESS").and(predicate::str::contains("Lyon")));
    foodctl(stack, "")
        .args(["restaurant", "list", "--cuisine", "martian"])
        .assert()
        .success()
        .stderr(predicate::str::contains("no restaurant matches"));
}

#[test]
fn restaurant_show_prints_the_restaurant_and_its_menu() {
    let stack = shared_stack();

    let table = foodctl(stack, "")
        .args(["restaurant", "show", "trattoria-da-luca"])
        .assert()
        .success();
    let one = json(stack, "", &["restaurant", "show", "trattoria-da-luca"]);

    let text = stdout(&table);
    assert!(text.contains("NAME     Trattoria da Luca"), "{text}");
    assert!(text.contains("CUISINE  italian"), "{text}");
    assert!(
        text.contains("MENU     ") && text.contains(" dishes ("),
        "{text}"
    );
    assert!(
        text.contains("\nmargherita  ") && text.contains("\ntiramisu  "),
        "{text}"
    );
    assert!(
        !text.contains("california-roll"),
        "only its own dishes: {text}"
    );
    assert_eq!(one["id"], "trattoria-da-luca");
    assert_eq!(one["name"], "Trattoria da Luca");
    assert!(
        one.get("items").is_none(),
        "json is the API's restaurant: {one}"
    );
    foodctl(stack, "")
        .args(["restaurant", "show", "no-such-place"])
        .assert()
        .code(3)
        .stderr(
            predicate::str::starts_with("foodctl: ").and(predicate::str::contains("not_found")),
        );
}

#[test]
fn menu_list_for_one_restaurant_lists_only_its_dishes() {
    let stack = shared_stack();

    let sushi = json(stack, "", &["menu", "list", "--restaurant", "sakura-sushi"]);
    let table = foodctl(stack, "")
        .args(["menu", "list", "--restaurant", "sakura-sushi"])
        .assert()
        .success();

    let items = sushi["items"].as_array().unwrap();
    assert!(items.len() >= 5, "{sushi}");
    assert!(
        items.iter().all(|i| i["restaurant_id"] == "sakura-sushi"),
        "{sushi}"
    );
    let text = stdout(&table);
    assert!(
        text.lines().next().unwrap().contains("RESTAURANT"),
        "{text}"
    );
    assert_eq!(text.lines().count(), items.len() + 1, "{text}");
    assert!(
        text.lines().skip(1).all(|l| l.contains("sakura-sushi")),
        "{text}"
    );
    foodctl(stack, "")
        .args(["menu", "list", "--restaurant", "no-such-place"])
        .assert()
        .code(3)
        .stdout("")
        .stderr(predicate::str::contains("foodctl restaurant list"));
}

#[test]
fn a_first_order_goes_from_the_restaurant_list_to_its_menu_to_the_order() {
    // Arrange: what a first-time user types, in order.
    let stack = shared_stack();
    let list = foodctl(stack, "")
        .args(["restaurant", "list"])
        .assert()
        .success()
        .stderr(predicate::str::contains(
            "foodctl menu list --restaurant ID",
        ));
    assert!(stdout(&list).contains("trattoria-da-luca"));
    let dish = first_dish(stack, "trattoria-da-luca");

    // Act
    let order = foodctl(stack, &stack.customer_key)
        .args([
            "order",
            "create",
            "--item",
            &format!("{dish}:2"),
            "--address",
            "1 Place Bellecour, Lyon",
        ])
        .assert()
        .success();

    // Assert
    let text = stdout(&order);
    assert!(text.contains("STATUS    PLACED"), "{text}");
    assert!(
        text.contains("FROM      Trattoria da Luca (trattoria-da-luca)"),
        "{text}"
    );
    assert!(
        text.contains("\nPICKUP    ") && text.contains("Lyon"),
        "{text}"
    );
}

#[test]
fn order_and_delivery_tables_show_the_restaurant() {
    // Arrange: an order of Bangkok Street's.
    let stack = shared_stack();
    let dish = first_dish(stack, "bangkok-street");
    let order = json(
        stack,
        &stack.customer_key,
        &[
            "order",
            "create",
            "--item",
            &dish,
            "--address",
            "2 Quai Saint-Antoine, Lyon",
        ],
    );
    let id = order["id"].as_str().unwrap().to_owned();
    let short = &id[id.len() - 8..];
    let delivery = wait_for_delivery(stack, &id);

    // Act
    let orders = foodctl(stack, &stack.customer_key)
        .args(["order", "list"])
        .assert()
        .success();
    let wide = foodctl(stack, &stack.customer_key)
        .args(["order", "list", "-o", "wide"])
        .assert()
        .success();
    let deliveries = foodctl(stack, &stack.ops_key)
        .args(["delivery", "list", "--restaurant", "bangkok-street"])
        .assert()
        .success();
    let status = foodctl(stack, &stack.ops_key)
        .args(["delivery", "status", &id])
        .assert()
        .success();
    let by_restaurant = json(
        stack,
        &stack.ops_key,
        &["order", "list", "--restaurant", "bangkok-street"],
    );

    // Assert
    assert_eq!(order["restaurant_id"], "bangkok-street");
    assert_eq!(order["restaurant_name"], "Bangkok Street");
    let pickup = order["pickup_address"].as_str().unwrap().to_owned();
    assert_eq!(delivery["restaurant_name"], "Bangkok Street");
    assert_eq!(delivery["pickup_address"], pickup.as_str());
    let text = stdout(&orders);
    assert!(
        text.lines().next().unwrap().contains("RESTAURANT"),
        "{text}"
    );
    let row = text.lines().find(|l| l.starts_with(short)).unwrap();
    assert!(row.contains("  Bangkok Street  "), "{row}");
    let text = stdout(&wide);
    let row = text.lines().find(|l| l.starts_with(short)).unwrap();
    assert!(
        row.contains(&pickup),
        "wide adds the pick-up address: {row}"
    );
    let text = stdout(&deliveries);
    assert!(
        text.lines().next().unwrap().contains("RESTAURANT"),
        "{text}"
    );
    let row = text.lines().find(|l| l.starts_with(short)).unwrap();
    assert!(row.contains("  Bangkok Street  "), "{row}");
    assert!(
        text.lines()
            .skip(1)
            .all(|l| l.contains("  Bangkok Street  ")),
        "only that restaurant's deliveries: {text}"
    );
    let text = stdout(&status);
    assert!(
        text.contains("FROM      Bangkok Street (bangkok-street)"),
        "{text}"
    );
    assert!(text.contains(&format!("PICKUP    {pickup}")), "{text}");
    let os = by_restaurant["orders"].as_array().unwrap();
    assert!(os.iter().any(|o| o["id"] == id.as_str()));
    assert!(os.iter().all(|o| o["restaurant_id"] == "bangkok-street"));
}

#[test]
fn dishes_of_two_restaurants_in_one_order_exit_5_naming_both() {
    let stack = shared_stack();
    let pizza = first_dish(stack, "trattoria-da-luca");
    let sushi = first_dish(stack, "sakura-sushi");

    let refused = foodctl(stack, &stack.customer_key)
        .args([
            "order",
            "create",
            "--item",
            &pizza,
            "--item",
            &sushi,
            "--address",
            "3 Rue de la République, Lyon",
        ])
        .assert()
        .code(5)
        .stdout("");

    let err = String::from_utf8(refused.get_output().stderr.clone()).unwrap();
    assert!(err.starts_with("foodctl: "), "{err}");
    assert!(err.contains("mixed_restaurants"), "{err}");
    assert!(
        err.contains("Trattoria da Luca") && err.contains("Sakura Sushi"),
        "the message names both restaurants: {err}"
    );
}

/// Runs `order create` for `dish` until its exit code is `code` (a pause
/// or a resume reaches new orders within order-service's menu cache time);
/// returns the last run's stderr.
fn order_until(stack: &Stack, dish: &str, code: i32) -> String {
    let deadline = Instant::now() + PAUSE_REACHES_ORDERS;
    loop {
        let out = foodctl(stack, &stack.customer_key)
            .args([
                "order",
                "create",
                "--item",
                dish,
                "--address",
                "4 Rue Neuve, Lyon",
            ])
            .output()
            .unwrap();
        let stderr = String::from_utf8(out.stderr).unwrap();
        if out.status.code() == Some(code) {
            return stderr;
        }
        assert!(
            Instant::now() < deadline,
            "order create never exited {code}: {:?} {stderr}",
            out.status
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn a_closed_restaurant_refuses_orders_with_exit_5_until_it_opens_again() {
    // Arrange: a restaurant of this test's own (the seed ones serve the
    // other tests), imported in the seed's form.
    let stack = shared_stack();
    let suffix = uuid::Uuid::now_v7().simple().to_string();
    let place = format!("test-kitchen-{}", &suffix[20..]);
    let dish = format!("test-soup-{}", &suffix[20..]);
    let menu = json!({
        "restaurants": [{
            "id": place, "name": "Test Kitchen", "cuisine": "tests",
            "address": "9 Rue du Test, 69001 Lyon", "open": true, "tags": ["test"]
        }],
        "items": [{
            "id": dish, "restaurant_id": place, "name": "Test Soup", "category": "tests",
            "price_cents": 700, "prep_minutes": 5
        }]
    });
    foodctl(stack, &stack.ops_key)
        .args(["menu", "import", "-"])
        .write_stdin(menu.to_string())
        .assert()
        .success()
        .stdout(predicate::str::contains("imported 1 restaurant and 1 item"));
    order_until(stack, &dish, 0);

    // Act: ops close it.
    let closed = foodctl(stack, &stack.ops_key)
        .args(["restaurant", "close", &place])
        .assert()
        .success();
    let refused = order_until(stack, &dish, 5);

    // Assert
    let text = stdout(&closed);
    assert!(text.contains(&format!("ID       {place}")), "{text}");
    assert!(text.contains("STATUS   closed"), "{text}");
    assert_eq!(
        json(stack, "", &["restaurant", "show", &place])["open"],
        false
    );
    assert!(refused.starts_with("foodctl: "), "{refused}");
    assert!(refused.contains("restaurant_closed"), "{refused}");
    assert!(
        refused.contains("Test Kitchen"),
        "names the restaurant: {refused}"
    );
    let open_ones = json(stack, "", &["restaurant", "list", "--open"]);
    assert!(!ids(&open_ones, "restaurants").contains(&place));

    // Act: and open it again.
    let opened = json(stack, &stack.ops_key, &["restaurant", "open", &place]);

    // Assert
    assert_eq!(opened["id"], place.as_str());
    assert_eq!(opened["open"], true);
    order_until(stack, &dish, 0);
}

#[test]
fn only_ops_open_and_close_restaurants() {
    let stack = shared_stack();
    foodctl(stack, &stack.customer_key)
        .args(["restaurant", "close", "trattoria-da-luca"])
        .assert()
        .code(4);
    foodctl(stack, "")
        .args(["restaurant", "close", "trattoria-da-luca"])
        .assert()
        .code(4);
    foodctl(stack, &stack.ops_key)
        .args(["restaurant", "open", "no-such-place"])
        .assert()
        .code(3);
    assert_eq!(
        json(stack, "", &["restaurant", "show", "trattoria-da-luca"])["open"],
        true
    );
}
