//! Board benchmarks (figures for docs/benchmarks.md), printed as plain text.
//!
//! - frame render: 10,000 active deliveries drawn into a `TestBackend`
//!   (target: at most 8 ms per frame), p50 and p99;
//! - ingest: live events merged into the board state, in events per second
//!   (target: 5,000/s sustained), alone and with a frame drawn every 33 ms.
//!
//! Run with `cargo bench -p food-board --bench board`.

use std::time::{Duration, Instant};

use chrono::{TimeDelta, TimeZone, Utc};
use food_api::{Delivery, DeliveryStatus, HistoryEntry};
use food_board::{
    app::{App, DataEvent, Options},
    ui,
};
use ratatui::{Terminal, backend::TestBackend};

const ACTIVE: u32 = 10_000;
const FRAMES: usize = 300;
const INGEST: u64 = 200_000;
const TARGET_FRAME_MS: f64 = 8.0;
const TARGET_EVENTS_PER_S: f64 = 5_000.0;

fn delivery(n: u32, version: u64) -> Delivery {
    let t0 = Utc.with_ymd_and_hms(2026, 3, 14, 12, 0, 0).unwrap();
    let status = DeliveryStatus::ACTIVE[(n as usize + version as usize) % 4];
    let at = t0 - TimeDelta::seconds(i64::from(n % 3600));
    Delivery {
        courier_name: None,
        restaurant_id: None,
        restaurant_name: None,
        pickup_address: None,
        order_id: format!("0190f3b2-7c1e-7d2a-9f00-{n:012}"),
        customer_id: format!("cust-{:04}", n % 977),
        item_count: n % 5 + 1,
        total_cents: i64::from(n % 9000) + 500,
        currency: "EUR".into(),
        delivery_address: format!("{n} Main Street"),
        status,
        courier: (status != DeliveryStatus::Pending).then(|| format!("courier-{}", n % 40)),
        eta: None,
        version,
        created_at: at,
        updated_at: at,
        history: vec![HistoryEntry {
            status,
            at,
            note: None,
            courier: None,
        }],
    }
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    let ix = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[ix].as_secs_f64() * 1000.0
}

fn board() -> App {
    let now = Utc.with_ymd_and_hms(2026, 3, 14, 12, 0, 0).unwrap();
    let mut app = App::new(Options::default(), now);
    app.on_data(DataEvent::Snapshot(
        (0..ACTIVE).map(|n| delivery(n, 1)).collect(),
    ));
    app
}

fn bench_render(width: u16, height: u16) {
    let mut app = board();
    let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
    let mut samples = Vec::with_capacity(FRAMES);
    for i in 0..FRAMES {
        // Every frame sees one change, as on a busy board: the lanes are
        // rebuilt (filter and sort over all 10,000) and then drawn.
        app.on_data(DataEvent::Changed(delivery(
            i as u32 % ACTIVE,
            2 + i as u64,
        )));
        let start = Instant::now();
        terminal.draw(|f| ui::render(&app, f)).unwrap();
        samples.push(start.elapsed());
    }
    samples.sort();
    let (p50, p99) = (percentile(&samples, 0.50), percentile(&samples, 0.99));
    println!(
        "render {width}x{height}, {ACTIVE} active deliveries, lanes rebuilt every frame: \
         p50 {p50:.2} ms, p99 {p99:.2} ms, max {:.2} ms (target <= {TARGET_FRAME_MS} ms): {}",
        samples.last().unwrap().as_secs_f64() * 1000.0,
        if p99 <= TARGET_FRAME_MS {
            "ok"
        } else {
            "MISSED"
        }
    );

    let mut samples = Vec::with_capacity(FRAMES);
    for _ in 0..FRAMES {
        let start = Instant::now();
        terminal.draw(|f| ui::render(&app, f)).unwrap();
        samples.push(start.elapsed());
    }
    samples.sort();
    println!(
        "render {width}x{height}, {ACTIVE} active deliveries, unchanged lanes: p50 {:.2} ms, p99 {:.2} ms",
        percentile(&samples, 0.50),
        percentile(&samples, 0.99)
    );
}

fn bench_ingest() {
    let mut app = board();
    let events: Vec<Delivery> = (0..INGEST)
        .map(|i| delivery((i % u64::from(ACTIVE)) as u32, 2 + i))
        .collect();
    let start = Instant::now();
    for d in events {
        app.on_data(DataEvent::Changed(d));
    }
    let secs = start.elapsed().as_secs_f64();
    let rate = INGEST as f64 / secs;
    println!(
        "ingest into state: {INGEST} events in {:.1} ms = {:.0} events/s ({:.0}x the {TARGET_EVENTS_PER_S:.0}/s target)",
        secs * 1000.0,
        rate,
        rate / TARGET_EVENTS_PER_S
    );

    // Sustained: one simulated second of 5,000 events/s in 30 frames, each
    // frame applying its share of events and then drawing the board.
    let mut app = board();
    let mut terminal = Terminal::new(TestBackend::new(200, 50)).unwrap();
    let seconds = 5;
    let per_frame = (TARGET_EVENTS_PER_S as u64) / 30;
    let mut v = 1_000_000;
    let start = Instant::now();
    for frame in 0..30 * seconds {
        for i in 0..per_frame {
            v += 1;
            app.on_data(DataEvent::Changed(delivery(
                ((frame * per_frame + i) % u64::from(ACTIVE)) as u32,
                v,
            )));
        }
        terminal.draw(|f| ui::render(&app, f)).unwrap();
    }
    let busy = start.elapsed().as_secs_f64() / seconds as f64;
    println!(
        "sustained {TARGET_EVENTS_PER_S:.0} events/s with 30 frames/s at 200x50: {:.1} ms of work per second of wall time \
         ({:.0}% of one core; keeps up: {})",
        busy * 1000.0,
        busy * 100.0,
        if busy < 1.0 { "yes" } else { "NO" }
    );
}

fn main() {
    // `cargo test --benches` runs this with --bench absent; keep that quick.
    if !std::env::args().any(|a| a == "--bench") {
        println!("board benchmarks: run with `cargo bench -p food-board --bench board`");
        return;
    }
    bench_render(200, 50);
    bench_render(120, 40);
    bench_ingest();
}
