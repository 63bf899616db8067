//! `order create -f FILE|-`: one JSON order, a JSON array, or NDJSON with
//! one order per line.
//!
//! Lines are sent with bounded concurrency but printed in input order, one
//! result line per input line: the created order as the gateway returned it,
//! or `{"line": n, "error": {...}}`. Each line is sent with its own
//! idempotency key, or one derived from its content and line number, so a
//! re-run after an interruption creates nothing twice.

use std::{path::Path, process::ExitCode};

use food_api::{CreateOrder, ErrorCode};
use food_client::gateway::error_json;
use futures::StreamExt;
use serde_json::{Value, json};

use super::{Ctx, read_input};
use crate::{
    cli::OrderCreate,
    exit::{Exit, fail},
    gateway::{Gateway, typed},
    parse::derive_idempotency_key,
    progress::Progress,
    table,
};

/// One order to send.
#[derive(Debug)]
pub struct Job {
    /// 1-based line (or array position) in the input.
    pub line: usize,
    /// The order, or why the line is not one.
    pub order: Result<CreateOrder, String>,
    pub key: String,
}

/// What the input held.
#[derive(Debug)]
pub enum Input {
    /// A single JSON document holding one order.
    One(Job),
    /// Many orders: NDJSON lines or a JSON array.
    Many(Vec<Job>),
}

fn job(line: usize, raw: &str, value: Result<Value, String>, customer: Option<&str>) -> Job {
    let order =
        value.and_then(|v| serde_json::from_value::<CreateOrder>(v).map_err(|e| e.to_string()));
    let (order, key) = match order {
        Ok(mut o) => {
            let key = o
                .idempotency_key
                .take()
                .unwrap_or_else(|| derive_idempotency_key(line, raw));
            if o.customer_id.is_none() {
                o.customer_id = customer.map(str::to_owned);
            }
            (Ok(o), key)
        }
        Err(e) => (Err(e), derive_idempotency_key(line, raw)),
    };
    Job { line, order, key }
}

/// Splits the input into jobs; `customer` fills lines without a customer id.
pub fn parse_input(text: &str, customer: Option<&str>) -> anyhow::Result<Input> {
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return Err(fail(Exit::Usage, "no orders in the input"));
    }
    if let Ok(v) = serde_json::from_str::<Value>(trimmed) {
        return match v {
            Value::Object(_) => Ok(Input::One(job(1, trimmed, Ok(v), customer))),
            Value::Array(a) => Ok(Input::Many(
                a.into_iter()
                    .enumerate()
                    .map(|(i, v)| job(i + 1, &v.to_string(), Ok(v), customer))
                    .collect(),
            )),
            _ => Err(fail(
                Exit::Usage,
                "expected an order object, an array of them, or NDJSON",
            )),
        };
    }
    let jobs = text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| {
            let v = serde_json::from_str::<Value>(l).map_err(|e| format!("not JSON: {e}"));
            job(i + 1, l, v, customer)
        })
        .collect();
    Ok(Input::Many(jobs))
}

/// The result line of one job (without its newline) and its exit code.
async fn send(client: &Gateway, job: Job) -> (String, Exit) {
    let order = match job.order {
        Ok(o) => o,
        Err(msg) => {
            let err =
                json!({ "line": job.line, "error": error_json(ErrorCode::InvalidArgument, &msg) });
            return (err.to_string(), Exit::Usage);
        }
    };
    match client
        .post("/orders", &order, &[("Idempotency-Key", &job.key)])
        .await
    {
        Ok(v) => (v.to_json().unwrap_or_default(), Exit::Ok),
        Err(e) => (
            json!({ "line": job.line, "error": e.to_error_json() }).to_string(),
            Exit::of_api(&e),
        ),
    }
}

pub async fn run(ctx: &Ctx, args: &OrderCreate, file: &Path) -> anyhow::Result<ExitCode> {
    let input = parse_input(&read_input(file)?, args.customer.as_deref())?;
    let jobs = match input {
        Input::One(job) => {
            let order = job.order.map_err(|e| fail(Exit::Usage, e))?;
            let v = ctx
                .client
                .post("/orders", &order, &[("Idempotency-Key", &job.key)])
                .await?;
            ctx.out.object(&v, || {
                Ok(table::order(&typed(&v)?, chrono::Utc::now(), ctx.out.color))
            })?;
            return Ok(Exit::Ok.into());
        }
        Input::Many(jobs) => jobs,
    };
    let total = jobs.len();
    let mut progress = Progress::new(ctx.settings.quiet);
    let mut failed = Vec::new();
    let mut done = 0usize;
    let client = &ctx.client;
    let mut results = futures::stream::iter(jobs)
        .map(|j| send(client, j))
        .buffered(usize::from(args.concurrency));
    while let Some((line, exit)) = results.next().await {
        ctx.out.line(&line)?;
        done += 1;
        if exit != Exit::Ok {
            failed.push(exit);
        }
        progress.show(
            &format!("{done}/{total} orders, {} failed", failed.len()),
            done == total,
        );
    }
    progress.clear();
    let exit = Exit::shared(failed.iter().copied());
    if failed.is_empty() {
        ctx.out.note(format!("{total} orders sent, none failed"));
    } else {
        ctx.out
            .note(format!("{total} orders sent, {} failed", failed.len()));
    }
    Ok(exit.into())
}

#[cfg(test)]
mod tests {
    use super::*;

    const LINE: &str = r#"{"items":[{"item_id":"a","quantity":1}],"delivery_address":"x"}"#;

    #[test]
    fn ndjson_lines_become_jobs_numbered_by_input_line() {
        let text = format!("{LINE}\n\n{LINE}\nnot json\n");
        let Input::Many(jobs) = parse_input(&text, Some("c1")).unwrap() else {
            panic!()
        };
        assert_eq!(jobs.iter().map(|j| j.line).collect::<Vec<_>>(), [1, 3, 4]);
        assert_eq!(
            jobs[0].order.as_ref().unwrap().customer_id.as_deref(),
            Some("c1")
        );
        assert_ne!(
            jobs[0].key, jobs[1].key,
            "equal lines at two places are two orders"
        );
        assert!(jobs[2].order.is_err());
    }

    #[test]
    fn a_line_keeps_its_own_idempotency_key() {
        let line = r#"{"items":[{"item_id":"a","quantity":1}],"delivery_address":"x","idempotency_key":"k-1"}"#;
        let Input::One(job) = parse_input(line, None).unwrap() else {
            panic!()
        };
        assert_eq!(job.key, "k-1");
        assert_eq!(job.order.unwrap().idempotency_key, None);
    }

    #[test]
    fn the_same_file_gives_the_same_keys_on_every_run() {
        let text = format!("{LINE}\n{LINE}\n");
        let keys = |t: &str| match parse_input(t, None).unwrap() {
            Input::Many(j) => j.into_iter().map(|j| j.key).collect::<Vec<_>>(),
            Input::One(_) => panic!(),
        };
        assert_eq!(keys(&text), keys(&text));
    }

    #[test]
    fn a_pretty_printed_document_is_one_order_and_an_array_is_many() {
        let pretty = "{\n  \"items\": [{\"item_id\": \"a\", \"quantity\": 2}],\n  \"delivery_address\": \"x\"\n}\n";
        assert!(matches!(parse_input(pretty, None).unwrap(), Input::One(_)));
        let Input::Many(jobs) = parse_input(&format!("[{LINE},{LINE}]"), None).unwrap() else {
            panic!()
        };
        assert_eq!(jobs.len(), 2);
        assert_eq!(
            Exit::of(&parse_input(" \n", None).unwrap_err()),
            Exit::Usage
        );
    }
}
