//! The food platform's wire contract and domain rules, written once.
//!
//! # Layout
//! - [`status`]: delivery and order statuses and the one delivery state machine
//!   that the delivery service, the gateway and the board all call.
//! - [`model`]: the JSON shapes the gateway serves and `foodctl` and
//!   `food-board` read (docs/design.md, "Gateway API").
//! - [`error`]: the error body and its stable machine codes.
//! - [`page`]: the page rule every list shares (sizes and the cursor format).
//! - [`convert`]: conversions between the protobuf messages and the JSON shapes.
//! - `openapi` (feature `openapi`): the schemas utoipa cannot derive (the
//!   error codes, tags, the accept body) and the examples of the others.

pub mod convert;
pub mod error;
#[cfg(feature = "openapi")]
mod examples;
pub mod model;
#[cfg(feature = "openapi")]
pub mod openapi;
pub mod page;
pub mod status;

pub use error::{ErrorBody, ErrorCode, ErrorDetail};
pub use model::*;
pub use page::{DEFAULT_LIMIT, MAX_LIMIT, PageError};
pub use status::{DeliveryStatus, OrderStatus, OrderTransitionError, TransitionError};

/// The short form of an order id shown on boards and tables: its last 8 characters.
pub fn short_id(id: &str) -> &str {
    let start = id.char_indices().rev().nth(7).map_or(0, |(i, _)| i);
    &id[start..]
}

/// Formats integer cents as `12.50 EUR`.
pub fn format_money(cents: i64, currency: &str) -> String {
    let sign = if cents < 0 { "-" } else { "" };
    let abs = cents.unsigned_abs();
    format!("{sign}{}.{:02} {currency}", abs / 100, abs % 100)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_id_is_the_last_eight_characters() {
        assert_eq!(short_id("0190f3b2-7c1e-7d2a-9f00-1234abcd5678"), "abcd5678");
        assert_eq!(short_id("abc"), "abc");
    }

    #[test]
    fn money_is_formatted_with_two_decimals_and_currency() {
        assert_eq!(format_money(1250, "EUR"), "12.50 EUR");
        assert_eq!(format_money(5, "EUR"), "0.05 EUR");
        assert_eq!(format_money(-199, "USD"), "-1.99 USD");
    }
}
