//! `food-contract export [DIR]`: writes the contract files (docs/api by
//! default). `food-contract check [DIR]`: exits 1 when one differs.

use anyhow::{Context, bail};

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let command = args.next().unwrap_or_default();
    let dir = args
        .next()
        .map(Into::into)
        .unwrap_or_else(food_contract::docs_dir);
    match command.as_str() {
        "export" => {
            std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
            let dir = std::fs::canonicalize(&dir)?;
            for (name, content) in food_contract::files() {
                let path = dir.join(name);
                std::fs::write(&path, content)
                    .with_context(|| format!("writing {}", path.display()))?;
                println!("wrote {}", path.display());
            }
            Ok(())
        }
        "check" => {
            let mut stale = Vec::new();
            for (name, content) in food_contract::files() {
                let path = dir.join(name);
                if std::fs::read_to_string(&path).ok().as_deref() != Some(content.as_str()) {
                    stale.push(path.display().to_string());
                }
            }
            if stale.is_empty() {
                println!("docs/api is up to date");
                Ok(())
            } else {
                bail!(
                    "out of date with the code: {}; run `cargo run -p food-contract -- export` \
                     and review the diff",
                    stale.join(", ")
                )
            }
        }
        _ => bail!("usage: food-contract export|check [DIR]"),
    }
}
