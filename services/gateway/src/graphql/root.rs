//! The query, mutation and subscription roots.

use std::sync::Arc;

use async_graphql::{Context, ID, Object, Result, Subscription};
use chrono::{DateTime, Utc};
use food_api::{AcceptOrder, RejectOrder, UpdateDelivery, UpdateRestaurant};
use food_kit::Shutdown;
use futures::{Stream, StreamExt};

use super::{
    caller, gateway, optional,
    types::{
        Courier, CreateOrderInput, Delivery, DeliveryPage, DeliveryStatus, Item, Order, OrderPage,
        OrderStatus, Restaurant, RestaurantPage,
    },
};
use crate::{
    error::ApiError,
    live::{self, Hub},
    order_feed::{self, OrderHub},
    service::{DeliveryFilter, ItemFilter, OrderFilter, RestaurantFilter},
};

fn gql(e: ApiError) -> async_graphql::Error {
    e.into_graphql()
}

pub struct QueryRoot;

#[Object(name = "Query")]
impl QueryRoot {
    /// Restaurants by name; open to anyone. `open: true` keeps those taking
    /// orders now; `search` matches name, cuisine, address and tags.
    async fn restaurants(
        &self,
        ctx: &Context<'_>,
        cuisine: Option<String>,
        open: Option<bool>,
        search: Option<String>,
        limit: Option<u32>,
        cursor: Option<String>,
    ) -> Result<RestaurantPage> {
        let filter = RestaurantFilter {
            cuisine,
            open,
            query: search,
            limit,
            cursor,
        };
        let list = gateway(ctx).list_restaurants(filter).await.map_err(gql)?;
        Ok(RestaurantPage {
            next_cursor: list.next_cursor.clone(),
            list,
        })
    }

    /// Null when there is no such restaurant.
    async fn restaurant(&self, ctx: &Context<'_>, id: ID) -> Result<Option<Restaurant>> {
        Ok(optional(gateway(ctx).restaurant(&id).await)?.map(Restaurant))
    }

    /// Menu items; open to anyone. `restaurantId` keeps one restaurant's;
    /// `search` matches name, description and tags; `limit` is at most
    /// 1000 (default 50).
    async fn menu_items(
        &self,
        ctx: &Context<'_>,
        restaurant_id: Option<ID>,
        category: Option<String>,
        available: Option<bool>,
        search: Option<String>,
        limit: Option<u32>,
    ) -> Result<Vec<Item>> {
        let filter = ItemFilter {
            restaurant: restaurant_id.map(|r| r.0),
            category,
            available,
            query: search,
            limit,
            cursor: None,
        };
        let list = gateway(ctx).list_items(filter).await.map_err(gql)?;
        Ok(list.items.into_iter().map(Item).collect())
    }

    async fn menu_item(&self, ctx: &Context<'_>, id: ID) -> Result<Option<Item>> {
        Ok(optional(gateway(ctx).get_item(&id).await)?.map(Item))
    }

    /// Null when the order does not exist or is another customer's. `id`:
    /// the full id or the short one (its last 8 characters).
    async fn order(&self, ctx: &Context<'_>, id: ID) -> Result<Option<Order>> {
        Ok(optional(gateway(ctx).get_order(&caller(ctx), &id).await)?.map(Order))
    }

    /// Customers see their own orders, a restaurant key its restaurant's;
    /// ops all (or one customer's); `restaurantId` keeps one restaurant's.
    #[allow(clippy::too_many_arguments)]
    async fn orders(
        &self,
        ctx: &Context<'_>,
        status: Option<OrderStatus>,
        customer_id: Option<ID>,
        restaurant_id: Option<ID>,
        limit: Option<u32>,
        cursor: Option<String>,
    ) -> Result<OrderPage> {
        let filter = OrderFilter {
            status: status.map(Into::into),
            customer_id: customer_id.map(|c| c.0),
            restaurant_id: restaurant_id.map(|r| r.0),
            limit,
            cursor,
        };
        let list = gateway(ctx)
            .list_orders(&caller(ctx), filter)
            .await
            .map_err(gql)?;
        Ok(OrderPage {
            next_cursor: list.next_cursor.clone(),
            list,
        })
    }

    /// `orderId`: the full id or the short one (its last 8 characters).
    async fn delivery_status(&self, ctx: &Context<'_>, order_id: ID) -> Result<Option<Delivery>> {
        let found = gateway(ctx).get_delivery(&caller(ctx), &order_id).await;
        Ok(optional(found)?.map(Delivery))
    }

    /// Deliveries for boards; customers see their own, a restaurant key
    /// its restaurant's, a courier its own and the unassigned ones;
    /// `restaurantId` keeps one restaurant's, `courierId` one courier's.
    #[allow(clippy::too_many_arguments)]
    async fn deliveries(
        &self,
        ctx: &Context<'_>,
        status: Option<DeliveryStatus>,
        restaurant_id: Option<ID>,
        courier_id: Option<ID>,
        limit: Option<u32>,
        cursor: Option<String>,
    ) -> Result<DeliveryPage> {
        let filter = DeliveryFilter {
            status: status.map(Into::into),
            restaurant_id: restaurant_id.map(|r| r.0),
            courier_id: courier_id.map(|c| c.0),
            limit,
            cursor,
        };
        let list = gateway(ctx)
            .list_deliveries(&caller(ctx), filter)
            .await
            .map_err(gql)?;
        Ok(DeliveryPage {
            next_cursor: list.next_cursor.clone(),
            list,
        })
    }

    /// Ops: the couriers by id, with shift and load; `onShift` keeps those
    /// on (true) or off (false) shift.
    async fn couriers(&self, ctx: &Context<'_>, on_shift: Option<bool>) -> Result<Vec<Courier>> {
        let list = gateway(ctx)
            .list_couriers(&caller(ctx), on_shift)
            .await
            .map_err(gql)?;
        Ok(list.couriers.into_iter().map(Courier).collect())
    }
}

pub struct MutationRoot;

#[Object(name = "Mutation")]
impl MutationRoot {
    /// Ops: `open: false` pauses a kitchen (new orders are refused with
    /// `restaurant_closed`), `true` resumes it. Returns the restaurant.
    async fn set_restaurant_open(
        &self,
        ctx: &Context<'_>,
        restaurant_id: ID,
        open: bool,
    ) -> Result<Restaurant> {
        let update = UpdateRestaurant { open: Some(open) };
        let restaurant = gateway(ctx)
            .update_restaurant(&caller(ctx), &restaurant_id, update)
            .await
            .map_err(gql)?;
        Ok(Restaurant(restaurant))
    }

    /// The kitchen (its restaurant's key, or ops): PLACED -> PREPARING with
    /// exactly one of `readyBy` and `prepMinutes` (1..=240); on a PREPARING
    /// order, a new ready-by time. Returns the order. `orderId`: the full
    /// id or the short one (its last 8 characters).
    async fn accept_order(
        &self,
        ctx: &Context<'_>,
        order_id: ID,
        ready_by: Option<DateTime<Utc>>,
        prep_minutes: Option<u32>,
    ) -> Result<Order> {
        let body = AcceptOrder {
            ready_by,
            prep_minutes,
        };
        let order = gateway(ctx)
            .accept_order(&caller(ctx), &order_id, body)
            .await
            .map_err(gql)?;
        Ok(Order(order))
    }

    /// The kitchen: PLACED -> REJECTED; its delivery is cancelled with the
    /// note `rejected: <reason>`. `orderId`: the full id or the short one (its last 8 characters).
    async fn reject_order(&self, ctx: &Context<'_>, order_id: ID, reason: String) -> Result<Order> {
        let order = gateway(ctx)
            .reject_order(&caller(ctx), &order_id, RejectOrder { reason })
            .await
            .map_err(gql)?;
        Ok(Order(order))
    }

    /// The kitchen: PREPARING -> READY_FOR_PICKUP. `orderId`: the full id
    /// or the short one (its last 8 characters).
    async fn mark_order_ready(&self, ctx: &Context<'_>, order_id: ID) -> Result<Order> {
        let order = gateway(ctx)
            .mark_ready(&caller(ctx), &order_id)
            .await
            .map_err(gql)?;
        Ok(Order(order))
    }

    /// The courier itself or ops. A courier coming on shift may be
    /// dispatched waiting deliveries at once.
    async fn set_courier_shift(
        &self,
        ctx: &Context<'_>,
        courier_id: ID,
        on_shift: bool,
    ) -> Result<Courier> {
        let courier = gateway(ctx)
            .set_courier_shift(&caller(ctx), &courier_id, on_shift)
            .await
            .map_err(gql)?;
        Ok(Courier(courier))
    }

    async fn create_order(&self, ctx: &Context<'_>, input: CreateOrderInput) -> Result<Order> {
        let order = gateway(ctx)
            .create_order(&caller(ctx), input.into(), None)
            .await
            .map_err(gql)?;
        Ok(Order(order))
    }

    /// Only before pick-up. `orderId`: the full id or the short one (its last 8 characters).
    async fn cancel_order(
        &self,
        ctx: &Context<'_>,
        order_id: ID,
        reason: Option<String>,
    ) -> Result<Order> {
        let order = gateway(ctx)
            .cancel_order(&caller(ctx), &order_id, reason)
            .await
            .map_err(gql)?;
        Ok(Order(order))
    }

    /// Couriers and ops. `version` makes the update conditional on the
    /// current version (error code `version_conflict` otherwise). `orderId`:
    /// the full id or the short one (its last 8 characters).
    #[allow(clippy::too_many_arguments)]
    async fn update_delivery_status(
        &self,
        ctx: &Context<'_>,
        order_id: ID,
        status: DeliveryStatus,
        courier: Option<String>,
        eta: Option<DateTime<Utc>>,
        note: Option<String>,
        version: Option<u64>,
    ) -> Result<Delivery> {
        let update = UpdateDelivery {
            status: Some(status.into()),
            courier,
            eta,
            note,
            version,
        };
        let delivery = gateway(ctx)
            .update_delivery(&caller(ctx), &order_id, update, None)
            .await
            .map_err(gql)?;
        Ok(Delivery(delivery))
    }
}

pub struct SubscriptionRoot;

#[Subscription(name = "Subscription")]
impl SubscriptionRoot {
    /// The delivery's current state, then each change. `orderId`: the full
    /// id or the short one (its last 8 characters).
    async fn delivery_status_changed(
        &self,
        ctx: &Context<'_>,
        order_id: ID,
    ) -> Result<impl Stream<Item = Delivery> + use<>> {
        let hub = ctx.data_unchecked::<Arc<Hub>>().clone();
        let shutdown = ctx.data_unchecked::<Shutdown>().clone();
        let stream =
            live::order_updates(gateway(ctx), &hub, &caller(ctx), &order_id, None, &shutdown)
                .await
                .map_err(gql)?;
        Ok(stream.map(|u| Delivery(u.delivery)))
    }

    /// A kitchen's orders as they change: each placed order and each change
    /// (accepted, a new ready-by time, ready, rejected, cancelled, picked
    /// up...), the whole order each time. No initial state: take the
    /// `orders` query first. Ops may watch any restaurant, a restaurant key
    /// only its own.
    async fn order_status_changed(
        &self,
        ctx: &Context<'_>,
        restaurant_id: ID,
    ) -> Result<impl Stream<Item = Order> + use<>> {
        let hub = ctx.data_unchecked::<Arc<OrderHub>>().clone();
        let shutdown = ctx.data_unchecked::<Shutdown>().clone();
        let stream = order_feed::restaurant_orders(
            gateway(ctx),
            &hub,
            &caller(ctx),
            &restaurant_id,
            &shutdown,
        )
        .await
        .map_err(gql)?;
        Ok(stream.map(|e| Order(e.order)))
    }
}
