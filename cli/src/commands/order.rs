//! `foodctl order create|get|list|cancel|watch|accept|reject|ready`, and
//! `--wait-for`.

use std::{process::ExitCode, time::Duration};

use chrono::Utc;
use food_api::{
    AcceptOrder, CreateOrder, ItemList, Order, OrderList, OrderStatus, RejectOrder, short_id,
};
use food_client::{path_segment, routes};
use serde_json::json;

use super::{
    Ctx, bulk, fetch_all,
    watch::{Next, follow},
};
use crate::{
    cli::{OrderCmd, OrderCreate},
    doc::Doc,
    exit::{Exit, fail},
    gateway::typed,
    parse::{WaitState, WaitTarget, new_idempotency_key},
    progress::Progress,
    table,
};

pub async fn run(ctx: &Ctx, cmd: OrderCmd) -> anyhow::Result<ExitCode> {
    match cmd {
        OrderCmd::Create(args) => return create(ctx, *args).await,
        OrderCmd::Get { id } => {
            let v = ctx
                .client
                .get(&format!("/orders/{}", path_segment(&id)), &[])
                .await?;
            print_order(ctx, &v)?;
        }
        OrderCmd::List {
            status,
            customer,
            restaurant,
            page,
        } => {
            let mut q = Vec::new();
            if let Some(s) = status {
                q.push(("status", s.as_str().to_owned()));
            }
            if let Some(c) = customer {
                q.push(("customer_id", c));
            }
            if let Some(r) = restaurant {
                q.push(("restaurant", r));
            }
            let filtered = !q.is_empty();
            let v = fetch_all(&ctx.client, "/orders", &q, "orders", &page).await?;
            ctx.out.list(&v, "orders", || {
                let list: OrderList = typed(&v)?;
                Ok(table::orders(
                    &list.orders,
                    Utc::now(),
                    ctx.out.wide(),
                    ctx.out.color,
                ))
            })?;
            if v.list("orders").is_none_or(Vec::is_empty) {
                ctx.out.hint(if filtered {
                    "no order matches"
                } else {
                    "no orders yet; find dishes with `foodctl restaurant list` and \
                     `foodctl menu list --restaurant ID`, then `foodctl order create`"
                });
            }
        }
        OrderCmd::Cancel { id } => {
            let v = ctx
                .client
                .post(
                    &format!("/orders/{}/cancel", path_segment(&id)),
                    &json!({}),
                    &[],
                )
                .await?;
            print_order(ctx, &v)?;
        }
        OrderCmd::Watch { id } => watch(ctx, &id).await?,
        OrderCmd::Accept { id, prep, ready_by } => {
            let body = match (prep, ready_by) {
                (_, Some(t)) => AcceptOrder {
                    ready_by: Some(t),
                    prep_minutes: None,
                },
                (Some(m), None) => AcceptOrder {
                    ready_by: None,
                    prep_minutes: Some(m),
                },
                (None, None) => AcceptOrder {
                    ready_by: None,
                    prep_minutes: Some(default_prep_minutes(ctx, &id).await?),
                },
            };
            let v = ctx.client.post(&routes::accept(&id), &body, &[]).await?;
            print_order(ctx, &v)?;
        }
        OrderCmd::Reject { id, reason } => {
            let v = ctx
                .client
                .post(&routes::reject(&id), &RejectOrder { reason }, &[])
                .await?;
            print_order(ctx, &v)?;
        }
        OrderCmd::Ready { id } => {
            let v = ctx
                .client
                .post(&routes::ready(&id), &json!({}), &[])
                .await?;
            print_order(ctx, &v)?;
        }
    }
    Ok(Exit::Ok.into())
}

fn print_order(ctx: &Ctx, v: &Doc) -> anyhow::Result<()> {
    ctx.out.object(v, || {
        Ok(table::order(&typed::<Order>(v)?, Utc::now(), ctx.out.color))
    })
}

/// The prep time of an accept without one: the order's longest dish prep
/// time on its restaurant's menu (what an auto-accepting kitchen uses).
async fn default_prep_minutes(ctx: &Ctx, id: &str) -> anyhow::Result<u32> {
    let order: Order = typed(&ctx.client.get(&routes::order(id), &[]).await?)?;
    let Some(restaurant) = order.restaurant_id.as_deref() else {
        return Ok(DEFAULT_PREP_MINUTES);
    };
    let menu: ItemList = typed(
        &ctx.client
            .get(
                &format!("/restaurants/{}/menu", path_segment(restaurant)),
                &[("limit", food_api::MAX_LIMIT.to_string())],
            )
            .await?,
    )?;
    Ok(longest_prep(&order, &menu.items))
}

/// When neither the order nor the menu says.
const DEFAULT_PREP_MINUTES: u32 = 15;

/// The longest prep time among an order's dishes; a dish the menu no
/// longer lists does not count.
pub fn longest_prep(order: &Order, menu: &[food_api::Item]) -> u32 {
    order
        .items
        .iter()
        .filter_map(|l| menu.iter().find(|i| i.id == l.item_id))
        .map(|i| i.prep_minutes)
        .max()
        .filter(|m| *m > 0)
        .unwrap_or(DEFAULT_PREP_MINUTES)
}

async fn create(ctx: &Ctx, args: OrderCreate) -> anyhow::Result<ExitCode> {
    if let Some(file) = &args.file {
        return bulk::run(ctx, &args, file).await;
    }
    let body = CreateOrder {
        items: args.items,
        delivery_address: args.address.unwrap_or_default(),
        note: args.note,
        customer_id: args.customer,
        idempotency_key: None,
    };
    let key = args.idempotency_key.unwrap_or_else(new_idempotency_key);
    let v = ctx
        .client
        .post("/orders", &body, &[("Idempotency-Key", &key)])
        .await?;
    // Printed before waiting so a script has the id even if the wait times out.
    print_order(ctx, &v)?;
    if let Some(target) = args.wait_for {
        let order: Order = typed(&v)?;
        let reached = wait_for(ctx, &order.id, target, ctx.settings.timeout, Echo::Nothing).await?;
        ctx.out.note(format!(
            "order {} reached {target} ({reached})",
            short_id(&order.id),
        ));
    }
    Ok(Exit::Ok.into())
}

/// How often `--wait-for` with an order status asks for the order.
const ORDER_POLL: Duration = Duration::from_millis(250);

/// What [`wait_for`] prints while it waits, beside its progress line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Echo {
    Nothing,
    /// Each change of the delivery, as `delivery watch` prints them.
    Changes,
}

/// A status as `--wait-for` reports it, naming its kind: an order and its
/// delivery have statuses of the same names (CANCELLED...) and different
/// ones (PLACED beside PENDING), so a bare name misleads.
fn seen(kind: &str, status: impl std::fmt::Display) -> String {
    format!("{kind} status {status}")
}

/// Waits until the order reaches `target` (or a later step): a delivery
/// target on the delivery's stream, an order target on the order itself.
/// Returns what was seen, e.g. `delivery status ASSIGNED` or `order status
/// PREPARING`.
pub async fn wait_for(
    ctx: &Ctx,
    order_id: &str,
    target: WaitTarget,
    timeout: Duration,
    echo: Echo,
) -> anyhow::Result<String> {
    let mut progress = Progress::new(ctx.settings.quiet);
    progress.show(&format!("waiting for {target}…"), true);
    let mut last: Option<String> = None;
    let waited = tokio::time::timeout(timeout, async {
        match target {
            WaitTarget::Delivery(_) => {
                let mut reached = None;
                follow(ctx, Some(order_id), |v, d| {
                    if echo == Echo::Changes {
                        ctx.out.event(v, || table::change_line(d, Utc::now()))?;
                    }
                    last = Some(seen("delivery", d.status));
                    progress.show(&format!("waiting for {target}: {}", d.status), true);
                    match target.check_delivery(d.status) {
                        Some(WaitState::Reached) => {
                            reached = Some(seen("delivery", d.status));
                            Ok(Next::Stop)
                        }
                        Some(WaitState::Unreachable) => Err(fail(
                            Exit::Other,
                            format!(
                                "the delivery ended {}; it will never reach {target}",
                                d.status
                            ),
                        )),
                        _ => Ok(Next::More),
                    }
                })
                .await?;
                reached.ok_or_else(|| anyhow::anyhow!("the stream ended early"))
            }
            WaitTarget::Order(_) => loop {
                let o: Order = match ctx.client.get(&routes::order(order_id), &[]).await {
                    Ok(v) => typed(&v)?,
                    // A busy or restarting gateway (429, 503) delays the
                    // answer; the timeout still bounds the wait.
                    Err(e) if e.is_transient() => {
                        tokio::time::sleep(ORDER_POLL).await;
                        continue;
                    }
                    Err(e) => return Err(e.into()),
                };
                let now = seen("order", o.status);
                if last.as_deref() != Some(&now) {
                    progress.show(&format!("waiting for {target}: {}", o.status), true);
                }
                last = Some(now);
                match target.check_order(o.status) {
                    Some(WaitState::Reached) => return Ok(seen("order", o.status)),
                    Some(WaitState::Unreachable) => {
                        return Err(fail(Exit::Other, unreachable_order(&o, target)));
                    }
                    _ => tokio::time::sleep(ORDER_POLL).await,
                }
            },
        }
    })
    .await;
    progress.clear();
    match waited {
        Err(_) => Err(fail(
            Exit::TimedOut,
            format!(
                "order {} did not reach {target} within {timeout:?} (last seen: {})",
                short_id(order_id),
                last.unwrap_or_else(|| match target {
                    WaitTarget::Delivery(_) => "no delivery yet".to_owned(),
                    WaitTarget::Order(_) => "no answer for the order yet".to_owned(),
                })
            ),
        )),
        Ok(r) => r,
    }
}

/// Why an order target will never be reached: where the order ended.
fn unreachable_order(o: &Order, target: WaitTarget) -> String {
    let why = match (o.status, o.rejection_reason.as_deref()) {
        (OrderStatus::Rejected, Some(r)) if !r.is_empty() => format!(" ({r})"),
        _ => String::new(),
    };
    format!(
        "the order ended {}{why}; it will never reach {target}",
        o.status
    )
}

async fn watch(ctx: &Ctx, id: &str) -> anyhow::Result<()> {
    follow(ctx, Some(id), |v, d| {
        ctx.out.event(v, || table::change_line(d, Utc::now()))?;
        Ok(if d.status.is_terminal() {
            Next::Stop
        } else {
            Next::More
        })
    })
    .await
}

/// `delivery watch [ID]` shares this: one order until it ends, or all.
pub async fn watch_deliveries(ctx: &Ctx, id: Option<&str>) -> anyhow::Result<()> {
    match id {
        Some(id) => watch(ctx, id).await,
        None => {
            follow(ctx, None, |v, d| {
                ctx.out.event(v, || table::change_line(d, Utc::now()))?;
                Ok(Next::More)
            })
            .await
        }
    }
}
