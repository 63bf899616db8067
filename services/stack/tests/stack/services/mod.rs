//! order-service through its gRPC API, with the menu and delivery services
//! and a real broker beside it.

mod couriers;
mod create;
mod events;
mod flow;
mod helpers;
mod kitchen;
mod restaurants;
