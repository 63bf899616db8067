//! The command line: clap's raw flags. `config::Settings::resolve` turns the
//! global ones into validated settings in one step.

use std::{path::PathBuf, time::Duration};

use chrono::{DateTime, Utc};
use clap::{ArgAction, Args, Parser, Subcommand};
use food_api::{DeliveryStatus, OrderItemInput, OrderStatus};

use food_client::parse_duration;

use crate::{
    output::OutputFormat,
    parse::{
        WaitTarget, parse_courier_id, parse_delivery_status, parse_eta, parse_item_spec,
        parse_order_status, parse_prep_minutes, parse_ready_by,
    },
};

/// The food platform from the terminal: browse restaurants and their menus,
/// place and follow orders, run a kitchen, put couriers on shift, update
/// deliveries.
///
/// Start with `foodctl restaurant list`, then `foodctl menu list --restaurant
/// ID` for one restaurant's dishes, then `foodctl order create --item
/// DISH:2 --address "..."` (an order comes from one restaurant). A kitchen
/// answers with `foodctl order accept|reject|ready ID`; couriers go on shift
/// with `foodctl courier on ID`.
#[derive(Debug, Parser)]
#[command(
    name = "foodctl",
    version,
    propagate_version = true,
    after_help = crate::exit::help_text(),
    max_term_width = 100
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,

    #[command(subcommand)]
    pub command: Command,
}

/// Flags every command takes.
#[derive(Clone, Debug, Args)]
pub struct GlobalArgs {
    /// Gateway base URL [default: the context's, else http://127.0.0.1:8080].
    #[arg(long, global = true, env = "FOODCTL_GATEWAY", value_name = "URL")]
    pub gateway: Option<String>,

    /// API key sent as `Authorization: Bearer`.
    #[arg(
        long,
        global = true,
        env = "FOODCTL_TOKEN",
        hide_env_values = true,
        value_name = "KEY"
    )]
    pub token: Option<String>,

    /// Context (profile) to use instead of the current one.
    #[arg(long, global = true, env = "FOODCTL_CONTEXT", value_name = "NAME")]
    pub context: Option<String>,

    /// Output format [default: the context's, else table].
    #[arg(short = 'o', long, global = true, value_enum, value_name = "FORMAT")]
    pub output: Option<OutputFormat>,

    /// No colour (also when NO_COLOR is set or stdout is not a terminal).
    #[arg(long, global = true)]
    pub no_color: bool,

    /// Print nothing on stderr but errors.
    #[arg(short, long, global = true)]
    pub quiet: bool,

    /// Log each request on stderr.
    #[arg(short, long, global = true, action = ArgAction::Count)]
    pub verbose: u8,

    /// Request timeout; with --wait-for, the longest wait too [default: 10s].
    #[arg(long, global = true, value_parser = parse_duration, value_name = "DUR")]
    pub timeout: Option<Duration>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Browse restaurants; open and close them (ops).
    #[command(subcommand)]
    Restaurant(RestaurantCmd),
    /// Browse the restaurants' dishes, and import menus (ops).
    #[command(subcommand)]
    Menu(MenuCmd),
    /// Place, list, cancel and follow orders; accept, reject and ready them (kitchens).
    #[command(subcommand)]
    Order(OrderCmd),
    /// List couriers and put them on or off shift (couriers and ops).
    #[command(subcommand)]
    Courier(CourierCmd),
    /// Read, update and follow deliveries (couriers and ops).
    #[command(subcommand)]
    Delivery(DeliveryCmd),
    /// Read the Kafka event topics directly.
    #[command(subcommand)]
    Events(EventsCmd),
    /// Manage profiles (gateway URL, token, default output).
    #[command(subcommand)]
    Context(ContextCmd),
    /// Print a shell completion script.
    Completion {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
}

/// Paging for list commands.
#[derive(Clone, Debug, Args)]
pub struct Page {
    /// At most this many results [default: all pages].
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub limit: Option<u32>,
    /// Start from this cursor (a previous list's `next_cursor`).
    #[arg(long, value_name = "CURSOR")]
    pub cursor: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum RestaurantCmd {
    /// List restaurants; `foodctl menu list --restaurant ID` shows one's dishes.
    List {
        /// Only restaurants of this cuisine (`italian`, `japanese`...).
        #[arg(long, value_name = "CUISINE")]
        cuisine: Option<String>,
        /// Only restaurants taking orders now.
        #[arg(long)]
        open: bool,
        /// Text to look for in names, cuisines and tags.
        #[arg(long, value_name = "TEXT")]
        search: Option<String>,
        #[command(flatten)]
        page: Page,
    },
    /// Show a restaurant and its menu.
    Show {
        /// The restaurant's id, as `foodctl restaurant list` shows it.
        id: String,
    },
    /// Resume taking orders (ops).
    Open { id: String },
    /// Pause a restaurant: it refuses new orders until opened again (ops).
    Close { id: String },
}

#[derive(Debug, Subcommand)]
pub enum MenuCmd {
    /// List dishes, of every restaurant or of one.
    List {
        /// Only this restaurant's dishes (ids from `foodctl restaurant list`).
        #[arg(long, value_name = "ID")]
        restaurant: Option<String>,
        #[arg(long)]
        category: Option<String>,
        /// Only items that can be ordered now.
        #[arg(long)]
        available: bool,
        /// Text to look for in names, descriptions and tags.
        #[arg(long, value_name = "TEXT")]
        search: Option<String>,
        #[command(flatten)]
        page: Page,
    },
    /// Show one item.
    Show { id: String },
    /// Create or update restaurants and items (ops).
    #[command(
        after_help = "The file is {\"restaurants\": [...], \"items\": [...]} (the seed's \
        form; restaurants are sent before the items that name them), or items alone: a \
        JSON array, {\"items\": [...]}, one item object, or NDJSON. Every item names its \
        restaurant_id."
    )]
    Import {
        /// A file, or - for stdin.
        #[arg(value_name = "FILE|-")]
        file: PathBuf,
    },
}

#[derive(Debug, Subcommand)]
pub enum OrderCmd {
    /// Place an order from flags, or orders from a JSON/NDJSON file.
    Create(Box<OrderCreate>),
    /// Show one order.
    Get { id: String },
    /// List orders (customers see their own).
    List {
        #[arg(long, value_parser = parse_order_status, value_name = "STATUS")]
        status: Option<OrderStatus>,
        /// Only this customer's orders (ops).
        #[arg(long, value_name = "ID")]
        customer: Option<String>,
        /// Only this restaurant's orders.
        #[arg(long, value_name = "ID")]
        restaurant: Option<String>,
        #[command(flatten)]
        page: Page,
    },
    /// Cancel an order (before pick-up).
    Cancel { id: String },
    /// Print each change of an order's delivery until it ends.
    Watch { id: String },
    /// Kitchen: accept a PLACED order (it becomes PREPARING), or give a
    /// PREPARING one a new ready-by time.
    #[command(
        after_help = "Without --prep or --ready-by the prep time is the order's \
    longest dish prep time, as the menu gives it.\n\nExamples:\n  \
    foodctl order accept 1234abcd --prep 15m\n  \
    foodctl order accept 1234abcd --ready-by 19:45\n  \
    foodctl order accept 1234abcd --ready-by 2026-01-02T19:45:00Z\n\n\
    A refused transition (an order no longer PLACED or PREPARING) exits 5; an order \
    of another restaurant is not found (3)."
    )]
    Accept {
        /// The order's id.
        id: String,
        /// Time to prepare from now: `15m`, `1h`, or bare minutes.
        #[arg(long, value_name = "DUR", value_parser = parse_prep_minutes, conflicts_with = "ready_by")]
        prep: Option<u32>,
        /// When the food will be ready: RFC 3339, or HH:MM today (local time).
        #[arg(long, value_name = "TIME", value_parser = parse_ready_by)]
        ready_by: Option<DateTime<Utc>>,
    },
    /// Kitchen: refuse a PLACED order; it becomes REJECTED and its delivery is cancelled.
    #[command(
        after_help = "Example:\n  foodctl order reject 1234abcd --reason \"out of dough\"\n\n\
    Only a PLACED order can be rejected; anything else exits 5."
    )]
    Reject {
        id: String,
        /// Why, as the customer will see it (at most 200 characters).
        #[arg(long, value_name = "TEXT", value_parser = parse_reason)]
        reason: String,
    },
    /// Kitchen: a PREPARING order is READY_FOR_PICKUP.
    #[command(after_help = "Example:\n  foodctl order ready 1234abcd\n\n\
    Only a PREPARING order can be made ready; anything else exits 5.")]
    Ready { id: String },
}

#[derive(Debug, Subcommand)]
pub enum CourierCmd {
    /// List couriers: on shift or not, and their active deliveries (ops).
    #[command(after_help = "Examples:\n  foodctl courier list\n  foodctl courier list --on-shift")]
    List {
        /// Only couriers on shift now.
        #[arg(long)]
        on_shift: bool,
    },
    /// Put a courier on shift: dispatch starts giving it deliveries.
    #[command(
        after_help = "A courier key may set its own shift only; ops may set any. Without \
    ID, the courier the context names (`courier = \"ID\"` next to its token; food-stack's \
    local-courier names courier-1).\n\n\
    Examples:\n  foodctl courier on courier-2\n  \
    foodctl --context local-courier courier on"
    )]
    On {
        /// The courier's id (`foodctl courier list`), e.g. courier-1
        /// [default: the context's courier].
        #[arg(value_parser = parse_courier_id)]
        id: Option<String>,
    },
    /// Take a courier off shift: it keeps its active deliveries, gets no new ones.
    #[command(after_help = "Examples:\n  foodctl courier off courier-2\n  \
    foodctl --context local-courier courier off")]
    Off {
        /// The courier's id [default: the context's courier].
        #[arg(value_parser = parse_courier_id)]
        id: Option<String>,
    },
    /// Create or rename a courier (ops).
    #[command(after_help = "Example:\n  foodctl courier set courier-4 --name \"Lou Garnier\"")]
    Set {
        #[arg(value_parser = parse_courier_id)]
        id: String,
        /// The courier's name, as boards and tables show it.
        #[arg(long, value_name = "NAME")]
        name: String,
    },
}

/// A rejection reason: not empty.
fn parse_reason(s: &str) -> Result<String, String> {
    let r = s.trim();
    if r.is_empty() {
        Err("the reason is empty; say why, e.g. --reason \"out of dough\"".into())
    } else {
        Ok(r.to_owned())
    }
}

#[derive(Debug, Args)]
#[command(
    after_help = "Bulk (-f): one JSON order, or NDJSON with one order per line. Results \
    stream out as NDJSON, one line per input line in input order; a failed line prints \
    {\"line\": N, \"error\": {...}}. A line without its own idempotency_key gets one derived \
    from its content and line number, so re-running a file creates nothing twice."
)]
pub struct OrderCreate {
    /// A dish and its quantity (ids from `foodctl menu list --restaurant ID`);
    /// repeat for more dishes of the same restaurant.
    #[arg(
        long = "item",
        value_name = "ID[:QTY]",
        value_parser = parse_item_spec,
        required_unless_present = "file",
        conflicts_with = "file"
    )]
    pub items: Vec<OrderItemInput>,

    /// Where to deliver.
    #[arg(
        long,
        value_name = "TEXT",
        required_unless_present = "file",
        conflicts_with = "file"
    )]
    pub address: Option<String>,

    #[arg(long, value_name = "TEXT", conflicts_with = "file")]
    pub note: Option<String>,

    /// Order on behalf of this customer (ops); with -f, for lines without one.
    #[arg(long, value_name = "ID")]
    pub customer: Option<String>,

    /// Makes retries safe [default: a fresh key, reused by foodctl's own retries].
    #[arg(long, value_name = "KEY", conflicts_with = "file")]
    pub idempotency_key: Option<String>,

    /// Orders from a JSON or NDJSON file, or - for stdin.
    #[arg(short = 'f', long, value_name = "FILE|-")]
    pub file: Option<PathBuf>,

    /// Requests in flight at once for -f.
    #[arg(long, default_value_t = 8, value_name = "N", value_parser = clap::value_parser!(u16).range(1..=256))]
    pub concurrency: u16,

    /// Wait until the order reaches this status or a later step: an order
    /// status (PREPARING, READY_FOR_PICKUP, REJECTED...) is the order's own, a
    /// delivery status (ASSIGNED, PICKED_UP...) the delivery's; bounded by
    /// --timeout.
    #[arg(long, value_name = "STATUS", conflicts_with = "file")]
    pub wait_for: Option<WaitTarget>,
}

#[derive(Debug, Subcommand)]
pub enum DeliveryCmd {
    /// Show an order's delivery: status, courier, ETA, version, history.
    Status { id: String },
    /// Move a delivery to STATUS (couriers and ops).
    Set {
        id: String,
        #[arg(value_parser = parse_delivery_status)]
        status: DeliveryStatus,
        /// A courier id (`foodctl courier list`); a courier key may claim only for itself.
        #[arg(long, value_name = "ID")]
        courier: Option<String>,
        /// RFC 3339 time or +DURATION from now (e.g. +15m).
        #[arg(long, value_parser = parse_eta, value_name = "TIME")]
        eta: Option<DateTime<Utc>>,
        #[arg(long, value_name = "TEXT")]
        note: Option<String>,
        /// Refuse the change (exit 5) unless the delivery is at this version.
        #[arg(long, value_name = "V")]
        if_version: Option<u64>,
    },
    /// List deliveries, newest first.
    List {
        #[arg(long, value_parser = parse_delivery_status, value_name = "STATUS")]
        status: Option<DeliveryStatus>,
        /// Only this restaurant's deliveries.
        #[arg(long, value_name = "ID")]
        restaurant: Option<String>,
        /// Only this courier's deliveries (a courier id, e.g. courier-1).
        #[arg(long, value_name = "ID")]
        courier: Option<String>,
        #[command(flatten)]
        page: Page,
    },
    /// Print each change of one delivery until it ends, or of all (ops).
    Watch {
        id: Option<String>,
        /// Stop once the delivery reaches this delivery status or a later
        /// step (exit 0); bounded by --timeout (exit 7), exit 1 when it ends
        /// elsewhere. Needs ID.
        #[arg(long, value_name = "STATUS", requires = "id", value_parser = parse_delivery_status)]
        wait_for: Option<DeliveryStatus>,
    },
}

#[derive(Debug, Subcommand)]
pub enum EventsCmd {
    /// Print events from Kafka as JSON lines, decoded.
    Tail {
        /// `orders`, `deliveries` or a full topic name; repeatable [default: both].
        #[arg(long = "topic", value_name = "TOPIC")]
        topics: Vec<String>,
        /// Start at the oldest event instead of the next one.
        #[arg(long)]
        from_beginning: bool,
        /// Kafka bootstrap servers.
        #[arg(
            long,
            env = "FOOD_KAFKA_BROKERS",
            default_value = "127.0.0.1:9092",
            value_name = "LIST"
        )]
        brokers: String,
        /// Stop after this many events.
        #[arg(long, value_name = "N")]
        count: Option<u64>,
    },
}

#[derive(Debug, Subcommand)]
pub enum ContextCmd {
    /// List contexts; `*` marks the current one.
    List,
    /// Make NAME the current context.
    Use { name: String },
    /// Create or update NAME from --gateway, --token and -o given on this command line.
    Set { name: String },
    /// Delete NAME.
    Delete { name: String },
    /// Show the effective settings and where they come from.
    Show,
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::*;

    #[test]
    fn the_command_line_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn item_flags_parse_into_order_lines() {
        let cli = Cli::try_parse_from([
            "foodctl",
            "order",
            "create",
            "--item",
            "a:2",
            "--item",
            "b",
            "--address",
            "1 Main St",
        ])
        .unwrap();
        let Command::Order(OrderCmd::Create(c)) = cli.command else {
            panic!()
        };
        assert_eq!(c.items.len(), 2);
        assert_eq!(c.items[0].quantity, 2);
        assert_eq!(c.address.as_deref(), Some("1 Main St"));
    }

    #[test]
    fn create_needs_items_and_address_or_a_file() {
        assert!(Cli::try_parse_from(["foodctl", "order", "create"]).is_err());
        assert!(Cli::try_parse_from(["foodctl", "order", "create", "--item", "a"]).is_err());
        assert!(Cli::try_parse_from(["foodctl", "order", "create", "-f", "-"]).is_ok());
        assert!(
            Cli::try_parse_from(["foodctl", "order", "create", "-f", "-", "--item", "a"]).is_err()
        );
    }

    #[test]
    fn restaurant_commands_parse_their_filters_and_ids() {
        let cli = Cli::try_parse_from([
            "foodctl",
            "restaurant",
            "list",
            "--cuisine",
            "thai",
            "--open",
            "--limit",
            "2",
        ])
        .unwrap();
        let Command::Restaurant(RestaurantCmd::List {
            cuisine,
            open,
            search,
            page,
        }) = cli.command
        else {
            panic!()
        };
        assert_eq!(cuisine.as_deref(), Some("thai"));
        assert!(open);
        assert_eq!(search, None);
        assert_eq!(page.limit, Some(2));
        let cli = Cli::try_parse_from(["foodctl", "restaurant", "close", "sakura-sushi"]).unwrap();
        assert!(matches!(
            cli.command,
            Command::Restaurant(RestaurantCmd::Close { id }) if id == "sakura-sushi"
        ));
        assert!(Cli::try_parse_from(["foodctl", "restaurant", "open"]).is_err());
    }

    #[test]
    fn menu_list_takes_a_restaurant() {
        let cli =
            Cli::try_parse_from(["foodctl", "menu", "list", "--restaurant", "bangkok-street"])
                .unwrap();
        let Command::Menu(MenuCmd::List { restaurant, .. }) = cli.command else {
            panic!()
        };
        assert_eq!(restaurant.as_deref(), Some("bangkok-street"));
    }

    #[test]
    fn global_flags_work_after_the_subcommand() {
        let cli = Cli::try_parse_from([
            "foodctl",
            "menu",
            "list",
            "-o",
            "json",
            "--timeout",
            "2s",
            "--gateway",
            "http://x",
        ])
        .unwrap();
        assert_eq!(cli.global.output, Some(OutputFormat::Json));
        assert_eq!(cli.global.timeout, Some(Duration::from_secs(2)));
        assert_eq!(cli.global.gateway.as_deref(), Some("http://x"));
    }
}
