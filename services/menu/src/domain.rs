//! Restaurants and menu items as the service stores them: every field of an
//! incoming restaurant or item is checked once, here, so the store and the
//! handlers only see valid ones.

use std::collections::HashSet;

use food_proto::menu::v1 as pm;

/// Longest item or restaurant id; ids are slugs that end up in URLs and CLI arguments.
pub const MAX_ID_LEN: usize = 64;
/// Longest item name, in characters.
pub const MAX_NAME_LEN: usize = 120;
/// Longest description, in characters; keeps a list page bounded.
pub const MAX_DESCRIPTION_LEN: usize = 2000;
/// Longest category name, in characters.
pub const MAX_CATEGORY_LEN: usize = 64;
/// Highest price: 10 000.00 in the item's currency.
pub const MAX_PRICE_CENTS: i64 = 1_000_000;
/// Longest preparation time, four hours.
pub const MAX_PREP_MINUTES: u32 = 240;
/// Most tags on one item.
pub const MAX_TAGS: usize = 20;
/// Longest tag, in characters.
pub const MAX_TAG_LEN: usize = 40;
/// Most items in one import; larger menus are imported in several calls.
pub const MAX_IMPORT_ITEMS: usize = 5000;
/// Most restaurants in one import.
pub const MAX_IMPORT_RESTAURANTS: usize = 1000;
/// Longest restaurant cuisine, in characters.
pub const MAX_CUISINE_LEN: usize = 64;
/// Longest restaurant address, in characters.
pub const MAX_ADDRESS_LEN: usize = 200;

/// Why one field of an item was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {reason}")]
pub struct FieldError {
    /// The proto field name, e.g. `price_cents`.
    pub field: &'static str,
    /// For people: what was wrong and what is allowed.
    pub reason: String,
}

impl FieldError {
    fn new(field: &'static str, reason: impl Into<String>) -> Self {
        Self {
            field,
            reason: reason.into(),
        }
    }
}

/// Why an import batch was refused: the first bad restaurant or item and field.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum BatchError {
    #[error("restaurants[{index}].{}: {}", .error.field, .error.reason)]
    Restaurant { index: usize, error: FieldError },
    #[error("items[{index}].{}: {}", .error.field, .error.reason)]
    Item { index: usize, error: FieldError },
    /// Checked against the stored restaurants and those of the same import.
    #[error("items[{index}].restaurant_id: no restaurant with id {restaurant_id:?}")]
    UnknownRestaurant { index: usize, restaurant_id: String },
    #[error("an import holds at most {MAX_IMPORT_ITEMS} items, got {0}")]
    TooMany(usize),
    #[error("an import holds at most {MAX_IMPORT_RESTAURANTS} restaurants, got {0}")]
    TooManyRestaurants(usize),
}

impl BatchError {
    /// The path of the offending field, e.g. `items[3].price_cents`.
    pub fn field(&self) -> String {
        match self {
            Self::Restaurant { index, error } => format!("restaurants[{index}].{}", error.field),
            Self::Item { index, error } => format!("items[{index}].{}", error.field),
            Self::UnknownRestaurant { index, .. } => format!("items[{index}].restaurant_id"),
            Self::TooMany(_) => "items".to_owned(),
            Self::TooManyRestaurants(_) => "restaurants".to_owned(),
        }
    }

    /// The index of the offending entry in its list, when there is one.
    pub fn index(&self) -> Option<usize> {
        match self {
            Self::Restaurant { index, .. }
            | Self::Item { index, .. }
            | Self::UnknownRestaurant { index, .. } => Some(*index),
            Self::TooMany(_) | Self::TooManyRestaurants(_) => None,
        }
    }
}

/// An item id: a lower-case slug such as `margherita` or `pad-thai`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ItemId(String);

impl ItemId {
    pub fn parse(s: &str) -> Result<Self, FieldError> {
        check_slug("id", s).map(Self)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for ItemId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// A restaurant id: a lower-case slug such as `trattoria-da-luca`, by the
/// same rules as item ids since both are typed on the command line.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RestaurantId(String);

impl RestaurantId {
    pub fn parse(s: &str) -> Result<Self, FieldError> {
        check_slug("id", s).map(Self)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for RestaurantId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// A restaurant whose every field has been checked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ValidRestaurant {
    pub id: RestaurantId,
    pub name: String,
    pub cuisine: String,
    /// Where couriers pick orders up, so never blank.
    pub address: String,
    pub open: bool,
    pub tags: Vec<String>,
    pub auto_accept: bool,
    /// Seconds a kitchen that accepts by hand has to answer.
    pub acceptance_timeout_s: u32,
}

/// The longest a kitchen may take to answer: a day.
const MAX_ACCEPTANCE_TIMEOUT_S: u32 = 86_400;

impl ValidRestaurant {
    pub fn parse(r: pm::Restaurant) -> Result<Self, FieldError> {
        let id = RestaurantId::parse(&r.id)?;
        check_text("name", &r.name, MAX_NAME_LEN)?;
        check_text("cuisine", &r.cuisine, MAX_CUISINE_LEN)?;
        check_text("address", &r.address, MAX_ADDRESS_LEN)?;
        check_tags(&r.tags)?;
        let acceptance_timeout_s = match r.acceptance_timeout_s {
            0 => food_api::DEFAULT_ACCEPTANCE_TIMEOUT_S,
            s if s > MAX_ACCEPTANCE_TIMEOUT_S => {
                return Err(FieldError::new(
                    "acceptance_timeout_s",
                    format!("at most {MAX_ACCEPTANCE_TIMEOUT_S} seconds"),
                ));
            }
            s => s,
        };
        Ok(Self {
            id,
            name: r.name,
            cuisine: r.cuisine,
            address: r.address,
            open: r.open,
            tags: r.tags,
            auto_accept: r.auto_accept,
            acceptance_timeout_s,
        })
    }

    /// The lower-cased cuisine the cuisine filter compares with.
    pub fn cuisine_key(&self) -> String {
        category_key(&self.cuisine)
    }

    /// The lower-cased text the `query` filter searches: name, cuisine, address and tags.
    pub fn search_text(&self) -> String {
        let mut text = format!("{}\n{}\n{}", self.name, self.cuisine, self.address);
        for tag in &self.tags {
            text.push('\n');
            text.push_str(tag);
        }
        text.to_lowercase()
    }
}

impl From<ValidRestaurant> for pm::Restaurant {
    fn from(r: ValidRestaurant) -> Self {
        Self {
            id: r.id.0,
            name: r.name,
            cuisine: r.cuisine,
            address: r.address,
            open: r.open,
            tags: r.tags,
            auto_accept: r.auto_accept,
            acceptance_timeout_s: r.acceptance_timeout_s,
        }
    }
}

/// An item whose every field has been checked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ValidItem {
    pub id: ItemId,
    /// Syntactically valid; whether it exists is the store's check, at import.
    pub restaurant_id: RestaurantId,
    pub name: String,
    pub description: String,
    pub category: String,
    pub price_cents: i64,
    pub currency: String,
    pub available: bool,
    pub prep_minutes: u32,
    pub tags: Vec<String>,
}

impl ValidItem {
    pub fn parse(item: pm::Item) -> Result<Self, FieldError> {
        let id = ItemId::parse(&item.id)?;
        let restaurant_id = RestaurantId::parse(&item.restaurant_id).map_err(|e| FieldError {
            field: "restaurant_id",
            ..e
        })?;
        check_text("name", &item.name, MAX_NAME_LEN)?;
        if item.description.chars().count() > MAX_DESCRIPTION_LEN {
            return Err(FieldError::new(
                "description",
                format!("must be at most {MAX_DESCRIPTION_LEN} characters"),
            ));
        }
        check_text("category", &item.category, MAX_CATEGORY_LEN)?;
        if !(0..=MAX_PRICE_CENTS).contains(&item.price_cents) {
            return Err(FieldError::new(
                "price_cents",
                format!(
                    "must be between 0 and {MAX_PRICE_CENTS}, got {}",
                    item.price_cents
                ),
            ));
        }
        if !(item.currency.len() == 3 && item.currency.bytes().all(|b| b.is_ascii_uppercase())) {
            return Err(FieldError::new(
                "currency",
                format!(
                    "must be a 3-letter upper-case ISO 4217 code such as EUR, got {:?}",
                    item.currency
                ),
            ));
        }
        if item.prep_minutes > MAX_PREP_MINUTES {
            return Err(FieldError::new(
                "prep_minutes",
                format!(
                    "must be at most {MAX_PREP_MINUTES}, got {}",
                    item.prep_minutes
                ),
            ));
        }
        check_tags(&item.tags)?;
        Ok(Self {
            id,
            restaurant_id,
            name: item.name,
            description: item.description,
            category: item.category,
            price_cents: item.price_cents,
            currency: item.currency,
            available: item.available,
            prep_minutes: item.prep_minutes,
            tags: item.tags,
        })
    }

    /// The lower-cased category the category filter compares with.
    pub fn category_key(&self) -> String {
        category_key(&self.category)
    }

    /// The lower-cased text the `query` filter searches: name, description and tags.
    pub fn search_text(&self) -> String {
        let mut text = format!("{}\n{}", self.name, self.description);
        for tag in &self.tags {
            text.push('\n');
            text.push_str(tag);
        }
        text.to_lowercase()
    }
}

impl From<ValidItem> for pm::Item {
    fn from(i: ValidItem) -> Self {
        Self {
            id: i.id.0,
            restaurant_id: i.restaurant_id.0,
            name: i.name,
            description: i.description,
            category: i.category,
            price_cents: i.price_cents,
            currency: i.currency,
            available: i.available,
            prep_minutes: i.prep_minutes,
            tags: i.tags,
        }
    }
}

/// A checked import: restaurants, then the items that may refer to them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ValidImport {
    pub restaurants: Vec<ValidRestaurant>,
    pub items: Vec<ValidItem>,
}

/// Checks a whole import, restaurants first, like [`parse_batch`].
pub fn parse_import(
    restaurants: Vec<pm::Restaurant>,
    items: Vec<pm::Item>,
) -> Result<ValidImport, BatchError> {
    if restaurants.len() > MAX_IMPORT_RESTAURANTS {
        return Err(BatchError::TooManyRestaurants(restaurants.len()));
    }
    let mut seen = HashSet::with_capacity(restaurants.len());
    let restaurants = restaurants
        .into_iter()
        .enumerate()
        .map(|(index, r)| {
            let r = ValidRestaurant::parse(r)
                .map_err(|error| BatchError::Restaurant { index, error })?;
            if !seen.insert(r.id.clone()) {
                return Err(BatchError::Restaurant {
                    index,
                    error: FieldError::new("id", format!("{} appears more than once", r.id)),
                });
            }
            Ok(r)
        })
        .collect::<Result<_, _>>()?;
    Ok(ValidImport {
        restaurants,
        items: parse_batch(items)?,
    })
}

/// Checks a batch of items: the first bad item and field refuses the batch,
/// as does an id given twice (which of the two should win would be a guess).
pub fn parse_batch(items: Vec<pm::Item>) -> Result<Vec<ValidItem>, BatchError> {
    if items.len() > MAX_IMPORT_ITEMS {
        return Err(BatchError::TooMany(items.len()));
    }
    let mut seen = HashSet::with_capacity(items.len());
    items
        .into_iter()
        .enumerate()
        .map(|(index, item)| {
            let item = ValidItem::parse(item).map_err(|error| BatchError::Item { index, error })?;
            if !seen.insert(item.id.clone()) {
                return Err(BatchError::Item {
                    index,
                    error: FieldError::new("id", format!("{} appears more than once", item.id)),
                });
            }
            Ok(item)
        })
        .collect()
}

/// Categories compare case-insensitively: `Pizza` finds `pizza`.
pub fn category_key(category: &str) -> String {
    category.trim().to_lowercase()
}

/// Ids are lower-case slugs: they end up in URLs and on command lines.
fn check_slug(field: &'static str, s: &str) -> Result<String, FieldError> {
    if s.is_empty() || s.len() > MAX_ID_LEN {
        return Err(FieldError::new(
            field,
            format!(
                "must be 1 to {MAX_ID_LEN} characters, got {}",
                s.chars().count()
            ),
        ));
    }
    if let Some(bad) = s
        .chars()
        .find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '-' || *c == '_'))
    {
        return Err(FieldError::new(
            field,
            format!("may hold only a-z, 0-9, '-' and '_', found {bad:?} in {s:?}"),
        ));
    }
    Ok(s.to_owned())
}

fn check_tags(tags: &[String]) -> Result<(), FieldError> {
    if tags.len() > MAX_TAGS {
        return Err(FieldError::new(
            "tags",
            format!("at most {MAX_TAGS} tags, got {}", tags.len()),
        ));
    }
    for tag in tags {
        check_text("tags", tag, MAX_TAG_LEN)?;
    }
    Ok(())
}

fn check_text(field: &'static str, value: &str, max: usize) -> Result<(), FieldError> {
    let len = value.chars().count();
    if value.trim().is_empty() {
        return Err(FieldError::new(field, "must not be blank"));
    }
    if len > max {
        return Err(FieldError::new(
            field,
            format!("must be at most {max} characters, got {len}"),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item() -> pm::Item {
        pm::Item {
            restaurant_id: "trattoria-da-luca".into(),
            id: "margherita".into(),
            name: "Margherita".into(),
            description: "Tomato, mozzarella, basil".into(),
            category: "pizza".into(),
            price_cents: 1050,
            currency: "EUR".into(),
            available: true,
            prep_minutes: 12,
            tags: vec!["vegetarian".into()],
        }
    }

    /// Spoils one field of a good item.
    type Breakage = fn(&mut pm::Item);

    fn field_of(item: pm::Item) -> &'static str {
        ValidItem::parse(item).unwrap_err().field
    }

    #[test]
    fn a_complete_item_is_accepted_unchanged() {
        let parsed = ValidItem::parse(item()).unwrap();
        assert_eq!(pm::Item::from(parsed), item());
    }

    #[test]
    fn ids_are_lower_case_slugs_of_at_most_64_characters() {
        for good in ["a", "pad-thai", "item_2", &"x".repeat(64)] {
            assert!(ItemId::parse(good).is_ok(), "{good}");
        }
        for bad in ["", "Pad-Thai", "pad thai", "café", "a/b", &"x".repeat(65)] {
            assert_eq!(ItemId::parse(bad).unwrap_err().field, "id", "{bad}");
        }
    }

    #[test]
    fn each_bad_field_is_named() {
        let cases: Vec<(&str, Breakage)> = vec![
            ("restaurant_id", |i| i.restaurant_id = String::new()),
            ("restaurant_id", |i| i.restaurant_id = "Da Luca".into()),
            ("name", |i| i.name = "  ".into()),
            ("name", |i| i.name = "n".repeat(121)),
            ("description", |i| i.description = "d".repeat(2001)),
            ("category", |i| i.category = String::new()),
            ("price_cents", |i| i.price_cents = -1),
            ("price_cents", |i| i.price_cents = 1_000_001),
            ("currency", |i| i.currency = "eur".into()),
            ("currency", |i| i.currency = "EURO".into()),
            ("prep_minutes", |i| i.prep_minutes = 241),
            ("tags", |i| i.tags = vec!["t".into(); 21]),
            ("tags", |i| i.tags = vec![String::new()]),
        ];
        for (field, break_it) in cases {
            let mut bad = item();
            break_it(&mut bad);
            assert_eq!(field_of(bad), field);
        }
    }

    #[test]
    fn limits_are_inclusive() {
        let mut edge = item();
        edge.name = "n".repeat(120);
        edge.price_cents = 1_000_000;
        edge.prep_minutes = 240;
        edge.tags = vec!["t".into(); 20];
        assert!(ValidItem::parse(edge).is_ok());
        let mut free = item();
        free.price_cents = 0;
        assert!(ValidItem::parse(free).is_ok());
    }

    #[test]
    fn a_batch_names_the_index_of_its_first_bad_item() {
        let mut bad = item();
        bad.id = "second".into();
        bad.price_cents = -5;
        let err = parse_batch(vec![item(), bad]).unwrap_err();
        assert_eq!(err.field(), "items[1].price_cents");
        assert!(
            err.to_string().starts_with("items[1].price_cents: "),
            "{err}"
        );
    }

    #[test]
    fn a_batch_refuses_an_id_given_twice() {
        let err = parse_batch(vec![item(), item()]).unwrap_err();
        assert_eq!(err.field(), "items[1].id");
    }

    #[test]
    fn search_text_covers_name_description_and_tags_in_lower_case() {
        let text = ValidItem::parse(item()).unwrap().search_text();
        assert!(text.contains("margherita"));
        assert!(text.contains("mozzarella"));
        assert!(text.contains("vegetarian"));
        assert_eq!(text, text.to_lowercase());
    }

    /// Spoils one field of a good restaurant.
    type RestaurantBreakage = fn(&mut pm::Restaurant);

    fn restaurant() -> pm::Restaurant {
        pm::Restaurant {
            id: "trattoria-da-luca".into(),
            name: "Trattoria da Luca".into(),
            cuisine: "Italian".into(),
            address: "12 Rue Mercière, 69002 Lyon".into(),
            open: true,
            tags: vec!["pizza".into()],
            auto_accept: true,
            acceptance_timeout_s: 300,
        }
    }

    #[test]
    fn a_complete_restaurant_is_accepted_unchanged() {
        let parsed = ValidRestaurant::parse(restaurant()).unwrap();
        assert_eq!(parsed.cuisine_key(), "italian");
        assert_eq!(pm::Restaurant::from(parsed), restaurant());
    }

    #[test]
    fn each_bad_restaurant_field_is_named_with_its_index() {
        let cases: Vec<(&str, RestaurantBreakage)> = vec![
            ("id", |r| r.id = "Da Luca".into()),
            ("name", |r| r.name = " ".into()),
            ("cuisine", |r| r.cuisine = String::new()),
            ("address", |r| r.address = String::new()),
            ("address", |r| r.address = "a".repeat(201)),
            ("tags", |r| r.tags = vec!["t".into(); 21]),
        ];
        for (field, break_it) in cases {
            let mut bad = restaurant();
            bad.id = "second".into();
            break_it(&mut bad);
            let err = parse_import(vec![restaurant(), bad], vec![item()]).unwrap_err();
            assert_eq!(err.field(), format!("restaurants[1].{field}"));
            assert_eq!(err.index(), Some(1));
        }
    }

    #[test]
    fn an_import_refuses_a_restaurant_given_twice() {
        let err = parse_import(vec![restaurant(), restaurant()], vec![]).unwrap_err();
        assert_eq!(err.field(), "restaurants[1].id");
    }

    #[test]
    fn restaurant_search_text_covers_name_cuisine_address_and_tags() {
        let text = ValidRestaurant::parse(restaurant()).unwrap().search_text();
        for part in ["trattoria", "italian", "mercière", "pizza"] {
            assert!(text.contains(part), "{part} in {text}");
        }
    }

    /// Ids and prices as an import may send them: taken exactly when the
    /// rules allow, refused naming the field otherwise, never a panic.
    mod props {
        use proptest::prelude::*;

        use super::*;

        /// "a lower-case slug", 1 to 64 characters: a-z, 0-9, `-`, `_`.
        fn is_slug(s: &str) -> bool {
            (1..=MAX_ID_LEN).contains(&s.len())
                && s.bytes()
                    .all(|b| matches!(b, b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_'))
        }

        proptest! {
            #[test]
            fn an_id_is_taken_exactly_when_it_is_a_slug_and_reads_back(s in prop_oneof![
                "[a-z0-9_-]{1,64}",
                "[a-z0-9_-]{60,70}",
                "[a-zA-Z0-9 ._/é-]{0,12}",
                any::<String>(),
            ]) {
                match (ItemId::parse(&s), RestaurantId::parse(&s)) {
                    (Ok(item), Ok(restaurant)) => {
                        prop_assert!(is_slug(&s), "{s:?} taken");
                        prop_assert_eq!(item.to_string(), s.clone());
                        prop_assert_eq!(restaurant.as_str(), s.as_str());
                    }
                    (Err(a), Err(b)) => {
                        prop_assert!(!is_slug(&s), "{s:?} refused");
                        prop_assert_eq!((a.field, b.field), ("id", "id"));
                    }
                    other => prop_assert!(false, "item and restaurant ids disagree: {other:?}"),
                }
            }

            /// Prices are integer cents from 0 to 10 000.00: negative ones
            /// are refused, as are those past the maximum.
            #[test]
            fn a_price_is_taken_exactly_when_it_is_0_to_the_maximum(
                price_cents in prop_oneof![any::<i64>(), -10..MAX_PRICE_CENTS + 10]
            ) {
                match ValidItem::parse(pm::Item { price_cents, ..item() }) {
                    Ok(valid) => {
                        prop_assert!((0..=MAX_PRICE_CENTS).contains(&price_cents));
                        prop_assert_eq!(valid.price_cents, price_cents);
                    }
                    Err(e) => {
                        prop_assert!(!(0..=MAX_PRICE_CENTS).contains(&price_cents));
                        prop_assert_eq!(e.field, "price_cents");
                    }
                }
            }
        }
    }
}
