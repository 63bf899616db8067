//! `foodctl delivery status|set|list|watch`.

use std::process::ExitCode;

use chrono::Utc;
use food_api::{Delivery, DeliveryList, UpdateDelivery, short_id};
use food_client::path_segment;

use super::{
    Ctx, fetch_all,
    order::{Echo, wait_for, watch_deliveries},
};
use crate::{cli::DeliveryCmd, doc::Doc, exit::Exit, gateway::typed, parse::WaitTarget, table};

pub async fn run(ctx: &Ctx, cmd: DeliveryCmd) -> anyhow::Result<ExitCode> {
    match cmd {
        DeliveryCmd::Status { id } => {
            let v = ctx
                .client
                .get(&format!("/delivery/status/{}", path_segment(&id)), &[])
                .await?;
            print_delivery(ctx, &v)?;
        }
        DeliveryCmd::Set {
            id,
            status,
            courier,
            eta,
            note,
            if_version,
        } => {
            let body = UpdateDelivery {
                status: Some(status),
                courier,
                eta,
                note,
                version: if_version,
            };
            // Both the header and the body carry the version: gateways honour either.
            let etag = if_version.map(|v| format!("\"{v}\""));
            let headers: Vec<(&str, &str)> = etag
                .as_deref()
                .map(|e| ("If-Match", e))
                .into_iter()
                .collect();
            let v = ctx
                .client
                .put(
                    &format!("/delivery/status/{}", path_segment(&id)),
                    &body,
                    &headers,
                )
                .await?;
            print_delivery(ctx, &v)?;
        }
        DeliveryCmd::List {
            status,
            restaurant,
            courier,
            page,
        } => {
            let mut q: Vec<(&str, String)> = Vec::new();
            if let Some(s) = status {
                q.push(("status", s.as_str().to_owned()));
            }
            if let Some(r) = restaurant {
                q.push(("restaurant", r));
            }
            if let Some(c) = courier {
                q.push(("courier", c));
            }
            let filtered = !q.is_empty();
            let v = fetch_all(&ctx.client, "/deliveries", &q, "deliveries", &page).await?;
            ctx.out.list(&v, "deliveries", || {
                let list: DeliveryList = typed(&v)?;
                Ok(table::deliveries(
                    &list.deliveries,
                    Utc::now(),
                    ctx.out.wide(),
                    ctx.out.color,
                ))
            })?;
            if v.list("deliveries").is_none_or(Vec::is_empty) {
                ctx.out.hint(if filtered {
                    "no delivery matches"
                } else {
                    "no deliveries yet: each order gets one when it is placed"
                });
            }
        }
        DeliveryCmd::Watch {
            id: Some(id),
            wait_for: Some(target),
        } => {
            let reached = wait_for(
                ctx,
                &id,
                WaitTarget::Delivery(target),
                ctx.settings.timeout,
                Echo::Changes,
            )
            .await?;
            ctx.out.note(format!(
                "order {} reached {target} ({reached})",
                short_id(&id)
            ));
        }
        DeliveryCmd::Watch { id, .. } => watch_deliveries(ctx, id.as_deref()).await?,
    }
    Ok(Exit::Ok.into())
}

fn print_delivery(ctx: &Ctx, v: &Doc) -> anyhow::Result<()> {
    ctx.out.object(v, || {
        Ok(table::delivery(
            &typed::<Delivery>(v)?,
            Utc::now(),
            ctx.out.color,
        ))
    })
}
