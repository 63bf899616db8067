//! What the gateway does, once for REST and GraphQL alike: the access rules
//! of docs/design.md ("Gateway API") and the downstream calls. Handlers only parse
//! their transport's input and render the result.

use std::time::Duration;

use bytes::Bytes;
use food_api::{
    AcceptOrder, Courier, CourierList, CreateOrder, Delivery, DeliveryList, DeliveryStatus,
    ErrorCode, ImportResult, Item, ItemList, MAX_LIMIT, MenuImport, Order, OrderList, OrderStatus,
    PageError, PutCourier, RejectOrder, Restaurant, RestaurantList, UpdateDelivery,
    UpdateRestaurant, convert,
};
use food_kit::grpc::balance::Idempotent;
use food_proto::{common::v1::PageRequest, delivery::v1 as pd, menu::v1 as pm, order::v1 as po};

use moka::sync::Cache;
use serde::{Serialize, de::DeserializeOwned};

use crate::{
    auth::{Caller, Principal},
    downstream::Downstream,
    error::ApiError,
    settings::Role,
};

type Result<T> = std::result::Result<T, ApiError>;

/// Filters of `GET /restaurants`.
#[derive(Clone, Debug, Default)]
pub struct RestaurantFilter {
    /// Case-insensitive exact cuisine.
    pub cuisine: Option<String>,
    /// `Some(true)`: only open restaurants; otherwise all of them.
    pub open: Option<bool>,
    pub query: Option<String>,
    pub limit: Option<u32>,
    pub cursor: Option<String>,
}

/// Filters of `GET /menu/items` and `GET /restaurants/:id/menu`.
#[derive(Clone, Debug, Default)]
pub struct ItemFilter {
    /// Only this restaurant's items.
    pub restaurant: Option<String>,
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
    /// Only orders from this restaurant.
    pub restaurant_id: Option<String>,
    pub limit: Option<u32>,
    pub cursor: Option<String>,
}

/// Filters of `GET /deliveries`.
#[derive(Clone, Debug, Default)]
pub struct DeliveryFilter {
    pub status: Option<DeliveryStatus>,
    /// Only deliveries of this restaurant's orders.
    pub restaurant_id: Option<String>,
    /// Only this courier's deliveries (a courier id).
    pub courier_id: Option<String>,
    pub limit: Option<u32>,
    pub cursor: Option<String>,
}

/// The longest a kitchen rejection reason may be (as order-service).
pub const MAX_REASON_CHARS: usize = 200;

/// How many characters an order's short id has: tables, boards and
/// messages show an order id's last 8 ([`food_api::short_id`]).
pub const SHORT_ID_CHARS: usize = 8;

/// The most full ids an `ambiguous_id` error lists.
pub const MAX_CANDIDATES: usize = 10;

/// Whether an order id as typed is a short id, resolved among what the
/// caller may see. A full id is a UUID (36 characters) and anything else
/// that is not 8 characters long goes to the services as typed, so neither
/// pays for a lookup.
pub fn is_short_id(typed: &str) -> bool {
    typed.chars().count() == SHORT_ID_CHARS
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
        restaurant_id: non_empty(f.restaurant),
        category: non_empty(f.category),
        available_only: f.available.filter(|a| *a),
        query: non_empty(f.query),
        page: Some(page(f.limit, f.cursor)?),
    })
}

fn restaurants_request(f: RestaurantFilter) -> Result<pm::ListRestaurantsRequest> {
    Ok(pm::ListRestaurantsRequest {
        cuisine: non_empty(f.cuisine),
        open_only: f.open.filter(|o| *o),
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
    /// kept, and an import or a pause/resume through this gateway empties
    /// the cache at once (other replicas catch up within `menu_cache`).
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
        self.keep(key, &value)
    }

    /// [`Gateway::menu_cached`] for GraphQL, which needs the value: the
    /// same entries, so REST and GraphQL reads cost one menu-service call
    /// per cache period between them and an invalidation reaches both.
    async fn menu_value<T, F>(&self, key: String, fetch: F) -> Result<T>
    where
        T: Serialize + DeserializeOwned,
        F: std::future::Future<Output = Result<T>>,
    {
        if let Some(hit) = self.menu_json.as_ref().and_then(|c| c.get(&key)) {
            return serde_json::from_slice(&hit).map_err(|e| ApiError::Unexpected(e.into()));
        }
        let value = fetch.await?;
        self.keep(key, &value)?;
        Ok(value)
    }

    /// Stores `value`'s JSON under `key` (when caching) and returns it.
    fn keep<T: Serialize>(&self, key: String, value: &T) -> Result<Bytes> {
        let json =
            Bytes::from(serde_json::to_vec(value).map_err(|e| ApiError::Unexpected(e.into()))?);
        if let Some(cache) = &self.menu_json {
            cache.insert(key, json.clone());
        }
        Ok(json)
    }

    /// After a change through this gateway, its next reads show it.
    fn forget_menu(&self) {
        if let Some(cache) = &self.menu_json {
            cache.invalidate_all();
        }
    }

    pub fn downstream(&self) -> &Downstream {
        &self.downstream
    }

    // ---- menu: readable by anyone ----

    pub async fn list_items(&self, f: ItemFilter) -> Result<ItemList> {
        let req = list_request(f)?;
        let key = format!("list {req:?}");
        self.menu_value(key, self.fetch_items(req)).await
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

    /// Restaurants are upserted before the items, so an import may bring a
    /// new restaurant with its menu.
    pub async fn import_menu(&self, caller: &Caller, import: MenuImport) -> Result<ImportResult> {
        caller.require(&[Role::Ops])?;
        let req = pm::ImportItemsRequest {
            restaurants: import
                .restaurants
                .into_iter()
                .map(pm::Restaurant::from)
                .collect(),
            items: import.items.into_iter().map(pm::Item::from).collect(),
        };
        let res = self
            .downstream
            .menu
            .clone()
            .import_items(req)
            .await?
            .into_inner();
        self.forget_menu();
        Ok(ImportResult {
            created: res.created,
            updated: res.updated,
        })
    }

    // ---- restaurants: readable by anyone, paused and resumed by ops ----

    pub async fn list_restaurants(&self, f: RestaurantFilter) -> Result<RestaurantList> {
        let req = restaurants_request(f)?;
        let key = format!("restaurants {req:?}");
        self.menu_value(key, self.fetch_restaurants(req)).await
    }

    /// [`Gateway::list_restaurants`] as JSON, from the cache when fresh.
    pub async fn list_restaurants_json(&self, f: RestaurantFilter) -> Result<Bytes> {
        let req = restaurants_request(f)?;
        let key = format!("restaurants {req:?}");
        self.menu_cached(key, self.fetch_restaurants(req)).await
    }

    async fn fetch_restaurants(&self, req: pm::ListRestaurantsRequest) -> Result<RestaurantList> {
        let res = self
            .downstream
            .menu
            .clone()
            .list_restaurants(req)
            .await?
            .into_inner();
        Ok(RestaurantList {
            restaurants: res.restaurants.into_iter().map(Restaurant::from).collect(),
            next_cursor: res.next_cursor.filter(|c| !c.is_empty()),
        })
    }

    /// One restaurant, from the cache when fresh (GraphQL resolves every
    /// `Order.restaurant` and `Delivery.restaurant` through it).
    pub async fn restaurant(&self, id: &str) -> Result<Restaurant> {
        self.menu_value(format!("restaurant {id}"), self.fetch_restaurant(id))
            .await
    }

    /// [`Gateway::restaurant`] as JSON.
    pub async fn restaurant_json(&self, id: &str) -> Result<Bytes> {
        self.menu_cached(format!("restaurant {id}"), self.fetch_restaurant(id))
            .await
    }

    async fn fetch_restaurant(&self, id: &str) -> Result<Restaurant> {
        let req = pm::GetRestaurantRequest { id: id.to_owned() };
        Ok(self
            .downstream
            .menu
            .clone()
            .get_restaurant(req)
            .await?
            .into_inner()
            .into())
    }

    /// One restaurant's items (`f.restaurant` is replaced by `id`); an
    /// unknown restaurant is a 404, not an empty menu.
    pub async fn restaurant_menu(&self, id: &str, f: ItemFilter) -> Result<ItemList> {
        let req = list_request(ItemFilter {
            restaurant: Some(id.to_owned()),
            ..f
        })?;
        let key = format!("menu {id} {req:?}");
        self.menu_value(key, self.fetch_menu(id, req)).await
    }

    /// [`Gateway::restaurant_menu`] as JSON, from the cache when fresh.
    pub async fn restaurant_menu_json(&self, id: &str, f: ItemFilter) -> Result<Bytes> {
        let req = list_request(ItemFilter {
            restaurant: Some(id.to_owned()),
            ..f
        })?;
        let key = format!("menu {id} {req:?}");
        self.menu_cached(key, self.fetch_menu(id, req)).await
    }

    async fn fetch_menu(&self, id: &str, req: pm::ListItemsRequest) -> Result<ItemList> {
        let list = self.fetch_items(req).await?;
        // An empty page may be an unknown restaurant (menu-service may
        // answer its filter with an empty list); only then is it asked,
        // so a restaurant with dishes costs one call per cache period.
        if list.items.is_empty() {
            self.fetch_restaurant(id).await?;
        }
        Ok(list)
    }

    /// `PATCH /restaurants/:id`: `{"open": false}` pauses a kitchen (new
    /// orders are refused), `true` resumes it. Ops, or that restaurant's
    /// key (another restaurant does not exist for it).
    pub async fn update_restaurant(
        &self,
        caller: &Caller,
        id: &str,
        update: UpdateRestaurant,
    ) -> Result<Restaurant> {
        let p = caller.require(&[Role::Restaurant, Role::Ops])?;
        if p.own_restaurant().is_some_and(|own| own != id) {
            return Err(restaurant_not_found(id));
        }
        let open = update.open.ok_or_else(|| {
            ApiError::bad_request("open is required (`{\"open\": false}` pauses the kitchen)")
                .with_detail("field", "open")
        })?;
        let req = pm::SetRestaurantOpenRequest {
            id: id.to_owned(),
            open,
        };
        let restaurant: Restaurant = self
            .downstream
            .menu
            .clone()
            .set_restaurant_open(req)
            .await?
            .into_inner()
            .into();
        // Every cached read may show the restaurant (lists, its menu).
        self.forget_menu();
        Ok(restaurant)
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
        // With a key, a create whose connection broke in flight is sent
        // again to another order-service replica: the key makes it once.
        let keyed = req.idempotency_key.is_some();
        let mut req = tonic::Request::new(req);
        if keyed {
            req.extensions_mut().insert(Idempotent);
        }
        Ok(self
            .downstream
            .order
            .clone()
            .create_order(req)
            .await?
            .into_inner()
            .try_into()?)
    }

    /// A customer asking for another customer's order (or a restaurant
    /// for another restaurant's) is told it does not exist, so that order
    /// ids cannot be probed.
    pub async fn get_order(&self, caller: &Caller, id: &str) -> Result<Order> {
        let p = caller.require(&[Role::Customer, Role::Restaurant, Role::Ops])?;
        if let Some(order) = self.order_by_short_id(p, id).await? {
            return Ok(order);
        }
        let req = po::GetOrderRequest { id: id.to_owned() };
        let order: Order = self
            .downstream
            .order
            .clone()
            .get_order(req)
            .await?
            .into_inner()
            .try_into()?;
        if may_see_order(p, &order) {
            Ok(order)
        } else {
            Err(order_not_found(id))
        }
    }

    /// Customers see their own orders, a restaurant key its restaurant's
    /// (a filter naming another restaurant matches nothing), ops all.
    pub async fn list_orders(&self, caller: &Caller, f: OrderFilter) -> Result<OrderList> {
        let p = caller.require(&[Role::Customer, Role::Restaurant, Role::Ops])?;
        let customer_id = match p.own_customer() {
            Some(own) => Some(own.to_owned()),
            None => non_empty(f.customer_id),
        };
        let restaurant_id = match (p.own_restaurant(), non_empty(f.restaurant_id)) {
            (Some(own), Some(asked)) if asked != own => {
                return Ok(OrderList {
                    orders: Vec::new(),
                    next_cursor: None,
                });
            }
            (Some(own), _) => Some(own.to_owned()),
            (None, asked) => asked,
        };
        let req = po::ListOrdersRequest {
            restaurant_id,
            customer_id,
            status: f.status.map(|s| po::OrderStatus::from(s) as i32),
            page: Some(page(f.limit, f.cursor)?),
            id_suffix: None,
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
        caller.require(&[Role::Customer, Role::Ops])?;
        // Ownership is checked first so that a customer learns nothing
        // about others' orders; it also resolves a short id.
        let order = self.get_order(caller, id).await?;
        let req = po::CancelOrderRequest {
            id: order.id,
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

    // ---- the kitchen: restaurant keys (their restaurant's orders) and ops ----

    /// The restaurant scope of a kitchen call: a restaurant key's own
    /// restaurant (order-service answers NOT_FOUND for another's order).
    /// Its short ids resolve among the restaurant's orders (ops: all).
    fn kitchen<'a>(&self, caller: &'a Caller) -> Result<&'a Principal> {
        caller.require(&[Role::Restaurant, Role::Ops])
    }

    /// `POST /orders/:id/accept`: PLACED -> PREPARING, or a new `ready_by`
    /// of a PREPARING order. Exactly one of `ready_by` and `prep_minutes`.
    pub async fn accept_order(
        &self,
        caller: &Caller,
        id: &str,
        body: AcceptOrder,
    ) -> Result<Order> {
        let p = self.kitchen(caller)?;
        if body.ready_by.is_some() == body.prep_minutes.is_some() {
            return Err(ApiError::bad_request(
                "give exactly one of ready_by (RFC 3339) and prep_minutes (1..=240)",
            )
            .with_detail("field", "ready_by"));
        }
        let req = po::AcceptOrderRequest {
            id: self.resolve_order_id(p, id).await?,
            ready_by: body.ready_by.map(convert::to_timestamp),
            prep_minutes: body.prep_minutes,
            restaurant_id: p.own_restaurant().map(str::to_owned),
        };
        Ok(self
            .downstream
            .order
            .clone()
            .accept_order(req)
            .await?
            .into_inner()
            .try_into()?)
    }

    /// `POST /orders/:id/reject`: PLACED -> REJECTED with a reason.
    pub async fn reject_order(
        &self,
        caller: &Caller,
        id: &str,
        body: RejectOrder,
    ) -> Result<Order> {
        let p = self.kitchen(caller)?;
        let reason = body.reason.trim();
        if reason.is_empty() || reason.chars().count() > MAX_REASON_CHARS {
            return Err(ApiError::bad_request(format!(
                "reason is required, at most {MAX_REASON_CHARS} characters"
            ))
            .with_detail("field", "reason"));
        }
        let req = po::RejectOrderRequest {
            id: self.resolve_order_id(p, id).await?,
            reason: reason.to_owned(),
            restaurant_id: p.own_restaurant().map(str::to_owned),
        };
        Ok(self
            .downstream
            .order
            .clone()
            .reject_order(req)
            .await?
            .into_inner()
            .try_into()?)
    }

    /// `POST /orders/:id/ready`: PREPARING -> READY_FOR_PICKUP.
    pub async fn mark_ready(&self, caller: &Caller, id: &str) -> Result<Order> {
        let p = self.kitchen(caller)?;
        let req = po::MarkReadyRequest {
            id: self.resolve_order_id(p, id).await?,
            restaurant_id: p.own_restaurant().map(str::to_owned),
        };
        Ok(self
            .downstream
            .order
            .clone()
            .mark_ready(req)
            .await?
            .into_inner()
            .try_into()?)
    }

    // ---- couriers: ops; a courier key its own shift ----

    /// `GET /couriers`: ops only.
    pub async fn list_couriers(
        &self,
        caller: &Caller,
        on_shift: Option<bool>,
    ) -> Result<CourierList> {
        caller.require(&[Role::Ops])?;
        let res = self
            .downstream
            .delivery
            .clone()
            .list_couriers(pd::ListCouriersRequest { on_shift })
            .await?
            .into_inner();
        Ok(CourierList {
            couriers: res.couriers.into_iter().map(Courier::from).collect(),
            next_cursor: None,
        })
    }

    /// `PUT /couriers/:id/shift`: the courier itself or ops; another
    /// courier's shift is refused (403: couriers know each other's ids).
    pub async fn set_courier_shift(
        &self,
        caller: &Caller,
        courier_id: &str,
        on_shift: bool,
    ) -> Result<Courier> {
        let p = caller.require(&[Role::Courier, Role::Ops])?;
        if p.own_courier().is_some_and(|own| own != courier_id) {
            return Err(ApiError::forbidden("a courier key sets only its own shift"));
        }
        let req = pd::SetCourierShiftRequest {
            courier_id: courier_id.to_owned(),
            on_shift,
        };
        Ok(self
            .downstream
            .delivery
            .clone()
            .set_courier_shift(req)
            .await?
            .into_inner()
            .into())
    }

    /// `PUT /couriers/:id`: ops create or rename a courier.
    pub async fn put_courier(
        &self,
        caller: &Caller,
        courier_id: &str,
        body: PutCourier,
    ) -> Result<Courier> {
        caller.require(&[Role::Ops])?;
        let name = body.name.trim();
        if name.is_empty() {
            return Err(ApiError::bad_request("name is required").with_detail("field", "name"));
        }
        let req = pd::PutCourierRequest {
            courier_id: courier_id.to_owned(),
            name: name.to_owned(),
        };
        Ok(self
            .downstream
            .delivery
            .clone()
            .put_courier(req)
            .await?
            .into_inner()
            .into())
    }

    // ---- deliveries: couriers and ops; customers and restaurants read theirs ----

    /// Customers read their own orders' deliveries, a restaurant key its
    /// restaurant's, a courier its own and the unassigned ones; anything
    /// else does not exist for them.
    pub async fn get_delivery(&self, caller: &Caller, order_id: &str) -> Result<Delivery> {
        let p = caller.require(&[Role::Customer, Role::Restaurant, Role::Courier, Role::Ops])?;
        if let Some(delivery) = self.delivery_by_short_id(p, order_id).await? {
            return Ok(delivery);
        }
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
        if may_see_delivery(p, &delivery) {
            Ok(delivery)
        } else {
            Err(delivery_not_found(order_id))
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
        let p = caller.require(&[Role::Courier, Role::Ops])?;
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
        let order_id = match self.delivery_by_short_id(p, order_id).await? {
            Some(delivery) => delivery.order_id,
            None => order_id.to_owned(),
        };
        let as_courier = p.own_courier().map(str::to_owned);
        let mut courier = non_empty(update.courier);
        // A courier's `{"status": "ASSIGNED"}` claims the delivery for itself.
        if status == DeliveryStatus::Assigned && courier.is_none() {
            courier.clone_from(&as_courier);
        }
        let req = pd::UpdateStatusRequest {
            order_id,
            status: pd::DeliveryStatus::from(status) as i32,
            courier,
            eta: update.eta.map(convert::to_timestamp),
            note: non_empty(update.note),
            expected_version,
            as_courier,
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
        let p = caller.require(&[Role::Customer, Role::Restaurant, Role::Courier, Role::Ops])?;
        let restaurant_id = match (p.own_restaurant(), non_empty(f.restaurant_id)) {
            (Some(own), Some(asked)) if asked != own => {
                return Ok(DeliveryList {
                    deliveries: Vec::new(),
                    next_cursor: None,
                });
            }
            (Some(own), _) => Some(own.to_owned()),
            (None, asked) => asked,
        };
        let req = pd::ListDeliveriesRequest {
            restaurant_id,
            status: f.status.map(|s| pd::DeliveryStatus::from(s) as i32),
            page: Some(page(f.limit, f.cursor)?),
            customer_id: p.own_customer().map(str::to_owned),
            courier_id: non_empty(f.courier_id),
            visible_to_courier: p.own_courier().map(str::to_owned),
            order_id_suffix: None,
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

impl Gateway {
    // ---- ids a person types (docs/design.md, "Ids a person types") ----

    /// The one order `p` may see whose id ends with `typed`, when `typed`
    /// is a short id ([`is_short_id`]); `None` for any other id, which the
    /// caller uses as typed. Resolved by order-service's short-id index
    /// among `p`'s orders only (a customer's own, a restaurant key's
    /// restaurant's, ops all), so none is the same 404 as an unknown id
    /// (a customer never learns that another customer's order ends so),
    /// and several are a 409 `ambiguous_id` listing their full ids.
    async fn order_by_short_id(&self, p: &Principal, typed: &str) -> Result<Option<Order>> {
        if !is_short_id(typed) {
            return Ok(None);
        }
        let req = po::ListOrdersRequest {
            customer_id: p.own_customer().map(str::to_owned),
            restaurant_id: p.own_restaurant().map(str::to_owned),
            status: None,
            page: Some(candidates_page()),
            id_suffix: Some(typed.to_owned()),
        };
        let mut orders = self
            .downstream
            .order
            .clone()
            .list_orders(req)
            .await?
            .into_inner()
            .orders;
        let ids = orders.iter().map(|o| o.id.clone()).collect();
        one_match(
            orders.pop(),
            ids,
            || order_not_found(typed),
            "orders",
            typed,
        )
        .and_then(|o| Ok(Some(o.try_into()?)))
    }

    /// `typed` as a full order id: resolved among the orders `p` may see
    /// when it is a short id ([`Gateway::order_by_short_id`]), else as typed.
    async fn resolve_order_id(&self, p: &Principal, typed: &str) -> Result<String> {
        Ok(match self.order_by_short_id(p, typed).await? {
            Some(order) => order.id,
            None => typed.to_owned(),
        })
    }

    /// [`Gateway::order_by_short_id`] for deliveries, resolved by
    /// delivery-service among the deliveries `p` may see: a customer its
    /// orders', a restaurant key its restaurant's, a courier its own and
    /// the unassigned ones, ops all.
    async fn delivery_by_short_id(&self, p: &Principal, typed: &str) -> Result<Option<Delivery>> {
        if !is_short_id(typed) {
            return Ok(None);
        }
        let req = pd::ListDeliveriesRequest {
            status: None,
            page: Some(candidates_page()),
            customer_id: p.own_customer().map(str::to_owned),
            restaurant_id: p.own_restaurant().map(str::to_owned),
            courier_id: None,
            visible_to_courier: p.own_courier().map(str::to_owned),
            order_id_suffix: Some(typed.to_owned()),
        };
        let mut deliveries = self
            .downstream
            .delivery
            .clone()
            .list_deliveries(req)
            .await?
            .into_inner()
            .deliveries;
        let ids = deliveries.iter().map(|d| d.order_id.clone()).collect();
        one_match(
            deliveries.pop(),
            ids,
            || delivery_not_found(typed),
            "deliveries",
            typed,
        )
        .and_then(|d| Ok(Some(d.try_into()?)))
    }
}

/// The one match of a short id (`last`, with `ids` those of every match):
/// none is `not_found()`, several are [`ambiguous_id`].
fn one_match<T>(
    last: Option<T>,
    ids: Vec<String>,
    not_found: impl FnOnce() -> ApiError,
    what: &str,
    typed: &str,
) -> Result<T> {
    match (last, ids.len()) {
        (Some(one), 1) => Ok(one),
        (None, _) => Err(not_found()),
        _ => Err(ambiguous_id(what, typed, ids)),
    }
}

/// One more than [`MAX_CANDIDATES`]: enough to tell "these" from "these
/// and more".
fn candidates_page() -> PageRequest {
    PageRequest {
        limit: MAX_CANDIDATES as u32 + 1,
        cursor: String::new(),
    }
}

/// A short id matching several of what the caller may see: 409
/// `ambiguous_id`, `details.candidates` their full ids (sorted, at most
/// [`MAX_CANDIDATES`]; `details.more` when there are more).
fn ambiguous_id(what: &str, typed: &str, mut ids: Vec<String>) -> ApiError {
    let more = ids.len() > MAX_CANDIDATES;
    ids.truncate(MAX_CANDIDATES);
    ids.sort();
    let count = if more {
        format!("more than {MAX_CANDIDATES}")
    } else {
        ids.len().to_string()
    };
    ApiError::new(
        ErrorCode::AmbiguousId,
        format!(
            "`{typed}` is the short id of {count} {what}: {}; use the full id",
            ids.join(", ")
        ),
    )
    .with_detail("id", typed)
    .with_detail("candidates", ids)
    .with_detail("more", more)
}

/// Whether `p` may see `order` (customers their own, a restaurant key its
/// restaurant's, ops all; couriers are refused before this).
pub fn may_see_order(p: &Principal, order: &Order) -> bool {
    if let Some(own) = p.own_customer() {
        return own == order.customer_id;
    }
    if let Some(own) = p.own_restaurant() {
        return order.restaurant_id.as_deref() == Some(own);
    }
    true
}

/// Whether `p` may see `delivery`: customers their own orders', a
/// restaurant key its restaurant's, a courier its own and unassigned ones.
pub fn may_see_delivery(p: &Principal, delivery: &Delivery) -> bool {
    if let Some(own) = p.own_customer() {
        return own == delivery.customer_id;
    }
    if let Some(own) = p.own_restaurant() {
        return delivery.restaurant_id.as_deref() == Some(own);
    }
    if let Some(own) = p.own_courier() {
        return delivery.courier.as_deref().is_none_or(|c| c == own);
    }
    true
}

/// What an unknown restaurant answers (menu-service's words), also for
/// another restaurant's id under a restaurant key.
fn restaurant_not_found(id: &str) -> ApiError {
    ApiError::new(ErrorCode::NotFound, format!("no restaurant with id {id:?}"))
        .with_detail("id", id)
}

fn order_not_found(id: &str) -> ApiError {
    // order-service's words, so that "not yours" reads as "no such order".
    ApiError::new(ErrorCode::NotFound, format!("no order `{id}`")).with_detail("order_id", id)
}

fn delivery_not_found(order_id: &str) -> ApiError {
    ApiError::new(
        ErrorCode::NotFound,
        format!("no delivery for order `{order_id}`"),
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

    #[test]
    fn only_eight_characters_make_a_short_id() {
        assert!(is_short_id("e920546f"));
        assert!(!is_short_id("0190f3b2-7c1e-7d2a-9f00-1234e920546f"));
        assert!(!is_short_id("e92054"));
        assert!(!is_short_id(""));
    }

    #[test]
    fn an_ambiguous_short_id_lists_its_candidates_sorted() {
        let ids = vec!["b-e920546f".to_owned(), "a-e920546f".to_owned()];

        let e = ambiguous_id("orders", "e920546f", ids);

        assert_eq!(e.code(), ErrorCode::AmbiguousId);
        assert_eq!(e.http_status(), 409);
        let body = e.body().error;
        assert_eq!(
            body.details["candidates"],
            serde_json::json!(["a-e920546f", "b-e920546f"])
        );
        assert_eq!(body.details["more"], false);
        assert_eq!(
            body.message,
            "`e920546f` is the short id of 2 orders: a-e920546f, b-e920546f; use the full id"
        );
    }

    #[test]
    fn an_ambiguous_short_id_lists_at_most_ten_and_says_there_are_more() {
        let ids: Vec<String> = (0..=MAX_CANDIDATES)
            .rev()
            .map(|i| format!("{i:02}-e920546f"))
            .collect();

        let body = ambiguous_id("orders", "e920546f", ids).body().error;

        let listed = body.details["candidates"].as_array().unwrap();
        assert_eq!(listed.len(), MAX_CANDIDATES);
        // The newest ten (the service lists newest first), sorted.
        assert_eq!(listed[0], "01-e920546f");
        assert_eq!(body.details["more"], true);
        assert!(
            body.message.contains("more than 10 orders"),
            "{}",
            body.message
        );
    }

    /// The short-id rules of docs/design.md 7, for any set of matches.
    mod props {
        use proptest::prelude::*;

        use super::*;

        proptest! {
            /// "every order id that a table, a board or a message shows in
            /// short form (the last 8 characters) is accepted back": the
            /// short form of any order id is a short id, a full one is not.
            #[test]
            fn the_short_form_of_any_order_id_is_taken_as_a_short_id(n in any::<u128>()) {
                let id = uuid::Uuid::from_u128(n).to_string();
                prop_assert!(is_short_id(food_api::short_id(&id)));
                prop_assert!(!is_short_id(&id));
            }

            /// "none gives 404, more than one gives 409 `ambiguous_id` with
            /// the matching full ids in `details`" (at most ten, sorted,
            /// `more` when there are others).
            #[test]
            fn a_short_id_resolves_to_its_one_match_or_a_clear_refusal(
                heads in proptest::collection::btree_set("[0-9a-f]{4}", 0..15)
            ) {
                let typed = "e920546f";
                let ids: Vec<String> = heads.iter().map(|h| format!("{h}-{typed}")).collect();
                let last = ids.last().cloned();
                let resolved = one_match(last.clone(), ids.clone(), || order_not_found(typed), "orders", typed);
                match ids.len() {
                    0 => prop_assert_eq!(resolved.unwrap_err().http_status(), 404),
                    1 => prop_assert_eq!(resolved.unwrap(), last.unwrap()),
                    n => {
                        let e = resolved.unwrap_err();
                        prop_assert_eq!((e.code(), e.http_status().as_u16()), (ErrorCode::AmbiguousId, 409));
                        let details = e.body().error.details;
                        let listed: Vec<String> = serde_json::from_value(details["candidates"].clone()).unwrap();
                        prop_assert_eq!(listed.len(), n.min(MAX_CANDIDATES));
                        prop_assert!(listed.is_sorted());
                        prop_assert!(listed.iter().all(|id| ids.contains(id)));
                        prop_assert_eq!(&details["more"], &serde_json::json!(n > MAX_CANDIDATES));
                    }
                }
            }
        }
    }
}
