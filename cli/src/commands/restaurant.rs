//! `foodctl restaurant list|show|open|close`: where a customer starts, and
//! how ops pause a kitchen that is overwhelmed.

use std::process::ExitCode;

use food_api::{ItemList, Restaurant, RestaurantList, UpdateRestaurant};
use food_client::path_segment;

use super::{Ctx, fetch_all};
use crate::{
    cli::{Page, RestaurantCmd},
    exit::Exit,
    gateway::typed,
    table,
};

pub async fn run(ctx: &Ctx, cmd: RestaurantCmd) -> anyhow::Result<ExitCode> {
    match cmd {
        RestaurantCmd::List {
            cuisine,
            open,
            search,
            page,
        } => {
            let filtered = cuisine.is_some() || open || search.is_some();
            let mut q = Vec::new();
            if let Some(c) = cuisine {
                q.push(("cuisine", c));
            }
            if open {
                q.push(("open", "true".to_owned()));
            }
            if let Some(s) = search {
                q.push(("q", s));
            }
            let v = fetch_all(&ctx.client, "/restaurants", &q, "restaurants", &page).await?;
            ctx.out.list(&v, "restaurants", || {
                let list: RestaurantList = typed(&v)?;
                Ok(table::restaurants(
                    &list.restaurants,
                    ctx.out.wide(),
                    ctx.out.color,
                ))
            })?;
            if v.list("restaurants").is_none_or(Vec::is_empty) {
                ctx.out.hint(if filtered {
                    "no restaurant matches; try fewer filters"
                } else {
                    "no restaurants yet; ops add them with `foodctl menu import FILE`"
                });
            } else {
                ctx.out.hint(
                    "a restaurant's dishes: foodctl menu list --restaurant ID (or foodctl restaurant show ID)",
                );
            }
        }
        RestaurantCmd::Show { id } => {
            let v = ctx.client.get(&path(&id), &[]).await?;
            if ctx.out.format.is_table() {
                let r: Restaurant = typed(&v)?;
                // Only people get the menu: `-o json` stays the API's object,
                // and scripts ask `menu list --restaurant` for the dishes.
                let menu = fetch_all(
                    &ctx.client,
                    &format!("{}/menu", path(&id)),
                    &[],
                    "items",
                    &Page {
                        limit: None,
                        cursor: None,
                    },
                )
                .await?;
                let items: ItemList = typed(&menu)?;
                ctx.out.object(&v, || {
                    Ok(table::restaurant_with_menu(&r, &items.items, ctx.out.color))
                })?;
                if !r.open {
                    ctx.out
                        .hint(format!("{} is closed: it takes no orders for now", r.name));
                } else if !items.items.is_empty() {
                    ctx.out
                        .hint("order with: foodctl order create --item ID[:QTY] --address TEXT");
                }
            } else {
                ctx.out.object(&v, || {
                    Ok(table::restaurant(&typed::<Restaurant>(&v)?, ctx.out.color))
                })?;
            }
        }
        RestaurantCmd::Open { id } => set_open(ctx, &id, true).await?,
        RestaurantCmd::Close { id } => set_open(ctx, &id, false).await?,
    }
    Ok(Exit::Ok.into())
}

fn path(id: &str) -> String {
    format!("/restaurants/{}", path_segment(id))
}

/// `PATCH /restaurants/:id`, printing the restaurant as it is now.
async fn set_open(ctx: &Ctx, id: &str, open: bool) -> anyhow::Result<()> {
    let body = UpdateRestaurant { open: Some(open) };
    let v = ctx.client.patch(&path(id), &body, &[]).await?;
    ctx.out.object(&v, || {
        Ok(table::restaurant(&typed::<Restaurant>(&v)?, ctx.out.color))
    })?;
    Ok(())
}
