//! Following deliveries over Server-Sent Events: reconnects with
//! `Last-Event-ID`, drops repeats (a reconnect starts with the current state
//! again), waits for a delivery that does not exist yet, and falls back to
//! polling when the gateway has no stream route.

use std::{collections::HashMap, time::Duration};

use food_api::Delivery;
use food_client::{ApiError, path_segment};

use super::Ctx;
use crate::{doc::Doc, gateway::typed};

/// Reconnects after a stream was open before giving up.
const MAX_RECONNECTS: u32 = 10;
const POLL_EVERY: Duration = Duration::from_millis(250);

/// What the caller wants after a change.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Next {
    More,
    Stop,
}

/// Calls `on_change` for each new state of one order's delivery (`Some(id)`)
/// or of every delivery (`None`), until it returns [`Next::Stop`].
pub async fn follow(
    ctx: &Ctx,
    order_id: Option<&str>,
    mut on_change: impl FnMut(&Doc, &Delivery) -> anyhow::Result<Next>,
) -> anyhow::Result<()> {
    let path = match order_id {
        Some(id) => format!("/delivery/status/{}/stream", path_segment(id)),
        None => "/events/deliveries".to_owned(),
    };
    let mut seen: HashMap<String, u64> = HashMap::new();
    let mut last_event_id: Option<String> = None;
    let mut connected_once = false;
    let mut failures = 0u32;
    loop {
        let mut events = match ctx.client.stream(&path, last_event_id.as_deref()).await {
            Ok(r) => r,
            Err(e) => {
                match (order_id, &e) {
                    // The delivery is created from the OrderPlaced event, moments
                    // after the order: wait for it if the order exists.
                    (Some(id), e) if e.is_not_found() => {
                        ctx.client
                            .get(&format!("/orders/{}", path_segment(id)), &[])
                            .await?;
                        tokio::time::sleep(Duration::from_millis(100)).await;
                        continue;
                    }
                    (
                        Some(id),
                        ApiError::Api {
                            status: 405 | 406 | 501,
                            ..
                        },
                    ) => {
                        return poll(ctx, id, &mut seen, on_change).await;
                    }
                    (_, e) if e.is_transient() && connected_once && failures < MAX_RECONNECTS => {
                        failures += 1;
                        tokio::time::sleep(backoff(failures)).await;
                        continue;
                    }
                    _ => return Err(e.into()),
                }
            }
        };
        connected_once = true;
        // A stream that breaks off is picked up again below, like one that ends.
        while let Some(Ok(ev)) = events.next().await {
            if ev.id.is_some() {
                last_event_id.clone_from(&ev.id);
            }
            if ev.event != "delivery" {
                continue;
            }
            let v = Doc::parse(ev.data.as_bytes())
                .map_err(|e| ApiError::Protocol(format!("a stream event that is not JSON: {e}")))?;
            let d: Delivery = typed(&v)?;
            failures = 0;
            if is_repeat(&mut seen, &d) {
                continue;
            }
            if on_change(&v, &d)? == Next::Stop {
                return Ok(());
            }
        }
        // The stream ended (gateway restart, proxy timeout): pick up where we were.
        failures += 1;
        if failures > MAX_RECONNECTS {
            anyhow::bail!(
                "the delivery stream keeps closing; gave up after {MAX_RECONNECTS} reconnects"
            );
        }
        tokio::time::sleep(backoff(failures)).await;
    }
}

/// Polls `GET /delivery/status/:id` for gateways without streams.
async fn poll(
    ctx: &Ctx,
    order_id: &str,
    seen: &mut HashMap<String, u64>,
    mut on_change: impl FnMut(&Doc, &Delivery) -> anyhow::Result<Next>,
) -> anyhow::Result<()> {
    let path = format!("/delivery/status/{}", path_segment(order_id));
    loop {
        match ctx.client.get(&path, &[]).await {
            Ok(v) => {
                let d: Delivery = typed(&v)?;
                if !is_repeat(seen, &d) && on_change(&v, &d)? == Next::Stop {
                    return Ok(());
                }
            }
            Err(e) if e.is_not_found() || e.is_transient() => {}
            Err(e) => return Err(e.into()),
        }
        tokio::time::sleep(POLL_EVERY).await;
    }
}

/// True when this version of the delivery was handled already.
fn is_repeat(seen: &mut HashMap<String, u64>, d: &Delivery) -> bool {
    match seen.get(&d.order_id) {
        Some(v) if *v >= d.version => true,
        _ => {
            seen.insert(d.order_id.clone(), d.version);
            false
        }
    }
}

fn backoff(failures: u32) -> Duration {
    Duration::from_millis(100 * 2u64.pow(failures.min(5)))
}
