//! Turns a valid request and what the menu says of its items into an order,
//! or the one refusal that tells the customer what to change.
//!
//! The checks run in this order, so that the refusal is the one that
//! matters most (docs/design.md, "gRPC services"):
//! 1. unknown items (NOT_FOUND): nothing else can be said of an item that
//!    does not exist;
//! 2. items of several restaurants (`mixed_restaurants`, INVALID_ARGUMENT):
//!    the request itself is wrong, whatever the menu's state, and a retry
//!    never helps;
//! 3. a paused restaurant (`restaurant_closed`, FAILED_PRECONDITION): the
//!    whole order waits on it, so its items' availability does not matter
//!    yet;
//! 4. unavailable items (`item_unavailable`, FAILED_PRECONDITION), the first
//!    in request order;
//! 5. mixed currencies, which one restaurant's menu should never have.
//!
//! It also says how the kitchen takes the order ([`Kitchen`]): at once for
//! a restaurant that accepts automatically, else by hand before a deadline.

use std::collections::HashMap;

use chrono::{DateTime, Duration, Utc};
use food_api::{DEFAULT_ACCEPTANCE_TIMEOUT_S, ErrorCode, Order, OrderLine, OrderStatus};
use food_kit::grpc::error;
use food_proto::menu::v1::{Item, Restaurant};
use tonic::Status;

use crate::{menu::Found, validate::Valid};

/// How the restaurant's kitchen takes a new order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kitchen {
    /// Accepted at once: stored PREPARING, ready by now + the order's
    /// longest prep time.
    AutoAccept { ready_by: DateTime<Utc> },
    /// Someone accepts or rejects it by hand; still PLACED at `deadline`,
    /// it is rejected with reason `timeout`.
    ByHand { deadline: DateTime<Utc> },
}

/// A priced order (PLACED) and how its kitchen takes it.
#[derive(Debug)]
pub struct Priced {
    pub order: Order,
    pub kitchen: Kitchen,
}

/// The order `v` makes with the menu's `found` items, placed now as `id`;
/// client prices are never trusted.
pub fn price(v: &Valid, found: &Found, id: String, now: DateTime<Utc>) -> Result<Priced, Status> {
    let items = known_items(v, found)?;
    let restaurant = one_restaurant(&items, found)?;
    if !restaurant.open {
        return Err(error(
            ErrorCode::RestaurantClosed,
            format!(
                "{} is paused and takes no new orders right now",
                restaurant.name
            ),
            &[
                ("restaurant_id", restaurant.id.clone()),
                ("restaurant_name", restaurant.name.clone()),
            ],
        ));
    }
    // Every order has a line (`validate`), so the first one's currency is there.
    let currency = items
        .first()
        .map_or("EUR", |(item, _)| item.currency.as_str());
    let mut lines = Vec::with_capacity(items.len());
    for (i, (item, qty)) in items.iter().enumerate() {
        let field = format!("items[{i}].item_id");
        if !item.available {
            return Err(error(
                ErrorCode::ItemUnavailable,
                format!("items[{i}]: `{}` is not available right now", item.name),
                &[("field", field), ("item_id", item.id.clone())],
            ));
        }
        if item.currency != currency {
            return Err(error(
                ErrorCode::InvalidArgument,
                "all items of an order must be in one currency",
                &[("field", field)],
            ));
        }
        let line_total = Some(item.price_cents)
            .filter(|p| *p >= 0)
            .and_then(|p| p.checked_mul(i64::from(*qty)))
            .ok_or_else(|| price_out_of_range(item))?;
        lines.push(OrderLine {
            item_id: item.id.clone(),
            name: item.name.clone(),
            quantity: *qty,
            unit_price_cents: item.price_cents,
            line_total_cents: line_total,
        });
    }
    let total_cents = lines
        .iter()
        .try_fold(0i64, |sum, l| sum.checked_add(l.line_total_cents))
        .ok_or_else(|| price_out_of_range(items[0].0))?;
    let kitchen = kitchen(restaurant, &items, now);
    let order = Order {
        id,
        customer_id: v.customer_id.clone(),
        restaurant_id: Some(restaurant.id.clone()),
        restaurant_name: Some(restaurant.name.clone()),
        pickup_address: Some(restaurant.address.clone()),
        ready_by: None,
        rejection_reason: None,
        status: OrderStatus::Placed,
        total_cents,
        items: lines,
        currency: currency.to_owned(),
        delivery_address: v.address.clone(),
        note: v.note.clone(),
        created_at: now,
        updated_at: now,
    };
    Ok(Priced { order, kitchen })
}

/// menu-service checks prices on import (0 to 10 000.00), so a negative
/// one, or one whose order total overflows, is corrupt data from it: never
/// an amount to charge, wrapped or not.
fn price_out_of_range(item: &Item) -> Status {
    tracing::error!(item_id = %item.id, price_cents = item.price_cents, "menu-service returned a price out of range");
    error(
        ErrorCode::Internal,
        "the menu returned a price out of range",
        &[("item_id", item.id.clone())],
    )
}

/// How `restaurant` takes an order of `items` placed `now`. An auto-accept
/// kitchen is ready by the longest item's prep time (at least a minute, so
/// that items saying 0 still give the kitchen a moment).
fn kitchen(restaurant: &Restaurant, items: &[(&Item, u32)], now: DateTime<Utc>) -> Kitchen {
    if restaurant.auto_accept {
        let minutes = items
            .iter()
            .map(|(item, _)| item.prep_minutes)
            .max()
            .unwrap_or(0)
            .max(1);
        Kitchen::AutoAccept {
            ready_by: now + Duration::minutes(i64::from(minutes)),
        }
    } else {
        // menu-service stores 0 as the default; an older one may send 0.
        let timeout = match restaurant.acceptance_timeout_s {
            0 => DEFAULT_ACCEPTANCE_TIMEOUT_S,
            s => s,
        };
        Kitchen::ByHand {
            deadline: now + Duration::seconds(i64::from(timeout)),
        }
    }
}

/// Each line's menu item, in request order; the first unknown one refuses.
fn known_items<'a>(v: &Valid, found: &'a Found) -> Result<Vec<(&'a Item, u32)>, Status> {
    v.lines
        .iter()
        .enumerate()
        .map(|(i, (id, qty))| match found.items.get(id) {
            Some(item) => Ok((item.as_ref(), *qty)),
            None => Err(error(
                ErrorCode::NotFound,
                format!("items[{i}]: no menu item `{id}`"),
                &[
                    ("field", format!("items[{i}].item_id")),
                    ("item_id", id.clone()),
                ],
            )),
        })
        .collect()
}

/// The one restaurant all `items` come from. Items of several are refused
/// naming each restaurant with its items, so that the customer knows what to
/// split; the details carry `restaurant_ids` ("a,b", in request order) and
/// `items.<restaurant id>` (its item ids).
fn one_restaurant<'a>(items: &[(&Item, u32)], found: &'a Found) -> Result<&'a Restaurant, Status> {
    // Restaurant id -> its items' ids, in the order the request names them.
    let mut by_restaurant: Vec<(&str, Vec<&str>)> = Vec::new();
    for (item, _) in items {
        let rid = item.restaurant_id.as_str();
        match by_restaurant.iter_mut().find(|(r, _)| *r == rid) {
            Some((_, ids)) => {
                if !ids.contains(&item.id.as_str()) {
                    ids.push(&item.id);
                }
            }
            None => by_restaurant.push((rid, vec![&item.id])),
        }
    }
    let restaurants: HashMap<&str, &Restaurant> = by_restaurant
        .iter()
        .map(|(rid, _)| match found.restaurants.get(*rid) {
            Some(r) => Ok((*rid, r.as_ref())),
            // menu-service returns the restaurant of every item it returns;
            // without it the order cannot say where to pick it up.
            None => {
                tracing::error!(
                    restaurant_id = rid,
                    "menu-service returned an item without its restaurant"
                );
                Err(error(
                    ErrorCode::Internal,
                    "the menu returned an item without its restaurant",
                    &[("restaurant_id", (*rid).to_owned())],
                ))
            }
        })
        .collect::<Result<_, _>>()?;
    match by_restaurant.as_slice() {
        [(only, _)] => return Ok(restaurants[only]),
        [] => {
            return Err(error(
                ErrorCode::InvalidArgument,
                "an order needs at least one item",
                &[("field", "items".into())],
            ));
        }
        _ => {}
    }
    let named: Vec<String> = by_restaurant
        .iter()
        .map(|(rid, ids)| format!("{} ({})", restaurants[rid].name, ids.join(", ")))
        .collect();
    let mut details = vec![
        ("field".to_owned(), "items".to_owned()),
        (
            "restaurant_ids".to_owned(),
            by_restaurant
                .iter()
                .map(|(rid, _)| *rid)
                .collect::<Vec<_>>()
                .join(","),
        ),
    ];
    details.extend(
        by_restaurant
            .iter()
            .map(|(rid, ids)| (format!("items.{rid}"), ids.join(","))),
    );
    let details: Vec<(&str, String)> = details
        .iter()
        .map(|(k, v)| (k.as_str(), v.clone()))
        .collect();
    Err(error(
        ErrorCode::MixedRestaurants,
        format!(
            "an order comes from one restaurant; these items come from {}",
            and_list(&named)
        ),
        &details,
    ))
}

/// "a", "a and b", "a, b and c".
fn and_list(parts: &[String]) -> String {
    match parts {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use food_kit::grpc::error_code;
    use food_proto::order::v1::{CreateOrderRequest, LineRequest};
    use tonic::Code;

    use super::*;
    use crate::validate;

    fn restaurant(id: &str, name: &str, open: bool) -> Restaurant {
        Restaurant {
            id: id.into(),
            name: name.into(),
            cuisine: "any".into(),
            address: format!("1 Rue {name}, Lyon"),
            open,
            tags: Vec::new(),
            auto_accept: true,
            acceptance_timeout_s: 300,
        }
    }

    fn item(id: &str, restaurant_id: &str, price_cents: i64, available: bool) -> Item {
        Item {
            id: id.into(),
            restaurant_id: restaurant_id.into(),
            name: id.to_uppercase(),
            price_cents,
            currency: "EUR".into(),
            available,
            ..Default::default()
        }
    }

    /// A menu of two restaurants: luca (margherita, tiramisu, and an
    /// unavailable calzone) and smash (cola).
    fn menu(luca_open: bool) -> Found {
        let mut found = Found::default();
        for r in [
            restaurant("luca", "Da Luca", luca_open),
            restaurant("smash", "Smash", true),
        ] {
            found.restaurants.insert(r.id.clone(), Arc::new(r));
        }
        for i in [
            item("margherita", "luca", 950, true),
            item("tiramisu", "luca", 550, true),
            item("calzone", "luca", 1100, false),
            item("cola", "smash", 300, true),
        ] {
            found.items.insert(i.id.clone(), Arc::new(i));
        }
        found
    }

    fn valid(lines: &[(&str, u32)]) -> Valid {
        validate::create_order(&CreateOrderRequest {
            customer_id: "c1".into(),
            items: lines
                .iter()
                .map(|(id, q)| LineRequest {
                    item_id: (*id).into(),
                    quantity: *q,
                })
                .collect(),
            delivery_address: "2 Quai Saint-Antoine".into(),
            note: None,
            idempotency_key: None,
        })
        .unwrap()
    }

    fn refusal(
        lines: &[(&str, u32)],
        found: &Found,
    ) -> (Code, ErrorCode, String, HashMap<String, String>) {
        let e = price(&valid(lines), found, "o1".into(), Utc::now()).unwrap_err();
        let (code, details) = error_code(&e);
        (e.code(), code, e.message().to_owned(), details)
    }

    #[test]
    fn an_order_of_one_restaurant_carries_its_name_and_pick_up_address() {
        let order = price(
            &valid(&[("margherita", 2), ("tiramisu", 1)]),
            &menu(true),
            "o1".into(),
            Utc::now(),
        )
        .unwrap()
        .order;

        assert_eq!(order.restaurant_id.as_deref(), Some("luca"));
        assert_eq!(order.restaurant_name.as_deref(), Some("Da Luca"));
        assert_eq!(order.pickup_address.as_deref(), Some("1 Rue Da Luca, Lyon"));
        assert_eq!(order.total_cents, 2 * 950 + 550);
    }

    #[test]
    fn items_of_two_restaurants_are_refused_naming_both_with_their_items() {
        let (grpc, code, message, details) = refusal(
            &[("margherita", 1), ("cola", 1), ("tiramisu", 1)],
            &menu(true),
        );

        assert_eq!(
            (grpc, code),
            (Code::InvalidArgument, ErrorCode::MixedRestaurants)
        );
        assert_eq!(
            message,
            "an order comes from one restaurant; these items come from \
             Da Luca (margherita, tiramisu) and Smash (cola)"
        );
        assert_eq!(details["restaurant_ids"], "luca,smash");
        assert_eq!(details["items.luca"], "margherita,tiramisu");
        assert_eq!(details["items.smash"], "cola");
        assert_eq!(details["field"], "items");
    }

    #[test]
    fn a_paused_restaurant_refuses_naming_itself() {
        let (grpc, code, message, details) = refusal(&[("margherita", 1)], &menu(false));

        assert_eq!(
            (grpc, code),
            (Code::FailedPrecondition, ErrorCode::RestaurantClosed)
        );
        assert!(message.contains("Da Luca"), "{message}");
        assert_eq!(details["restaurant_id"], "luca");
    }

    #[test]
    fn checks_run_unknown_then_mixed_then_closed_then_unavailable() {
        let paused = menu(false);

        let unknown = refusal(&[("cola", 1), ("margherita", 1), ("nope", 1)], &paused);
        let mixed = refusal(&[("calzone", 1), ("cola", 1)], &paused);
        let closed = refusal(&[("calzone", 1)], &paused);
        let unavailable = refusal(&[("margherita", 1), ("calzone", 1)], &menu(true));

        assert_eq!(unknown.1, ErrorCode::NotFound);
        assert_eq!(unknown.3["field"], "items[2].item_id");
        assert_eq!(mixed.1, ErrorCode::MixedRestaurants);
        assert_eq!(closed.1, ErrorCode::RestaurantClosed);
        assert_eq!(unavailable.1, ErrorCode::ItemUnavailable);
        assert_eq!(unavailable.3["field"], "items[1].item_id");
    }

    #[test]
    fn an_item_whose_restaurant_the_menu_left_out_is_an_internal_error() {
        let mut found = menu(true);
        found.restaurants.remove("smash");

        let (grpc, code, _, _) = refusal(&[("cola", 1)], &found);

        assert_eq!((grpc, code), (Code::Internal, ErrorCode::Internal));
    }

    #[test]
    fn an_auto_accept_kitchen_is_ready_by_the_longest_prep_time() {
        let mut found = menu(true);
        let mut slow = item("lasagne", "luca", 1400, true);
        slow.prep_minutes = 25;
        found.items.insert(slow.id.clone(), Arc::new(slow));
        let now = Utc::now();

        let priced = price(
            &valid(&[("margherita", 1), ("lasagne", 1)]),
            &found,
            "o1".into(),
            now,
        )
        .unwrap();

        assert_eq!(priced.order.status, OrderStatus::Placed);
        assert_eq!(
            priced.kitchen,
            Kitchen::AutoAccept {
                ready_by: now + Duration::minutes(25)
            }
        );
    }

    #[test]
    fn items_with_no_prep_time_still_give_the_kitchen_a_minute() {
        let now = Utc::now();

        let priced = price(&valid(&[("cola", 1)]), &menu(true), "o1".into(), now).unwrap();

        assert_eq!(
            priced.kitchen,
            Kitchen::AutoAccept {
                ready_by: now + Duration::minutes(1)
            }
        );
    }

    #[test]
    fn a_kitchen_that_accepts_by_hand_has_its_timeout_as_a_deadline() {
        let mut found = menu(true);
        let mut luca = restaurant("luca", "Da Luca", true);
        luca.auto_accept = false;
        luca.acceptance_timeout_s = 90;
        found
            .restaurants
            .insert("luca".into(), Arc::new(luca.clone()));
        let now = Utc::now();

        let priced = price(&valid(&[("margherita", 1)]), &found, "o1".into(), now).unwrap();
        luca.acceptance_timeout_s = 0;
        found.restaurants.insert("luca".into(), Arc::new(luca));
        let defaulted = price(&valid(&[("margherita", 1)]), &found, "o2".into(), now).unwrap();

        assert_eq!(
            priced.kitchen,
            Kitchen::ByHand {
                deadline: now + Duration::seconds(90)
            }
        );
        assert_eq!(
            defaulted.kitchen,
            Kitchen::ByHand {
                deadline: now + Duration::seconds(300)
            }
        );
    }

    #[test]
    fn three_restaurants_are_listed_with_commas_and_a_final_and() {
        assert_eq!(
            and_list(&["a".into(), "b".into(), "c".into()]),
            "a, b and c"
        );
    }

    /// Sums of money: an order's total is the exact sum of its lines, each
    /// quantity × unit price, for any order the validation lets through;
    /// a price the menu should never hold (negative, or so large that the
    /// total overflows) is refused, never charged wrapped.
    mod props {
        use proptest::prelude::*;

        use super::*;

        /// Up to 100 lines of 1 to 50 (the validation's bounds), each a
        /// distinct item of one open restaurant with the given prices.
        fn priced(prices: &[i64], quantities: &[u32]) -> Result<Priced, Status> {
            let mut found = Found::default();
            let r = restaurant("luca", "Da Luca", true);
            found.restaurants.insert(r.id.clone(), Arc::new(r));
            let ids: Vec<String> = (0..prices.len()).map(|i| format!("item-{i}")).collect();
            for (id, price) in ids.iter().zip(prices) {
                found
                    .items
                    .insert(id.clone(), Arc::new(item(id, "luca", *price, true)));
            }
            let lines: Vec<(&str, u32)> = ids
                .iter()
                .map(String::as_str)
                .zip(quantities.iter().copied())
                .collect();
            price(&valid(&lines), &found, "o1".into(), Utc::now())
        }

        proptest! {
            #[test]
            fn an_orders_total_is_the_exact_sum_of_its_lines(
                lines in proptest::collection::vec((0..=1_000_000i64, 1..=validate::MAX_QUANTITY), 1..=validate::MAX_LINES)
            ) {
                let (prices, quantities): (Vec<i64>, Vec<u32>) = lines.into_iter().unzip();
                let order = priced(&prices, &quantities).unwrap().order;
                let exact: i128 = prices.iter().zip(&quantities).map(|(p, q)| i128::from(*p) * i128::from(*q)).sum();
                prop_assert_eq!(i128::from(order.total_cents), exact);
                for line in &order.items {
                    prop_assert_eq!(line.line_total_cents, line.unit_price_cents * i64::from(line.quantity));
                }
            }

            #[test]
            fn a_price_out_of_range_is_refused_never_wrapped(
                lines in proptest::collection::vec((prop_oneof![any::<i64>(), Just(i64::MAX), Just(-1i64)], 1..=validate::MAX_QUANTITY), 1..5)
            ) {
                let (prices, quantities): (Vec<i64>, Vec<u32>) = lines.into_iter().unzip();
                let exact: i128 = prices.iter().zip(&quantities).map(|(p, q)| i128::from(*p) * i128::from(*q)).sum();
                let fits = prices.iter().all(|p| *p >= 0)
                    && prices.iter().zip(&quantities).all(|(p, q)| p.checked_mul(i64::from(*q)).is_some())
                    && i64::try_from(exact).is_ok();
                match priced(&prices, &quantities) {
                    Ok(p) => prop_assert!(fits && i128::from(p.order.total_cents) == exact),
                    Err(e) => {
                        prop_assert!(!fits, "{e:?}");
                        prop_assert_eq!(error_code(&e).0, ErrorCode::Internal);
                    }
                }
            }
        }

        #[test]
        fn a_price_whose_total_overflows_is_refused_not_a_panic() {
            // Found by `a_price_out_of_range_is_refused_never_wrapped`:
            // `price × quantity` overflowed i64 (a panic in debug builds, a
            // wrapped, negative total in release ones).
            let e = priced(&[i64::MAX / 2], &[3]).unwrap_err();
            assert_eq!(error_code(&e).0, ErrorCode::Internal);
            let e = priced(&[-100], &[1]).unwrap_err();
            assert_eq!(error_code(&e).0, ErrorCode::Internal);
        }
    }
}
