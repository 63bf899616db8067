//! GraphQL views of the `food-api` shapes: the same fields camelCased, ids
//! as `ID`, statuses as enums with the same upper-case names. The wrappers
//! hold the `food-api` value itself, so the shapes are defined once.

use async_graphql::{
    ComplexObject, Context, Enum, ID, InputObject, Object, Result, SimpleObject,
    dataloader::DataLoader,
};
use chrono::{DateTime, Utc};

use super::{ItemLoader, RestaurantLoader, caller, gateway, optional};
use crate::{error::ApiError, service::ItemFilter};

/// The restaurant `id` names, through the query's [`RestaurantLoader`];
/// null when there is none (orders from before restaurants) or it is unknown.
async fn restaurant_of(ctx: &Context<'_>, id: Option<&str>) -> Result<Option<Restaurant>> {
    let Some(id) = id.filter(|id| !id.is_empty()) else {
        return Ok(None);
    };
    let loader = ctx.data_unchecked::<DataLoader<RestaurantLoader>>();
    Ok(loader.load_one(id.to_owned()).await?.map(Restaurant))
}

#[derive(Enum, Copy, Clone, Debug, Eq, PartialEq)]
#[graphql(remote = "food_api::DeliveryStatus", name = "DeliveryStatus")]
pub enum DeliveryStatus {
    Pending,
    Assigned,
    PickedUp,
    InTransit,
    Delivered,
    Cancelled,
    Failed,
}

#[derive(Enum, Copy, Clone, Debug, Eq, PartialEq)]
#[graphql(remote = "food_api::OrderStatus", name = "OrderStatus")]
pub enum OrderStatus {
    Placed,
    Preparing,
    ReadyForPickup,
    OutForDelivery,
    Delivered,
    Rejected,
    Cancelled,
    Failed,
}

/// A kitchen customers order from.
pub struct Restaurant(pub food_api::Restaurant);

#[Object(name = "Restaurant")]
impl Restaurant {
    /// A readable slug (`trattoria-da-luca`).
    async fn id(&self) -> ID {
        ID(self.0.id.clone())
    }
    async fn name(&self) -> &str {
        &self.0.name
    }
    async fn cuisine(&self) -> &str {
        &self.0.cuisine
    }
    /// Where couriers pick orders up.
    async fn address(&self) -> &str {
        &self.0.address
    }
    /// A paused restaurant (false) refuses new orders.
    async fn open(&self) -> bool {
        self.0.open
    }
    async fn tags(&self) -> Vec<String> {
        self.0.tags.clone()
    }
    /// The kitchen accepts each order at once (ready by now + its longest
    /// prep time); false: someone accepts or rejects each order by hand.
    async fn auto_accept(&self) -> bool {
        self.0.auto_accept
    }
    /// Seconds a kitchen that accepts by hand has to answer before the
    /// order is rejected with reason `timeout`.
    async fn acceptance_timeout_s(&self) -> u32 {
        self.0.acceptance_timeout_s
    }
    /// This restaurant's items (as `menuItems(restaurantId: ...)`).
    async fn menu(
        &self,
        ctx: &Context<'_>,
        category: Option<String>,
        available: Option<bool>,
        search: Option<String>,
        limit: Option<u32>,
    ) -> Result<Vec<Item>> {
        let filter = ItemFilter {
            restaurant: None,
            category,
            available,
            query: search,
            limit,
            cursor: None,
        };
        let list = gateway(ctx)
            .restaurant_menu(&self.0.id, filter)
            .await
            .map_err(ApiError::into_graphql)?;
        Ok(list.items.into_iter().map(Item).collect())
    }
}

/// A page of restaurants.
#[derive(SimpleObject)]
#[graphql(complex)]
pub struct RestaurantPage {
    #[graphql(skip)]
    pub list: food_api::RestaurantList,
    /// Pass as `cursor` for the next page; null on the last page.
    pub next_cursor: Option<String>,
}

#[ComplexObject]
impl RestaurantPage {
    async fn restaurants(&self) -> Vec<Restaurant> {
        self.list
            .restaurants
            .iter()
            .cloned()
            .map(Restaurant)
            .collect()
    }
}

/// A menu item.
pub struct Item(pub food_api::Item);

#[Object(name = "Item")]
impl Item {
    async fn id(&self) -> ID {
        ID(self.0.id.clone())
    }
    async fn restaurant_id(&self) -> ID {
        ID(self.0.restaurant_id.clone())
    }
    /// The item's restaurant; null if it is unknown.
    async fn restaurant(&self, ctx: &Context<'_>) -> Result<Option<Restaurant>> {
        restaurant_of(ctx, Some(&self.0.restaurant_id)).await
    }
    async fn name(&self) -> &str {
        &self.0.name
    }
    async fn description(&self) -> &str {
        &self.0.description
    }
    async fn category(&self) -> &str {
        &self.0.category
    }
    /// Integer cents.
    async fn price_cents(&self) -> i64 {
        self.0.price_cents
    }
    async fn currency(&self) -> &str {
        &self.0.currency
    }
    async fn available(&self) -> bool {
        self.0.available
    }
    async fn prep_minutes(&self) -> u32 {
        self.0.prep_minutes
    }
    async fn tags(&self) -> Vec<String> {
        self.0.tags.clone()
    }
}

/// One line of an order, priced by the order service.
pub struct OrderLine(pub food_api::OrderLine);

#[Object(name = "OrderLine")]
impl OrderLine {
    async fn item_id(&self) -> ID {
        ID(self.0.item_id.clone())
    }
    async fn name(&self) -> &str {
        &self.0.name
    }
    async fn quantity(&self) -> u32 {
        self.0.quantity
    }
    async fn unit_price_cents(&self) -> i64 {
        self.0.unit_price_cents
    }
    async fn line_total_cents(&self) -> i64 {
        self.0.line_total_cents
    }
    /// The menu item as it is now (batched across the whole query); null
    /// when it has since been removed from the menu.
    async fn item(&self, ctx: &Context<'_>) -> Result<Option<Item>> {
        let loader = ctx.data_unchecked::<DataLoader<ItemLoader>>();
        Ok(loader.load_one(self.0.item_id.clone()).await?.map(Item))
    }
}

pub struct Order(pub food_api::Order);

#[Object(name = "Order")]
impl Order {
    async fn id(&self) -> ID {
        ID(self.0.id.clone())
    }
    async fn customer_id(&self) -> ID {
        ID(self.0.customer_id.clone())
    }
    /// Null only on orders placed before restaurants existed.
    async fn restaurant_id(&self) -> Option<ID> {
        self.0.restaurant_id.clone().map(ID)
    }
    /// The restaurant's name when the order was placed.
    async fn restaurant_name(&self) -> Option<&str> {
        self.0.restaurant_name.as_deref()
    }
    /// Where the courier picks the order up.
    async fn pickup_address(&self) -> Option<&str> {
        self.0.pickup_address.as_deref()
    }
    /// The restaurant as it is now; null when the order has none or it is unknown.
    async fn restaurant(&self, ctx: &Context<'_>) -> Result<Option<Restaurant>> {
        restaurant_of(ctx, self.0.restaurant_id.as_deref()).await
    }
    async fn status(&self) -> OrderStatus {
        self.0.status.into()
    }
    /// When the kitchen expects the food ready; set when it accepts.
    async fn ready_by(&self) -> Option<DateTime<Utc>> {
        self.0.ready_by
    }
    /// Why the kitchen refused the order (`timeout` when nobody answered in time).
    async fn rejection_reason(&self) -> Option<&str> {
        self.0.rejection_reason.as_deref()
    }
    async fn items(&self) -> Vec<OrderLine> {
        self.0.items.iter().cloned().map(OrderLine).collect()
    }
    async fn total_cents(&self) -> i64 {
        self.0.total_cents
    }
    async fn currency(&self) -> &str {
        &self.0.currency
    }
    async fn delivery_address(&self) -> &str {
        &self.0.delivery_address
    }
    async fn note(&self) -> Option<&str> {
        self.0.note.as_deref()
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }
    /// The order's delivery, once the delivery service has created it.
    async fn delivery(&self, ctx: &Context<'_>) -> Result<Option<Delivery>> {
        let found = gateway(ctx).get_delivery(&caller(ctx), &self.0.id).await;
        Ok(optional(found)?.map(Delivery))
    }
}

#[derive(SimpleObject)]
#[graphql(name = "HistoryEntry")]
pub struct HistoryEntry {
    pub status: DeliveryStatus,
    pub at: DateTime<Utc>,
    pub note: Option<String>,
    pub courier: Option<String>,
}

pub struct Delivery(pub food_api::Delivery);

#[Object(name = "Delivery")]
impl Delivery {
    async fn order_id(&self) -> ID {
        ID(self.0.order_id.clone())
    }
    async fn customer_id(&self) -> ID {
        ID(self.0.customer_id.clone())
    }
    /// Null only on deliveries made before restaurants existed.
    async fn restaurant_id(&self) -> Option<ID> {
        self.0.restaurant_id.clone().map(ID)
    }
    async fn restaurant_name(&self) -> Option<&str> {
        self.0.restaurant_name.as_deref()
    }
    /// The restaurant's address: the courier's pick-up point.
    async fn pickup_address(&self) -> Option<&str> {
        self.0.pickup_address.as_deref()
    }
    /// The restaurant as it is now; null when the delivery has none or it is unknown.
    async fn restaurant(&self, ctx: &Context<'_>) -> Result<Option<Restaurant>> {
        restaurant_of(ctx, self.0.restaurant_id.as_deref()).await
    }
    async fn item_count(&self) -> u32 {
        self.0.item_count
    }
    async fn total_cents(&self) -> i64 {
        self.0.total_cents
    }
    async fn currency(&self) -> &str {
        &self.0.currency
    }
    async fn delivery_address(&self) -> &str {
        &self.0.delivery_address
    }
    async fn status(&self) -> DeliveryStatus {
        self.0.status.into()
    }
    /// The courier's id.
    async fn courier(&self) -> Option<&str> {
        self.0.courier.as_deref()
    }
    /// The courier's name.
    async fn courier_name(&self) -> Option<&str> {
        self.0.courier_name.as_deref()
    }
    async fn eta(&self) -> Option<DateTime<Utc>> {
        self.0.eta
    }
    /// Bumped by every change; pass it back as `version` to update safely.
    async fn version(&self) -> u64 {
        self.0.version
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }
    async fn history(&self) -> Vec<HistoryEntry> {
        self.0
            .history
            .iter()
            .map(|h| HistoryEntry {
                status: h.status.into(),
                at: h.at,
                note: h.note.clone(),
                courier: h.courier.clone(),
            })
            .collect()
    }
}

/// A courier, with its shift and load.
pub struct Courier(pub food_api::Courier);

#[Object(name = "Courier")]
impl Courier {
    /// `courier-1`.
    async fn id(&self) -> ID {
        ID(self.0.id.clone())
    }
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// Only couriers on shift are dispatched new deliveries.
    async fn on_shift(&self) -> bool {
        self.0.on_shift
    }
    /// Its ASSIGNED, PICKED_UP and IN_TRANSIT deliveries.
    async fn active_deliveries(&self) -> u32 {
        self.0.active_deliveries
    }
}

/// A page of orders.
#[derive(SimpleObject)]
#[graphql(complex)]
pub struct OrderPage {
    #[graphql(skip)]
    pub list: food_api::OrderList,
    /// Pass as `cursor` for the next page; null on the last page.
    pub next_cursor: Option<String>,
}

#[ComplexObject]
impl OrderPage {
    async fn orders(&self) -> Vec<Order> {
        self.list.orders.iter().cloned().map(Order).collect()
    }
}

/// A page of deliveries.
#[derive(SimpleObject)]
#[graphql(complex)]
pub struct DeliveryPage {
    #[graphql(skip)]
    pub list: food_api::DeliveryList,
    pub next_cursor: Option<String>,
}

#[ComplexObject]
impl DeliveryPage {
    async fn deliveries(&self) -> Vec<Delivery> {
        self.list.deliveries.iter().cloned().map(Delivery).collect()
    }
}

#[derive(InputObject)]
pub struct OrderItemInput {
    pub item_id: ID,
    /// 1..=50.
    pub quantity: u32,
}

#[derive(InputObject)]
pub struct CreateOrderInput {
    pub items: Vec<OrderItemInput>,
    pub delivery_address: String,
    pub note: Option<String>,
    /// Ops only: the customer ordered for.
    pub customer_id: Option<ID>,
    /// Retries with the same key return the first order.
    pub idempotency_key: Option<String>,
}

impl From<CreateOrderInput> for food_api::CreateOrder {
    fn from(i: CreateOrderInput) -> Self {
        Self {
            items: i
                .items
                .into_iter()
                .map(|l| food_api::OrderItemInput {
                    item_id: l.item_id.0,
                    quantity: l.quantity,
                })
                .collect(),
            delivery_address: i.delivery_address,
            note: i.note,
            customer_id: i.customer_id.map(|c| c.0),
            idempotency_key: i.idempotency_key,
        }
    }
}
