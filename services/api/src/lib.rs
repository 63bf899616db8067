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

/// Properties of short ids and money as the design states them.
#[cfg(test)]
mod props {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        /// docs/design.md 7: "every order id that a table, a board or a
        /// message shows in short form (the last 8 characters) is accepted
        /// back": the short form is the id's last 8 characters (all of a
        /// shorter id), whatever the id holds, and it is the same for a
        /// UUID's text as for any id.
        #[test]
        fn a_short_id_is_the_last_eight_characters_of_any_id(id in prop_oneof![
            any::<u128>().prop_map(|n| uuid::Uuid::from_u128(n).to_string()),
            any::<String>(),
        ]) {
            let short = short_id(&id);
            let chars: Vec<char> = id.chars().collect();
            let expected: String = chars[chars.len().saturating_sub(8)..].iter().collect();
            prop_assert!(id.ends_with(short));
            prop_assert_eq!(short, expected);
        }

        /// Money is integer cents (docs/design.md 7); the text a person
        /// reads (`12.50 EUR`) says exactly that amount, for any i64 (the
        /// smallest included), so a total is never shown rounded or wrapped.
        #[test]
        fn formatted_money_reads_back_as_the_same_cents(cents in prop_oneof![any::<i64>(), -100_000..100_000i64], currency in "[A-Z]{3}") {
            let text = format_money(cents, &currency);
            let (amount, cur) = text.split_once(' ').unwrap();
            prop_assert_eq!(cur, currency.as_str());
            let (negative, digits) = match amount.strip_prefix('-') {
                Some(rest) => (true, rest),
                None => (false, amount),
            };
            let (units, hundredths) = digits.split_once('.').unwrap();
            prop_assert_eq!(hundredths.len(), 2);
            let magnitude = units.parse::<u128>().unwrap() * 100 + hundredths.parse::<u128>().unwrap();
            prop_assert_eq!(magnitude, u128::from(cents.unsigned_abs()));
            prop_assert_eq!(negative, cents < 0);
        }
    }
}
