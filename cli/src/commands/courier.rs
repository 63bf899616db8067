//! `foodctl courier list|on|off|set`: who delivers, who is on shift and how
//! busy each is. Dispatch gives new deliveries to couriers on shift only.

use std::process::ExitCode;

use food_api::{Courier, CourierList, CourierShift, PutCourier};
use food_client::routes;

use super::Ctx;
use crate::{
    cli::CourierCmd,
    doc::Doc,
    exit::{Exit, fail},
    gateway::typed,
    table,
};

pub async fn run(ctx: &Ctx, cmd: CourierCmd) -> anyhow::Result<ExitCode> {
    match cmd {
        CourierCmd::List { on_shift } => {
            let q = routes::couriers_query(on_shift.then_some(true));
            let v = ctx.client.get(routes::COURIERS, &q).await?;
            ctx.out.list(&v, "couriers", || {
                let list: CourierList = typed(&v)?;
                Ok(table::couriers(&list.couriers, ctx.out.color))
            })?;
            if v.list("couriers").is_none_or(Vec::is_empty) {
                ctx.out.hint(if on_shift {
                    "no courier is on shift; `foodctl courier on ID` starts one's shift"
                } else {
                    "no couriers yet; ops add one with `foodctl courier set ID --name NAME`"
                });
            }
        }
        CourierCmd::On { id } => shift(ctx, &courier_id(ctx, id)?, true).await?,
        CourierCmd::Off { id } => shift(ctx, &courier_id(ctx, id)?, false).await?,
        CourierCmd::Set { id, name } => {
            let v = ctx
                .client
                .put(&routes::courier(&id), &PutCourier { name }, &[])
                .await?;
            print_courier(ctx, &v)?;
        }
    }
    Ok(Exit::Ok.into())
}

/// The id given, else the one the context's key is bound to.
fn courier_id(ctx: &Ctx, id: Option<String>) -> anyhow::Result<String> {
    id.or_else(|| ctx.settings.courier.clone()).ok_or_else(|| {
        fail(
            Exit::Usage,
            "which courier? give its id (e.g. courier-1; `foodctl courier list` shows \
             them), or name it in the context (`courier = \"ID\"` next to its token)",
        )
    })
}

async fn shift(ctx: &Ctx, id: &str, on_shift: bool) -> anyhow::Result<()> {
    let v = ctx
        .client
        .put(&routes::shift(id), &CourierShift { on_shift }, &[])
        .await?;
    print_courier(ctx, &v)
}

fn print_courier(ctx: &Ctx, v: &Doc) -> anyhow::Result<()> {
    ctx.out.object(v, || {
        Ok(table::couriers(
            std::slice::from_ref(&typed::<Courier>(v)?),
            ctx.out.color,
        ))
    })
}
