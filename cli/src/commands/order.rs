//! `foodctl order create|get|list|cancel|watch`, and `--wait-for`.

use std::{process::ExitCode, time::Duration};

use chrono::Utc;
use food_api::{CreateOrder, Delivery, Order, OrderList, short_id};
use food_client::path_segment;
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
    }
    Ok(Exit::Ok.into())
}

fn print_order(ctx: &Ctx, v: &Doc) -> anyhow::Result<()> {
    ctx.out.object(v, || {
        Ok(table::order(&typed::<Order>(v)?, Utc::now(), ctx.out.color))
    })
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
        let d = wait_for(ctx, &order.id, target, ctx.settings.timeout).await?;
        ctx.out.note(format!(
            "order {} reached {} (delivery {})",
            short_id(&order.id),
            target,
            d.status
        ));
    }
    Ok(Exit::Ok.into())
}

/// Waits until the order's delivery reaches `target` (or a later step).
pub async fn wait_for(
    ctx: &Ctx,
    order_id: &str,
    target: WaitTarget,
    timeout: Duration,
) -> anyhow::Result<Delivery> {
    let mut progress = Progress::new(ctx.settings.quiet);
    progress.show(&format!("waiting for {target}…"), true);
    let mut last = None;
    let mut reached = None;
    let waited = tokio::time::timeout(
        timeout,
        follow(ctx, Some(order_id), |_, d| {
            last = Some(d.status);
            progress.show(&format!("waiting for {target}: {}", d.status), true);
            match target.check(d.status) {
                WaitState::Reached => {
                    reached = Some(d.clone());
                    Ok(Next::Stop)
                }
                WaitState::Waiting => Ok(Next::More),
                WaitState::Unreachable => Err(fail(
                    Exit::Other,
                    format!(
                        "the delivery ended {}; it will never reach {target}",
                        d.status
                    ),
                )),
            }
        }),
    )
    .await;
    progress.clear();
    match waited {
        Err(_) => Err(fail(
            Exit::TimedOut,
            format!(
                "order {} did not reach {target} within {timeout:?} (last seen: {})",
                short_id(order_id),
                last.map_or_else(|| "no delivery yet".to_owned(), |s| s.to_string())
            ),
        )),
        Ok(Err(e)) => Err(e),
        Ok(Ok(())) => reached.ok_or_else(|| anyhow::anyhow!("the stream ended early")),
    }
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
