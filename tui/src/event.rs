//! The event loop: one `select!` over terminal input, a frame tick and the
//! data channel; it draws, and carries out the [`Command`]s the board asks for.
//!
//! Data only marks the board dirty; frames are drawn at most every
//! [`FRAME`], so a burst of thousands of events costs a few frames, not
//! thousands. Keys redraw at once, so typing feels immediate.

use std::{io::Write as _, time::Duration};

use chrono::{Local, Offset as _, Utc};
use crossterm::event::{Event, EventStream};
use futures::StreamExt;
use ratatui::DefaultTerminal;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::{
    app::{App, Command, DataEvent, Msg, Options},
    config::Config,
    data::{self, FeedHandle, Gateway},
    ui,
};

/// The shortest time between two frames drawn for data.
const FRAME: Duration = Duration::from_millis(33);
/// Messages applied before the loop looks at input again.
const BATCH: usize = 4096;

/// The board's options for a config, with the clock in local time. A
/// scoped board is headed by its restaurant's id until [`restaurant_name`]
/// finds its name.
pub fn options(config: &Config) -> Options {
    Options {
        read_only: config.read_only,
        warn_after: config.warn_after,
        alert_after: config.alert_after,
        source: config.source(),
        restaurant: config.scope.restaurant.clone(),
        tz: Local::now().offset().fix(),
    }
}

/// The name of the restaurant a board is scoped to. An id the gateway does
/// not know is a typo and stops the board; a gateway that is away does
/// not (the board waits for it), and the id stands in for the name.
pub async fn restaurant_name(gateway: &Gateway, id: &str) -> anyhow::Result<String> {
    match gateway.restaurant(id).await {
        Ok(r) => Ok(r.name),
        Err(e) if e.is_not_found() => {
            anyhow::bail!("no restaurant `{id}`; `foodctl restaurant list` shows their ids")
        }
        Err(_) => Ok(id.to_owned()),
    }
}

/// Runs the board in the terminal until the user quits, or prints one frame
/// for `--snapshot`.
pub async fn run(config: Config) -> anyhow::Result<()> {
    let gateway = Gateway::new(&config.gateway, config.token.clone())?;
    let mut options = options(&config);
    if let Some(id) = &config.scope.restaurant {
        options.restaurant = Some(restaurant_name(&gateway, id).await?);
    }
    if let Some((width, height)) = config.snapshot {
        return print_snapshot(&config, options, &gateway, width, height).await;
    }
    let (tx, mut rx) = mpsc::channel::<Msg>(BATCH * 2);
    let shutdown = CancellationToken::new();
    let feed = data::spawn_feed(
        config.feed.clone(),
        config.scope.clone(),
        gateway.clone(),
        tx.clone(),
        shutdown.clone(),
    );
    let couriers = tokio::spawn(refresh_couriers(gateway.clone(), tx.clone()));
    let mut app = App::new(options, Utc::now());
    // Installs a panic hook that restores the terminal before the message prints.
    let mut terminal = ratatui::try_init()?;
    let result = event_loop(&mut terminal, &mut app, &mut rx, &tx, &gateway, &feed).await;
    ratatui::restore();
    shutdown.cancel();
    feed.abort();
    couriers.abort();
    result
}

/// How often the couriers panel asks for the couriers; delivery events move
/// their loads in between.
const COURIERS_EVERY: Duration = Duration::from_secs(5);

/// Feeds the couriers panel with `GET /couriers` until the board is gone.
/// A key that may not list couriers (401, 403, 404) gets no panel.
pub async fn refresh_couriers(gateway: Gateway, tx: mpsc::Sender<Msg>) {
    loop {
        match gateway.couriers().await {
            Ok(cs) => {
                if tx.send(Msg::Couriers(cs)).await.is_err() {
                    return;
                }
            }
            Err(food_client::ApiError::Api {
                status: 401 | 403 | 404 | 405,
                ..
            }) => return,
            Err(_) => {}
        }
        tokio::time::sleep(COURIERS_EVERY).await;
    }
}

async fn event_loop(
    terminal: &mut DefaultTerminal,
    app: &mut App,
    rx: &mut mpsc::Receiver<Msg>,
    tx: &mpsc::Sender<Msg>,
    gateway: &Gateway,
    feed: &FeedHandle,
) -> anyhow::Result<()> {
    let mut input = EventStream::new();
    let mut frame = tokio::time::interval(FRAME);
    frame.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let mut dirty = true;
    let mut last_second = app.now().timestamp();
    loop {
        let mut draw_now = false;
        tokio::select! {
            ev = input.next() => match ev {
                Some(Ok(Event::Key(key))) => {
                    app.set_now(Utc::now());
                    if let Some(cmd) = app.on_key(key) {
                        execute(cmd, tx, gateway, feed);
                    }
                    draw_now = true;
                }
                // The next draw resizes the buffers.
                Some(Ok(Event::Resize(..))) => draw_now = true,
                Some(Ok(_)) => {}
                Some(Err(e)) => return Err(e.into()),
                None => return Ok(()),
            },
            _ = frame.tick() => {
                app.set_now(Utc::now());
                // The clock and the ages move once a second even when nothing happens.
                if app.now().timestamp() != last_second {
                    last_second = app.now().timestamp();
                    dirty = true;
                }
                if dirty {
                    draw_now = true;
                }
            }
            msg = rx.recv() => {
                let Some(msg) = msg else { return Ok(()) };
                app.on_msg(msg);
                // Drain what is already queued so the board keeps up with bursts.
                for _ in 0..BATCH {
                    match rx.try_recv() {
                        Ok(msg) => app.on_msg(msg),
                        Err(_) => break,
                    }
                }
                dirty = true;
            }
        }
        if app.should_quit() {
            return Ok(());
        }
        if draw_now {
            terminal.draw(|f| ui::render(app, f))?;
            dirty = false;
        }
    }
}

fn execute(cmd: Command, tx: &mpsc::Sender<Msg>, gateway: &Gateway, feed: &FeedHandle) {
    match cmd {
        Command::Quit => {}
        Command::Resync => feed.resync(),
        Command::Update { order_id, body } => {
            let (tx, gateway) = (tx.clone(), gateway.clone());
            tokio::spawn(async move {
                let result = gateway
                    .update(&order_id, &body)
                    .await
                    .map_err(|e| data::action_error(&e));
                let _ = tx.send(Msg::ActionDone { order_id, result }).await;
            });
        }
        Command::FetchOrder { order_id } => {
            let (tx, gateway) = (tx.clone(), gateway.clone());
            tokio::spawn(async move {
                let result = gateway
                    .order(&order_id)
                    .await
                    .map_err(|e| data::action_error(&e));
                let _ = tx.send(Msg::OrderLoaded(result)).await;
            });
        }
    }
}

/// `--snapshot`: one frame of the board as the gateway has it, on stdout.
async fn print_snapshot(
    config: &Config,
    options: Options,
    gateway: &Gateway,
    width: u16,
    height: u16,
) -> anyhow::Result<()> {
    let deliveries = gateway
        .snapshot(&config.scope)
        .await
        .map_err(|e| anyhow::anyhow!("fetching the board from {}: {e}", gateway.base()))?;
    let mut app = App::new(options, Utc::now());
    app.on_data(DataEvent::Snapshot(deliveries));
    // The panel when the key may list couriers; the board without it otherwise.
    if let Ok(cs) = gateway.couriers().await {
        app.on_msg(Msg::Couriers(cs));
    }
    let text = ui::render_to_text(&app, width, height);
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        // `food-board --snapshot | head` is not an error.
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        r => Ok(r?),
    }
}
