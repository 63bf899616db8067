//! Menu items and their restaurants, from menu-service, each kept for a
//! short while.
//!
//! Every order needs the current price and availability of its items, and
//! whether their restaurant is open. Asking menu-service for each order costs
//! a gRPC round trip and a SQLite read; menus change rarely, so an item or a
//! restaurant fetched within the last `ttl` is used as it is. A change made
//! in menu-service (a new price, an item made unavailable, a kitchen paused)
//! therefore reaches new orders within `ttl`; a `ttl` of zero asks
//! menu-service for every order. Ids menu-service does not know are never
//! kept.

use std::{collections::HashMap, sync::Arc, time::Duration};

use food_kit::grpc::balance::Balanced;
use food_proto::menu::v1::{
    BatchGetItemsRequest, Item, Restaurant, menu_service_client::MenuServiceClient,
};
use moka::sync::Cache;
use tonic::Status;

/// Far more than any menu; a bound all the same.
const MAX_ITEMS: u64 = 100_000;

/// Far more than any city's kitchens; a bound all the same.
const MAX_RESTAURANTS: u64 = 10_000;

/// What the menu says of an order's items: those that exist, and the
/// restaurants they come from, each by id.
#[derive(Debug, Default)]
pub struct Found {
    pub items: HashMap<String, Arc<Item>>,
    pub restaurants: HashMap<String, Arc<Restaurant>>,
}

pub struct MenuItems {
    client: MenuServiceClient<Balanced>,
    cache: Option<Caches>,
}

/// Items and restaurants in separate caches with the same `ttl`: a
/// restaurant is refreshed with every fetch that returns one of its items,
/// so it is never older than the cached items that point at it, and pausing
/// it reaches new orders within `ttl` like an item change does.
struct Caches {
    items: Cache<String, Arc<Item>>,
    restaurants: Cache<String, Arc<Restaurant>>,
}

impl MenuItems {
    pub fn new(client: MenuServiceClient<Balanced>, ttl: Duration) -> Self {
        let cache = (!ttl.is_zero()).then(|| Caches {
            items: Cache::builder()
                .max_capacity(MAX_ITEMS)
                .time_to_live(ttl)
                .build(),
            restaurants: Cache::builder()
                .max_capacity(MAX_RESTAURANTS)
                .time_to_live(ttl)
                .build(),
        });
        Self { client, cache }
    }

    /// The items of `ids` that exist and their restaurants; one menu-service
    /// call for the items not fetched within `ttl` (or whose restaurant was
    /// not), none when all were.
    pub async fn get(&self, ids: &[String]) -> Result<Found, Status> {
        let mut found = Found::default();
        let mut missing = Vec::new();
        for id in ids {
            let cached = self.cache.as_ref().and_then(|c| {
                let item = c.items.get(id)?;
                let restaurant = c.restaurants.get(&item.restaurant_id)?;
                Some((item, restaurant))
            });
            match cached {
                Some((item, restaurant)) => {
                    found.items.insert(id.clone(), item);
                    found.restaurants.insert(restaurant.id.clone(), restaurant);
                }
                None => missing.push(id.clone()),
            }
        }
        if missing.is_empty() {
            return Ok(found);
        }
        let fetched = self
            .client
            .clone()
            .batch_get_items(BatchGetItemsRequest { ids: missing })
            .await?
            .into_inner();
        // Restaurants first, so that an item is never cached without its own.
        for restaurant in fetched.restaurants {
            let restaurant = Arc::new(restaurant);
            if let Some(c) = &self.cache {
                c.restaurants
                    .insert(restaurant.id.clone(), restaurant.clone());
            }
            found.restaurants.insert(restaurant.id.clone(), restaurant);
        }
        for item in fetched.items {
            let item = Arc::new(item);
            if let Some(c) = &self.cache {
                c.items.insert(item.id.clone(), item.clone());
            }
            found.items.insert(item.id.clone(), item);
        }
        Ok(found)
    }
}
