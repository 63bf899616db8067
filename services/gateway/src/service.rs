//! What the gateway does, once for REST and GraphQL alike: the access rules
//! of docs/design.md ("Gateway API") and the downstream calls. Handlers only parse
//! their transport's input and render the result.

use std::time::Duration;

use bytes::Bytes;
use food_api::{
    CreateOrder, Delivery, DeliveryList, DeliveryStatus, ErrorCode, ImportResult, Item, ItemList,
    MAX_LIMIT, Order, OrderList, OrderStatus, PageError, UpdateDelivery, convert,
};
use food_proto::{common::v1::PageRequest, delivery::v1 as pd, menu::v1 as pm, order::v1 as po};

use moka::sync::Cache;
use serde::Serialize;

use crate::{auth::Caller, downstream::Downstream, error::ApiError, settings::Role};

type Result<T> = std::result::Result<T, ApiError>;

/// Filters of `GET /menu/items`.
#[derive(Clone, Debug, Default)]
pub struct ItemFilter {
    pub category: Option<String>,
    pub available: Option<bool>,
    pub query: Option<String>,
    pub limit: Option<u32>,
    pub cursor: Option<String>,
}

/// Filters of `GET /orders`.
#[derive(Clone, Debug, Default)]
pub struct OrderFilter {
    pub status: Option<OrderStatus>,
    /// Honoured for ops; customers always see their own.
    pub customer_id: Option<String>,
    pub limit: Option<u32>,
    pub cursor: Option<String>,
}

/// Filters of `GET /deliveries`.
#[derive(Clone, Debug, Default)]
pub struct DeliveryFilter {
    pub status: Option<DeliveryStatus>,
    pub limit: Option<u32>,
    pub cursor: Option<String>,
}

#[derive(Clone)]
pub struct Gateway {
    downstream: Downstream,
    /// Menu reads as sent (JSON), by request; see [`Gateway::new`].
    menu_json: Option<Cache<String, Bytes>>,
}

/// Distinct menu reads kept at once (each a query or an item id).
const MENU_CACHE_ENTRIES: u64 = 10_000;

/// Lists take `limit` 1..=1000 (default 50; [`food_api::page`]) and an
/// opaque cursor, which the service that issued it checks.
pub fn page(limit: Option<u32>, cursor: Option<String>) -> Result<PageRequest> {
    food_api::page::limit(limit).map_err(|e| {
        let refused = ApiError::bad_request(format!("{} {e}", e.field()));
        match e {
            PageError::LimitTooLarge(_) => refused.with_detail("max", MAX_LIMIT),
            _ => refused,
        }
    })?;
    Ok(PageRequest {
        // 0 leaves the default to the service, which applies the same rule.
        limit: limit.unwrap_or(0),
        cursor: cursor.unwrap_or_default(),
    })
}

fn list_request(f: ItemFilter) -> Result<pm::ListItemsRequest> {
    Ok(pm::ListItemsRequest {
        restaurant_id: None,
        category: non_empty(f.category),
        available_only: f.available.filter(|a| *a),
        query: non_empty(f.query),
        page: Some(page(f.limit, f.cursor)?),
    })
}

fn non_empty(s: Option<String>) -> Option<String> {
    s.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty())
}

impl Gateway {
    /// Menu reads are answered from memory for `menu_cache` after menu-service
    /// gave them (menus change rarely, and a read then costs no gRPC call,
    /// no SQL and no JSON encoding); zero turns that off. Errors are never
    /// kept, and an import through this gateway empties the cache at once.
    pub fn new(downstream: Downstream, menu_cache: Duration) -> Self {
        let menu_json = (!menu_cache.is_zero()).then(|| {
            Cache::builder()
                .max_capacity(MENU_CACHE_ENTRIES)
                .time_to_live(menu_cache)
                .build()
        });
        Self {
            downstream,
            menu_json,
        }
    }

    /// `fetch`'s value as JSON, from the cache under `key` when fresh.
    async fn menu_cached<T, F>(&self, key: String, fetch: F) -> Result<Bytes>
    where
        T: Serialize,
        F: std::future::Future<Output = Result<T>>,
    {
        if let Some(hit) = self.menu_json.as_ref().and_then(|c| c.get(&key)) {
            return Ok(hit);
        }
        let value = fetch.await?;
        let json =
            Bytes::from(serde_json::to_vec(&value).map_err(|e| ApiError::Unexpected(e.into()))?);
        if let Some(cache) = &self.menu_json {
            cache.insert(key, json.clone());
        }
        Ok(json)
    }

    pub fn downstream(&self) -> &Downstream {
        &self.downstream
    }

    // ---- menu: readable by anyone ----

    pub async fn list_items(&self, f: ItemFilter) -> Result<ItemList> {
        self.fetch_items(list_request(f)?).await
    }

    /// [`Gateway::list_items`] as JSON, from the cache when fresh.
    pub async fn list_items_json(&self, f: ItemFilter) -> Result<Bytes> {
        let req = list_request(f)?;
        let key = format!("list {req:?}");
        self.menu_cached(key, self.fetch_items(req)).await
    }

    async fn fetch_items(&self, req: pm::ListItemsRequest) -> Result<ItemList> {
        let res = self
            .downstream
            .menu
            .clone()
            .list_items(req)
            .await?
            .into_inner();
        Ok(ItemList {
            items: res.items.into_iter().map(Item::from).collect(),
            next_cursor: res.next_cursor.filter(|c| !c.is_empty()),
        })
    }

    pub async fn get_item(&self, id: &str) -> Result<Item> {
        let req = pm::GetItemRequest { id: id.to_owned() };
        Ok(self
            .downstream
            .menu
            .clone()
            .get_item(req)
            .await?
            .into_inner()
            .into())
    }

    /// [`Gateway::get_item`] as JSON, from the cache when fresh.
    pub async fn item_json(&self, id: &str) -> Result<Bytes> {
        self.menu_cached(format!("item {id}"), self.get_item(id))
            .await
    }

    /// One round trip for many items; unknown ids are left out.
    pub async fn batch_items(&self, ids: Vec<String>) -> Result<Vec<Item>> {
        let req = pm::BatchGetItemsRequest { ids };
        let res = self
            .downstream
            .menu
            .clone()
            .batch_get_items(req)
            .await?
            .into_inner();
        Ok(res.items.into_iter().map(Item::from).collect())
    }

    pub async fn import_items(&self, caller: &Caller, items: Vec<Item>) -> Result<ImportResult> {
        caller.require(&[Role::Ops])?;
        let req = pm::ImportItemsRequest {
            restaurants: Vec::new(),
            items: items.into_iter().map(pm::Item::from).collect(),
        };
        let res = self
            .downstream
            .menu
            .clone()
            .import_items(req)
            .await?
            .into_inner();
        if let Some(cache) = &self.menu_json {
            cache.invalidate_all();
        }
        Ok(ImportResult {
            created: res.created,
            updated: res.updated,
        })
    }

    // ---- orders: customers (their own) and ops ----

    /// `idempotency_key` (the header) wins over the body's key.
    pub async fn create_order(
        &self,
        caller: &Caller,
        body: CreateOrder,
        idempotency_key: Option<String>,
    ) -> Result<Order> {
        let p = caller.require(&[Role::Customer, Role::Ops])?;
        let customer_id = match (p.own_customer(), non_empty(body.customer_id)) {
            (Some(own), None) => own.to_owned(),
            (Some(own), Some(asked)) if asked == own => own.to_owned(),
            (Some(_), Some(_)) => {
                return Err(ApiError::forbidden("customers order only for themselves"));
            }
            (None, Some(asked)) => asked,
            (None, None) => {
                return Err(ApiError::bad_request(
                    "customer_id is required when ordering with an ops key",
                )
                .with_detail("field", "customer_id"));
            }
        };
        let req = po::CreateOrderRequest {
            customer_id,
            items: body
                .items
                .into_iter()
                .map(|l| po::LineRequest {
                    item_id: l.item_id,
                    quantity: l.quantity,
                })
                .collect(),
            delivery_address: body.delivery_address,
            note: non_empty(body.note),
            idempotency_key: non_empty(idempotency_key).or_else(|| non_empty(body.idempotency_key)),
        };
        Ok(self
            .downstream
            .order
            .clone()
            .create_order(req)
            .await?
            .into_inner()
            .try_into()?)
    }

    /// A customer asking for another customer's order is told it does not
    /// exist, so that order ids cannot be probed.
    pub async fn get_order(&self, caller: &Caller, id: &str) -> Result<Order> {
        let p = caller.require(&[Role::Customer, Role::Ops])?;
        let req = po::GetOrderRequest { id: id.to_owned() };
        let order: Order = self
            .downstream
            .order
            .clone()
            .get_order(req)
            .await?
            .into_inner()
            .try_into()?;
        match p.own_customer() {
            Some(own) if own != order.customer_id => Err(order_not_found(id)),
            _ => Ok(order),
        }
    }

    pub async fn list_orders(&self, caller: &Caller, f: OrderFilter) -> Result<OrderList> {
        let p = caller.require(&[Role::Customer, Role::Ops])?;
        let customer_id = match p.own_customer() {
            Some(own) => Some(own.to_owned()),
            None => non_empty(f.customer_id),
        };
        let req = po::ListOrdersRequest {
            restaurant_id: None,
            customer_id,
            status: f.status.map(|s| po::OrderStatus::from(s) as i32),
            page: Some(page(f.limit, f.cursor)?),
        };
        let res = self
            .downstream
            .order
            .clone()
            .list_orders(req)
            .await?
            .into_inner();
        Ok(OrderList {
            orders: res
                .orders
                .into_iter()
                .map(Order::try_from)
                .collect::<std::result::Result<_, _>>()?,
            next_cursor: res.next_cursor.filter(|c| !c.is_empty()),
        })
    }

    pub async fn cancel_order(
        &self,
        caller: &Caller,
        id: &str,
        reason: Option<String>,
    ) -> Result<Order> {
        // Ownership is checked first so that a customer learns nothing about others' orders.
        self.get_order(caller, id).await?;
        let req = po::CancelOrderRequest {
            id: id.to_owned(),
            reason: non_empty(reason),
        };
        Ok(self
            .downstream
            .order
            .clone()
            .cancel_order(req)
            .await?
            .into_inner()
            .try_into()?)
    }

    // ---- deliveries: couriers and ops; customers read their own ----

    pub async fn get_delivery(&self, caller: &Caller, order_id: &str) -> Result<Delivery> {
        let p = caller.require(&[Role::Customer, Role::Courier, Role::Ops])?;
        let req = pd::GetStatusRequest {
            order_id: order_id.to_owned(),
        };
        let delivery: Delivery = self
            .downstream
            .delivery
            .clone()
            .get_status(req)
            .await?
            .into_inner()
            .try_into()?;
        match p.own_customer() {
            Some(own) if own != delivery.customer_id => Err(delivery_not_found(order_id)),
            _ => Ok(delivery),
        }
    }

    /// `if_match` (the `If-Match` header) and the body's `version` must agree
    /// when both are sent.
    pub async fn update_delivery(
        &self,
        caller: &Caller,
        order_id: &str,
        update: UpdateDelivery,
        if_match: Option<u64>,
    ) -> Result<Delivery> {
        caller.require(&[Role::Courier, Role::Ops])?;
        let status = update.status.ok_or_else(|| {
            ApiError::bad_request("status is required").with_detail("field", "status")
        })?;
        let expected_version = match (if_match, update.version) {
            (Some(h), Some(b)) if h != b => {
                return Err(ApiError::bad_request(format!(
                    "If-Match ({h}) and body version ({b}) disagree"
                )));
            }
            (h, b) => h.or(b),
        };
        let req = pd::UpdateStatusRequest {
            order_id: order_id.to_owned(),
            status: pd::DeliveryStatus::from(status) as i32,
            courier: non_empty(update.courier),
            eta: update.eta.map(convert::to_timestamp),
            note: non_empty(update.note),
            expected_version,
        };
        Ok(self
            .downstream
            .delivery
            .clone()
            .update_status(req)
            .await?
            .into_inner()
            .try_into()?)
    }

    pub async fn list_deliveries(
        &self,
        caller: &Caller,
        f: DeliveryFilter,
    ) -> Result<DeliveryList> {
        let p = caller.require(&[Role::Customer, Role::Courier, Role::Ops])?;
        let req = pd::ListDeliveriesRequest {
            restaurant_id: None,
            status: f.status.map(|s| pd::DeliveryStatus::from(s) as i32),
            page: Some(page(f.limit, f.cursor)?),
            customer_id: p.own_customer().map(str::to_owned),
        };
        let res = self
            .downstream
            .delivery
            .clone()
            .list_deliveries(req)
            .await?
            .into_inner();
        Ok(DeliveryList {
            deliveries: res
                .deliveries
                .into_iter()
                .map(Delivery::try_from)
                .collect::<std::result::Result<_, _>>()?,
            next_cursor: res.next_cursor.filter(|c| !c.is_empty()),
        })
    }
}

fn order_not_found(id: &str) -> ApiError {
    ApiError::new(ErrorCode::NotFound, format!("order {id} not found")).with_detail("order_id", id)
}

fn delivery_not_found(order_id: &str) -> ApiError {
    ApiError::new(
        ErrorCode::NotFound,
        format!("no delivery for order {order_id}"),
    )
    .with_detail("order_id", order_id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_limits_default_to_the_server_and_refuse_out_of_range_values() {
        assert_eq!(page(None, None).unwrap().limit, 0);
        assert_eq!(page(Some(1000), Some("c".into())).unwrap().cursor, "c");
        assert_eq!(
            page(Some(0), None).unwrap_err().code(),
            ErrorCode::InvalidArgument
        );
        assert_eq!(
            page(Some(1001), None).unwrap_err().code(),
            ErrorCode::InvalidArgument
        );
    }
}
