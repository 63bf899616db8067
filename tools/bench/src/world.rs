//! What the bench learns about a deployment before loading it (restaurants,
//! their available items, couriers, who orders) and the requests it makes
//! from that, chosen by a seeded generator.

use std::sync::{
    Arc,
    atomic::{AtomicUsize, Ordering},
};

use anyhow::{Context as _, bail};
use bytes::Bytes;
use food_api::{AcceptOrder, CourierList, Delivery, ItemList, Order, OrderStatus, RestaurantList};
use food_client::Client;
use hyper::{HeaderMap, Method};
use rand::{Rng, SeedableRng, rngs::StdRng, seq::IndexedRandom};
use serde_json::json;

use crate::engine::{Call, headers};

/// A restaurant that takes orders, with its available items.
#[derive(Clone, Debug)]
pub struct Kitchen {
    pub id: String,
    pub items: Vec<String>,
}

/// Who an order is for: a customer key, or the ops key naming a customer.
#[derive(Clone, Debug)]
pub struct Orderer {
    pub headers: Arc<HeaderMap>,
    pub customer_id: Option<String>,
}

pub struct World {
    pub client: Client,
    pub ops_key: String,
    pub kitchens: Vec<Kitchen>,
    pub item_ids: Vec<String>,
    pub couriers: Vec<String>,
    pub orderers: Vec<Orderer>,
    pub anonymous: Arc<HeaderMap>,
    pub ops_json: Arc<HeaderMap>,
    pub seed: u64,
}

/// The preparation time ops gives the delivery pool's orders when it
/// accepts them: the longest allowed, so none is late within a run.
const POOL_PREP_MINUTES: u32 = 240;

/// Customers the ops key orders for when no customer keys are given.
const BENCH_CUSTOMERS: usize = 50;

impl World {
    /// Reads the menu and the couriers; `customer_keys` empty means orders
    /// are placed by the ops key for `bench-customer-N`.
    pub async fn discover(
        client: Client,
        ops_key: String,
        customer_keys: &[String],
        seed: u64,
    ) -> anyhow::Result<Self> {
        let restaurants: RestaurantList = client
            .get("/restaurants", &[("limit", "1000".into())])
            .await
            .context("GET /restaurants")?;
        let items: ItemList = client
            .get(
                "/menu/items",
                &[("limit", "1000".into()), ("available", "true".into())],
            )
            .await
            .context("GET /menu/items")?;
        let couriers: CourierList = client.get("/couriers", &[]).await.map_err(|e| {
            anyhow::anyhow!("GET /couriers: {e} (food-bench needs an ops key: --token)")
        })?;
        let mut kitchens: Vec<Kitchen> = restaurants
            .restaurants
            .iter()
            .filter(|r| r.open)
            .map(|r| Kitchen {
                id: r.id.clone(),
                items: items
                    .items
                    .iter()
                    .filter(|i| i.restaurant_id == r.id)
                    .map(|i| i.id.clone())
                    .collect(),
            })
            .filter(|k| !k.items.is_empty())
            .collect();
        kitchens.sort_by(|a, b| a.id.cmp(&b.id));
        if kitchens.is_empty() {
            bail!("no open restaurant has an available item: nothing to order");
        }
        let mut couriers: Vec<String> = couriers.couriers.into_iter().map(|c| c.id).collect();
        if couriers.len() < 2 {
            // Reassignments need two couriers; PUT /couriers/:id creates one.
            for id in ["bench-courier-1", "bench-courier-2"] {
                client
                    .put_courier(id, id)
                    .await
                    .with_context(|| format!("PUT /couriers/{id}"))?;
            }
            couriers = vec!["bench-courier-1".into(), "bench-courier-2".into()];
        }
        let orderers = if customer_keys.is_empty() {
            (1..=BENCH_CUSTOMERS)
                .map(|n| Orderer {
                    headers: headers(Some(&ops_key), true),
                    customer_id: Some(format!("bench-customer-{n}")),
                })
                .collect()
        } else {
            customer_keys
                .iter()
                .map(|k| Orderer {
                    headers: headers(Some(k), true),
                    customer_id: None,
                })
                .collect()
        };
        let mut item_ids: Vec<String> = items.items.into_iter().map(|i| i.id).collect();
        item_ids.sort();
        Ok(Self {
            kitchens,
            item_ids,
            couriers,
            orderers,
            anonymous: headers(None, false),
            ops_json: headers(Some(&ops_key), true),
            ops_key,
            client,
            seed,
        })
    }

    /// The generator of connection `conn` in phase `phase`: the same seed
    /// gives every connection the same requests in every run.
    pub fn rng(&self, phase: u64, conn: usize) -> StdRng {
        StdRng::seed_from_u64(
            self.seed ^ (phase << 32) ^ (conn as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15),
        )
    }

    /// `POST /orders`: one to three items of one kitchen, one to three of
    /// each, for one of the orderers.
    pub fn order_call(&self, kind: usize, rng: &mut StdRng) -> Call {
        let kitchen = self.kitchens.choose(rng).unwrap();
        let lines = rng.random_range(1..=kitchen.items.len().min(3));
        let items: Vec<_> = kitchen
            .items
            .choose_multiple(rng, lines)
            .map(|id| json!({"item_id": id, "quantity": rng.random_range(1..=3)}))
            .collect();
        let orderer = self.orderers.choose(rng).unwrap();
        let mut body = json!({
            "items": items,
            "delivery_address": format!("{} Bench Street", rng.random_range(1..=999)),
        });
        if let Some(id) = &orderer.customer_id {
            body["customer_id"] = json!(id);
        }
        Call {
            kind,
            method: Method::POST,
            path: "/orders".into(),
            headers: orderer.headers.clone(),
            body: Some(Bytes::from(body.to_string())),
            idempotency_key: true,
            keep_answer: false,
        }
    }

    /// An order placed by ops for the live path's customer.
    pub fn live_order_body(&self, n: u64) -> serde_json::Value {
        let kitchen = &self.kitchens[n as usize % self.kitchens.len()];
        json!({
            "items": [{"item_id": kitchen.items[0], "quantity": 1}],
            "delivery_address": format!("{n} Live Street"),
            "customer_id": "bench-live",
        })
    }

    /// A browse: the restaurants, one restaurant's menu or one item, in
    /// equal parts.
    pub fn browse_call(&self, kind: usize, rng: &mut StdRng) -> Call {
        let path = match rng.random_range(0..3) {
            0 => "/restaurants".to_owned(),
            1 => format!(
                "/restaurants/{}/menu",
                self.kitchens.choose(rng).unwrap().id
            ),
            _ => format!("/menu/items/{}", self.item_ids.choose(rng).unwrap()),
        };
        self.get_call(kind, path)
    }

    pub fn get_call(&self, kind: usize, path: String) -> Call {
        Call {
            kind,
            method: Method::GET,
            path,
            headers: self.anonymous.clone(),
            body: None,
            idempotency_key: false,
            keep_answer: false,
        }
    }

    /// Status changes for connection `conn` of `connections`: each
    /// connection moves deliveries of its own (a share of the pool), each
    /// reassigned to the next courier in turn, so that no change asks for
    /// the courier a delivery already has (which is refused, 409).
    pub fn status_calls(
        &self,
        kind: usize,
        pool: &Arc<DeliveryPool>,
        conn: usize,
        connections: usize,
    ) -> impl FnMut(&mut StdRng) -> Call + Send + 'static {
        let n = pool.orders.len();
        let mine: Vec<usize> = (conn % n..n).step_by(connections.max(1)).collect();
        let pool = pool.clone();
        let couriers = self.couriers.clone();
        let headers = self.ops_json.clone();
        move |rng| {
            let i = *mine.choose(rng).unwrap();
            let turn = pool.changes[i].fetch_add(1, Ordering::Relaxed);
            Call {
                kind,
                method: Method::PUT,
                path: format!("/delivery/status/{}", pool.orders[i]),
                headers: headers.clone(),
                body: Some(Bytes::from(
                    json!({"status": "ASSIGNED", "courier": couriers[turn % couriers.len()]})
                        .to_string(),
                )),
                idempotency_key: false,
                keep_answer: false,
            }
        }
    }

    /// `n` orders whose deliveries exist, for status changes to move.
    pub async fn delivery_pool(&self, n: usize) -> anyhow::Result<DeliveryPool> {
        let mut ids = Vec::new();
        for i in 0..n {
            let order: Order = self
                .client
                .post("/orders", &self.live_order_body(i as u64), &[])
                .await
                .context("placing the orders whose deliveries the mixed load moves")?;
            // A restaurant that accepts by hand rejects an order it has not
            // accepted within its acceptance timeout (5 minutes by default),
            // which cancels the delivery: every later reassignment of it
            // would be a 409. Ops accepts it as its kitchen would.
            if order.status == OrderStatus::Placed {
                let accept = AcceptOrder {
                    prep_minutes: Some(POOL_PREP_MINUTES),
                    ..AcceptOrder::default()
                };
                self.client
                    .accept_order(&order.id, &accept)
                    .await
                    .with_context(|| format!("accepting order {} as ops", order.id))?;
            }
            ids.push(order.id);
        }
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        for id in &ids {
            loop {
                match self
                    .client
                    .get::<Delivery>(&format!("/delivery/status/{id}"), &[])
                    .await
                {
                    Ok(_) => break,
                    Err(e) if e.is_not_found() && std::time::Instant::now() < deadline => {
                        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                    }
                    Err(e) => return Err(e).context(format!("the delivery of order {id}")),
                }
            }
        }
        Ok(DeliveryPool {
            changes: ids.iter().map(|_| AtomicUsize::new(0)).collect(),
            orders: ids,
        })
    }
}

/// Orders whose deliveries the mixed load reassigns, with how many times
/// each was, which picks its next courier (across rates too).
pub struct DeliveryPool {
    pub orders: Vec<String>,
    changes: Vec<AtomicUsize>,
}
