//! gRPC straight to menu-, order- and delivery-service, past the gateway:
//! missing fields, messages above the servers' decoding limit, enum numbers
//! the protos do not have, garbage ids. Each is refused with the fitting
//! code and a message, never INTERNAL or UNKNOWN.

use std::future::Future;

use food_proto::{
    common::v1::PageRequest,
    delivery::v1::{
        GetStatusRequest, ListDeliveriesRequest, PutCourierRequest, SetCourierShiftRequest,
        UpdateStatusRequest, delivery_service_client::DeliveryServiceClient,
    },
    menu::v1::{
        BatchGetItemsRequest, GetItemRequest, GetRestaurantRequest, ListItemsRequest,
        SetRestaurantOpenRequest, menu_service_client::MenuServiceClient,
    },
    order::v1::{
        CancelOrderRequest, CreateOrderRequest, GetOrderRequest, LineRequest, ListOrdersRequest,
        order_service_client::OrderServiceClient,
    },
};
use tonic::{Code, transport::Channel};

use crate::{Tally, helpers::TestStack};

/// Above tonic's default decoding limit (4 MiB), which the servers keep.
const OVERSIZED: usize = 5 * 1024 * 1024;

/// Runs one call and records whether it was refused with one of `codes`.
async fn case<T, F>(tally: &mut Tally, name: &str, codes: &[Code], call: F)
where
    F: Future<Output = Result<tonic::Response<T>, tonic::Status>>,
{
    let (server_error, mismatch) = match call.await {
        Ok(_) => (false, Some("accepted".to_owned())),
        Err(status) => {
            let failed = matches!(status.code(), Code::Internal | Code::Unknown);
            let clear = codes.contains(&status.code()) && !status.message().is_empty();
            (
                failed,
                (!clear).then(|| format!("{:?}: {}", status.code(), status.message())),
            )
        }
    };
    tally.record("grpc", name, server_error, mismatch);
}

fn page(limit: u32, cursor: &str) -> Option<PageRequest> {
    Some(PageRequest {
        limit,
        cursor: cursor.to_owned(),
    })
}

async fn channel(addr: std::net::SocketAddr) -> Channel {
    Channel::from_shared(format!("http://{addr}"))
        .unwrap()
        .connect()
        .await
        .unwrap()
}

pub async fn run(stack: &TestStack, tally: &mut Tally) {
    use Code::{InvalidArgument, NotFound, OutOfRange, ResourceExhausted};
    let too_big = [ResourceExhausted, OutOfRange];
    let mut menu = MenuServiceClient::new(channel(stack.platform.menu).await);
    let mut order = OrderServiceClient::new(channel(stack.platform.order).await);
    let mut delivery = DeliveryServiceClient::new(channel(stack.platform.delivery).await);

    // menu-service
    case(
        tally,
        "menu GetItem without an id",
        &[InvalidArgument],
        menu.get_item(GetItemRequest { id: String::new() }),
    )
    .await;
    case(
        tally,
        "menu GetItem of a traversal",
        &[NotFound, InvalidArgument],
        menu.get_item(GetItemRequest {
            id: "../../etc/passwd".into(),
        }),
    )
    .await;
    case(
        tally,
        "menu GetItem with NUL",
        &[NotFound, InvalidArgument],
        menu.get_item(GetItemRequest { id: "a\0b".into() }),
    )
    .await;
    case(
        tally,
        "menu GetRestaurant of 64 KB",
        &[NotFound, InvalidArgument],
        menu.get_restaurant(GetRestaurantRequest {
            id: "r".repeat(64 * 1024),
        }),
    )
    .await;
    case(
        tally,
        "menu ListItems limit past the maximum",
        &[InvalidArgument, OutOfRange],
        menu.list_items(ListItemsRequest {
            page: page(5000, ""),
            ..Default::default()
        }),
    )
    .await;
    case(
        tally,
        "menu ListItems garbage cursor",
        &[InvalidArgument],
        menu.list_items(ListItemsRequest {
            page: page(10, "!!!"),
            ..Default::default()
        }),
    )
    .await;
    case(
        tally,
        "menu BatchGetItems above the size limit",
        &too_big,
        menu.batch_get_items(BatchGetItemsRequest {
            ids: vec!["x".repeat(1024); OVERSIZED / 1024],
        }),
    )
    .await;
    case(
        tally,
        "menu SetRestaurantOpen of no restaurant",
        &[NotFound],
        menu.set_restaurant_open(SetRestaurantOpenRequest {
            id: "nowhere".into(),
            open: false,
        }),
    )
    .await;

    // order-service
    let line = |item_id: &str, quantity| LineRequest {
        item_id: item_id.into(),
        quantity,
    };
    case(
        tally,
        "order CreateOrder without a customer",
        &[InvalidArgument],
        order.create_order(CreateOrderRequest {
            items: vec![line("margherita", 1)],
            delivery_address: "x".into(),
            ..Default::default()
        }),
    )
    .await;
    case(
        tally,
        "order CreateOrder without items",
        &[InvalidArgument],
        order.create_order(CreateOrderRequest {
            customer_id: "alice".into(),
            delivery_address: "x".into(),
            ..Default::default()
        }),
    )
    .await;
    case(
        tally,
        "order CreateOrder of zero",
        &[InvalidArgument],
        order.create_order(CreateOrderRequest {
            customer_id: "alice".into(),
            items: vec![line("margherita", 0)],
            delivery_address: "x".into(),
            ..Default::default()
        }),
    )
    .await;
    case(
        tally,
        "order CreateOrder of u32::MAX",
        &[InvalidArgument],
        order.create_order(CreateOrderRequest {
            customer_id: "alice".into(),
            items: vec![line("margherita", u32::MAX)],
            delivery_address: "x".into(),
            ..Default::default()
        }),
    )
    .await;
    case(
        tally,
        "order CreateOrder above the size limit",
        &too_big,
        order.create_order(CreateOrderRequest {
            customer_id: "alice".into(),
            items: vec![line("margherita", 1)],
            delivery_address: "a".repeat(OVERSIZED),
            ..Default::default()
        }),
    )
    .await;
    case(
        tally,
        "order GetOrder of garbage",
        &[NotFound, InvalidArgument],
        order.get_order(GetOrderRequest {
            id: "'; DROP TABLE orders; --".into(),
        }),
    )
    .await;
    case(
        tally,
        "order GetOrder without an id",
        &[InvalidArgument, NotFound],
        order.get_order(GetOrderRequest { id: String::new() }),
    )
    .await;
    case(
        tally,
        "order ListOrders of status 99",
        &[InvalidArgument],
        order.list_orders(ListOrdersRequest {
            status: Some(99),
            ..Default::default()
        }),
    )
    .await;
    case(
        tally,
        "order CancelOrder of garbage",
        &[NotFound, InvalidArgument],
        order.cancel_order(CancelOrderRequest {
            id: "\u{fffd}\u{fffd}".into(),
            ..Default::default()
        }),
    )
    .await;

    // delivery-service
    case(
        tally,
        "delivery UpdateStatus of status 99",
        &[InvalidArgument],
        delivery.update_status(UpdateStatusRequest {
            order_id: "x".into(),
            status: 99,
            ..Default::default()
        }),
    )
    .await;
    case(
        tally,
        "delivery UpdateStatus of UNSPECIFIED",
        &[InvalidArgument],
        delivery.update_status(UpdateStatusRequest {
            order_id: "x".into(),
            status: 0,
            ..Default::default()
        }),
    )
    .await;
    case(
        tally,
        "delivery UpdateStatus without an order",
        &[InvalidArgument, NotFound],
        delivery.update_status(UpdateStatusRequest {
            status: 6,
            ..Default::default()
        }),
    )
    .await;
    case(
        tally,
        "delivery GetStatus of garbage",
        &[NotFound, InvalidArgument],
        delivery.get_status(GetStatusRequest {
            order_id: "%00".into(),
        }),
    )
    .await;
    case(
        tally,
        "delivery ListDeliveries of status -7",
        &[InvalidArgument],
        delivery.list_deliveries(ListDeliveriesRequest {
            status: Some(-7),
            ..Default::default()
        }),
    )
    .await;
    case(
        tally,
        "delivery ListDeliveries garbage cursor",
        &[InvalidArgument],
        delivery.list_deliveries(ListDeliveriesRequest {
            page: page(10, "\u{0}\u{1}"),
            ..Default::default()
        }),
    )
    .await;
    case(
        tally,
        "delivery SetCourierShift without a courier",
        &[InvalidArgument, NotFound],
        delivery.set_courier_shift(SetCourierShiftRequest {
            courier_id: String::new(),
            on_shift: true,
        }),
    )
    .await;
    case(
        tally,
        "delivery PutCourier without a name",
        &[InvalidArgument],
        delivery.put_courier(PutCourierRequest {
            courier_id: "courier-9".into(),
            name: String::new(),
        }),
    )
    .await;
    case(
        tally,
        "delivery PutCourier above the size limit",
        &too_big,
        delivery.put_courier(PutCourierRequest {
            courier_id: "courier-9".into(),
            name: "n".repeat(OVERSIZED),
        }),
    )
    .await;
}
