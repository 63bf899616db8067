//! Menu items for pricing, from menu-service, each kept for a short while.
//!
//! Every order needs the current price and availability of its items. Asking
//! menu-service for each order costs a gRPC round trip and a SQLite read;
//! menus change rarely, so an item fetched within the last `ttl` is used as
//! it is. A change made in menu-service (a new price, an item made
//! unavailable) therefore reaches new orders within `ttl`; a `ttl` of zero
//! asks menu-service for every order. Ids menu-service does not know are
//! never kept.

use std::{collections::HashMap, sync::Arc, time::Duration};

use food_proto::menu::v1::{BatchGetItemsRequest, Item, menu_service_client::MenuServiceClient};
use moka::sync::Cache;
use tonic::{Status, transport::Channel};

/// Far more than any menu; a bound all the same.
const MAX_ITEMS: u64 = 100_000;

pub struct MenuItems {
    client: MenuServiceClient<Channel>,
    cache: Option<Cache<String, Arc<Item>>>,
}

impl MenuItems {
    pub fn new(client: MenuServiceClient<Channel>, ttl: Duration) -> Self {
        let cache = (!ttl.is_zero()).then(|| {
            Cache::builder()
                .max_capacity(MAX_ITEMS)
                .time_to_live(ttl)
                .build()
        });
        Self { client, cache }
    }

    /// The items of `ids` that exist, by id; one menu-service call for those
    /// not fetched within `ttl`, none when all were.
    pub async fn get(&self, ids: &[String]) -> Result<HashMap<String, Arc<Item>>, Status> {
        let mut found = HashMap::with_capacity(ids.len());
        let mut missing = Vec::new();
        for id in ids {
            match self.cache.as_ref().and_then(|c| c.get(id)) {
                Some(item) => {
                    found.insert(id.clone(), item);
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
        for item in fetched.items {
            let item = Arc::new(item);
            if let Some(cache) = &self.cache {
                cache.insert(item.id.clone(), item.clone());
            }
            found.insert(item.id.clone(), item);
        }
        Ok(found)
    }
}
