//! The kitchen's data side: the snapshot of the restaurant's orders in the
//! three lanes, the live feed from `food.orders.v1` (OrderPlaced and
//! OrderStatusChanged carry the whole order; OrderCancelled its id), the
//! gateway actions, and the event loop.
//!
//! As on the delivery board, a session takes the latest offsets first, then
//! the snapshot, then reads from those offsets; when the broker or the
//! gateway goes away the screen is marked stale and a new session is tried
//! with backoff. Without Kafka (`--via-gateway`) the snapshot is polled.

use std::{collections::HashMap, io::Write as _, sync::Arc, time::Duration};

use anyhow::{Context as _, anyhow};
use chrono::{TimeDelta, Utc};
use crossterm::event::{Event, EventStream};
use food_api::{Order, OrderStatus};
use food_events::{
    Payload,
    kafka::{Start, tail_config},
};
use futures::StreamExt;
use ratatui::DefaultTerminal;
use rdkafka::consumer::{Consumer, StreamConsumer};
use tokio::sync::{Notify, mpsc};
use tokio_util::sync::CancellationToken;

use super::{Kitchen, KitchenCommand, KitchenEvent, KitchenMsg, ui};
use crate::{
    config::{Config, Feed},
    data::{Gateway, action_error},
};

const PROBE_EVERY: Duration = Duration::from_secs(1);
const PROBE_TIMEOUT: Duration = Duration::from_millis(1500);
const BACKOFF_MIN: Duration = Duration::from_millis(250);
const BACKOFF_MAX: Duration = Duration::from_secs(5);
/// How often the screen asks the gateway when it has no Kafka feed.
const POLL_EVERY: Duration = Duration::from_secs(2);
const FRAME: Duration = Duration::from_millis(33);
const BATCH: usize = 4096;

/// What a `food.orders.v1` record means to a kitchen, if anything.
pub fn decode_order_event(payload: &[u8]) -> Option<KitchenEvent> {
    match food_events::decode(payload).ok()?.payload? {
        Payload::OrderPlaced(e) => Order::try_from(e.order?).ok().map(KitchenEvent::Changed),
        Payload::OrderStatusChanged(e) => Order::try_from(e.order?).ok().map(KitchenEvent::Changed),
        Payload::OrderCancelled(e) => Some(KitchenEvent::Cancelled {
            order_id: e.order_id,
        }),
        Payload::DeliveryStatusChanged(_) => None,
    }
}

/// The restaurant's orders in the kitchen's lanes.
pub async fn snapshot(gateway: &Gateway, restaurant: &str) -> anyhow::Result<Vec<Order>> {
    let mut all = Vec::new();
    for status in OrderStatus::KITCHEN {
        all.extend(gateway.orders(restaurant, status).await?);
    }
    Ok(all)
}

/// The restaurant's dishes' prep times, for the accept prompt's default.
async fn menu(gateway: &Gateway, restaurant: &str) -> Option<HashMap<String, u32>> {
    let items = gateway.menu(restaurant).await.ok()?;
    Some(items.into_iter().map(|i| (i.id, i.prep_minutes)).collect())
}

/// The restaurant's `--kitchen` settings: its name and, when it accepts by
/// hand, its acceptance timeout. An id the gateway does not know stops the
/// screen; a gateway that is away does not.
pub async fn restaurant(
    gateway: &Gateway,
    id: &str,
) -> anyhow::Result<(String, Option<TimeDelta>)> {
    match gateway.restaurant(id).await {
        Ok(r) => Ok((
            r.name,
            (!r.auto_accept).then(|| TimeDelta::seconds(i64::from(r.acceptance_timeout_s))),
        )),
        Err(e) if e.is_not_found() => {
            anyhow::bail!("no restaurant `{id}`; `foodctl restaurant list` shows their ids")
        }
        Err(_) => Ok((id.to_owned(), None)),
    }
}

/// Runs the kitchen in the terminal, or prints one frame for `--snapshot`.
pub async fn run(config: Config, restaurant_id: String) -> anyhow::Result<()> {
    let gateway = Gateway::new(&config.gateway, config.token.clone())?;
    let mut options = crate::event::options(&config);
    let (name, timeout) = restaurant(&gateway, &restaurant_id).await?;
    options.restaurant = Some(name);
    let mut kitchen = Kitchen::new(options, restaurant_id.clone(), Utc::now());
    kitchen.acceptance_timeout = timeout;
    if let Some((width, height)) = config.snapshot {
        let orders = snapshot(&gateway, &restaurant_id)
            .await
            .map_err(|e| anyhow!("fetching the orders from {}: {e:#}", gateway.base()))?;
        kitchen.on_data(KitchenEvent::Snapshot(orders));
        let text = ui::render_to_text(&kitchen, width, height);
        let mut out = std::io::stdout().lock();
        return match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
            r => Ok(r?),
        };
    }
    let (tx, mut rx) = mpsc::channel::<KitchenMsg>(BATCH * 2);
    let shutdown = CancellationToken::new();
    let resync = Arc::new(Notify::new());
    let feed = tokio::spawn(run_feed(
        config.feed.clone(),
        restaurant_id.clone(),
        gateway.clone(),
        tx.clone(),
        resync.clone(),
        shutdown.clone(),
    ));
    {
        let (tx, gateway, id) = (tx.clone(), gateway.clone(), restaurant_id.clone());
        tokio::spawn(async move {
            if let Some(prep) = menu(&gateway, &id).await {
                let _ = tx.send(KitchenMsg::Menu(prep)).await;
            }
        });
    }
    let mut terminal = ratatui::try_init()?;
    let result = event_loop(&mut terminal, &mut kitchen, &mut rx, &tx, &gateway, &resync).await;
    ratatui::restore();
    shutdown.cancel();
    feed.abort();
    result
}

async fn event_loop(
    terminal: &mut DefaultTerminal,
    k: &mut Kitchen,
    rx: &mut mpsc::Receiver<KitchenMsg>,
    tx: &mpsc::Sender<KitchenMsg>,
    gateway: &Gateway,
    resync: &Notify,
) -> anyhow::Result<()> {
    let mut input = EventStream::new();
    let mut frame = tokio::time::interval(FRAME);
    frame.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let mut dirty = true;
    let mut last_second = k.now().timestamp();
    loop {
        let mut draw_now = false;
        tokio::select! {
            ev = input.next() => match ev {
                Some(Ok(Event::Key(key))) => {
                    k.set_now(Utc::now());
                    if let Some(cmd) = k.on_key(key) {
                        execute(cmd, tx, gateway, resync);
                    }
                    draw_now = true;
                }
                Some(Ok(Event::Resize(..))) => draw_now = true,
                Some(Ok(_)) => {}
                Some(Err(e)) => return Err(e.into()),
                None => return Ok(()),
            },
            _ = frame.tick() => {
                k.set_now(Utc::now());
                // Countdowns move once a second even when nothing happens.
                if k.now().timestamp() != last_second {
                    last_second = k.now().timestamp();
                    dirty = true;
                }
                draw_now = dirty;
            }
            msg = rx.recv() => {
                let Some(msg) = msg else { return Ok(()) };
                k.on_msg(msg);
                for _ in 0..BATCH {
                    match rx.try_recv() {
                        Ok(msg) => k.on_msg(msg),
                        Err(_) => break,
                    }
                }
                dirty = true;
            }
        }
        if k.should_quit() {
            return Ok(());
        }
        if draw_now {
            terminal.draw(|f| ui::render(k, f))?;
            dirty = false;
        }
    }
}

/// Carries out a kitchen command; the answer comes back as a message.
pub fn execute(
    cmd: KitchenCommand,
    tx: &mpsc::Sender<KitchenMsg>,
    gateway: &Gateway,
    resync: &Notify,
) {
    let (order_id, what) = match &cmd {
        KitchenCommand::Quit => return,
        KitchenCommand::Resync => {
            resync.notify_one();
            return;
        }
        KitchenCommand::Accept { order_id, .. } => (order_id.clone(), "accepted"),
        KitchenCommand::Reject { order_id, .. } => (order_id.clone(), "rejected"),
        KitchenCommand::Ready { order_id } => (order_id.clone(), "ready"),
    };
    let (tx, gateway) = (tx.clone(), gateway.clone());
    tokio::spawn(async move {
        let result = match cmd {
            KitchenCommand::Accept {
                order_id,
                prep_minutes,
            } => gateway.accept(&order_id, prep_minutes).await,
            KitchenCommand::Reject { order_id, reason } => gateway.reject(&order_id, &reason).await,
            KitchenCommand::Ready { order_id } => gateway.ready(&order_id).await,
            KitchenCommand::Quit | KitchenCommand::Resync => return,
        }
        .map_err(|e| action_error(&e));
        let _ = tx
            .send(KitchenMsg::ActionDone {
                order_id,
                what,
                result,
            })
            .await;
    });
}

/// Sessions until shutdown: each sends `Connecting`, a snapshot, then live
/// changes; a lost one sends `Lost` and is retried with backoff.
pub async fn run_feed(
    feed: Feed,
    restaurant: String,
    gateway: Gateway,
    tx: mpsc::Sender<KitchenMsg>,
    resync: Arc<Notify>,
    shutdown: CancellationToken,
) {
    let mut attempt: u32 = 0;
    let mut backoff = BACKOFF_MIN;
    loop {
        let send = |ev| tx.send(KitchenMsg::Data(ev));
        if send(KitchenEvent::Connecting { attempt }).await.is_err() {
            return;
        }
        let mut live = false;
        let ended = tokio::select! {
            r = session(&feed, &restaurant, &gateway, &tx, &resync, &mut live) => r,
            _ = shutdown.cancelled() => return,
        };
        match ended {
            Ok(true) => return,
            Ok(false) => {
                attempt = 0;
                backoff = BACKOFF_MIN;
                continue;
            }
            Err(error) => {
                if live {
                    attempt = 0;
                    backoff = BACKOFF_MIN;
                }
                let lost = KitchenEvent::Lost {
                    error: format!("{error:#}"),
                };
                if send(lost).await.is_err() {
                    return;
                }
            }
        }
        attempt += 1;
        tokio::select! {
            _ = tokio::time::sleep(backoff) => {}
            _ = resync.notified() => {}
            _ = shutdown.cancelled() => return,
        }
        backoff = (backoff * 2).min(BACKOFF_MAX);
    }
}

/// One session; `Ok(true)` when the screen is gone, `Ok(false)` on a resync.
async fn session(
    feed: &Feed,
    restaurant: &str,
    gateway: &Gateway,
    tx: &mpsc::Sender<KitchenMsg>,
    resync: &Notify,
    live: &mut bool,
) -> anyhow::Result<bool> {
    let send = |ev| tx.send(KitchenMsg::Data(ev));
    let Feed::Kafka { brokers, topic } = feed else {
        // No broker: the gateway's lists, again and again.
        loop {
            let orders = snapshot(gateway, restaurant)
                .await
                .context("fetching the orders")?;
            *live = true;
            if send(KitchenEvent::Snapshot(orders)).await.is_err() {
                return Ok(true);
            }
            tokio::select! {
                _ = tokio::time::sleep(POLL_EVERY) => {}
                _ = resync.notified() => return Ok(false),
            }
        }
    };
    let group = format!("food-board-kitchen-{}", uuid::Uuid::now_v7());
    let consumer: StreamConsumer = tail_config(brokers, &group, Start::Latest)
        .create()
        .context("creating the Kafka consumer")?;
    let consumer = Arc::new(consumer);
    let c = consumer.clone();
    let t = topic.clone();
    let assignment = tokio::task::spawn_blocking(move || crate::data::latest_offsets(&c, &t))
        .await?
        .with_context(|| format!("reading offsets of {topic} from {brokers}"))?;
    consumer.assign(&assignment)?;
    let orders = snapshot(gateway, restaurant)
        .await
        .context("fetching the orders")?;
    if send(KitchenEvent::Snapshot(orders)).await.is_err() {
        return Ok(true);
    }
    *live = true;
    let mut probe = tokio::time::interval(PROBE_EVERY);
    probe.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    probe.tick().await;
    let result = loop {
        tokio::select! {
            m = consumer.recv() => if let Ok(m) = m
                && let Some(ev) = rdkafka::Message::payload(&m).and_then(decode_order_event)
                && send(ev).await.is_err()
            {
                break Ok(true);
            },
            _ = probe.tick() => {
                let pc = consumer.clone();
                let t = topic.clone();
                let r = tokio::task::spawn_blocking(move || pc.fetch_metadata(Some(&t), PROBE_TIMEOUT))
                    .await?;
                if let Err(e) = r {
                    break Err(anyhow!("broker {brokers} unreachable: {e}"));
                }
            }
            _ = resync.notified() => break Ok(false),
        }
    };
    // Closing a consumer whose broker is gone may block: not on the runtime.
    tokio::task::spawn_blocking(move || drop(consumer));
    result
}

#[cfg(test)]
mod tests {
    use food_proto::events::v1::{OrderCancelled, OrderPlaced, OrderStatusChanged};
    use prost::Message as _;

    use super::*;
    use crate::kitchen::tests::order;

    fn encoded(p: Payload) -> Vec<u8> {
        food_events::new_envelope("trace", p).encode_to_vec()
    }

    #[test]
    fn order_events_decode_into_kitchen_events() {
        let placed = order(1, OrderStatus::Placed, 2);
        let mut preparing = placed.clone();
        preparing.status = OrderStatus::Preparing;

        let a = decode_order_event(&encoded(Payload::OrderPlaced(OrderPlaced {
            order: Some(placed.clone().into()),
        })));
        let b = decode_order_event(&encoded(Payload::OrderStatusChanged(OrderStatusChanged {
            order_id: preparing.id.clone(),
            previous: 1,
            status: 2,
            order: Some(preparing.clone().into()),
        })));
        let c = decode_order_event(&encoded(Payload::OrderCancelled(OrderCancelled {
            order_id: placed.id.clone(),
            customer_id: placed.customer_id.clone(),
            reason: None,
        })));

        assert_eq!(a, Some(KitchenEvent::Changed(placed.clone())));
        assert_eq!(b, Some(KitchenEvent::Changed(preparing)));
        assert_eq!(
            c,
            Some(KitchenEvent::Cancelled {
                order_id: placed.id
            })
        );
        assert_eq!(decode_order_event(b"garbage"), None);
    }
}
