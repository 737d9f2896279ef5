//! `ferry filters`: the saved ad hoc filters, their SQL and a preview; and
//! `ferry resume`, for scripts stopped by a rights refusal.

use std::collections::BTreeMap;

use clap::Subcommand;

use super::output::{table, Cell, Listing};
use super::Failure;
use crate::app::App;
use crate::filter::{compile, Filters};
use crate::source::{Param, RowStream};

/// Options of `ferry filters`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// What to do.
    #[command(subcommand)]
    pub command: FiltersCommand,
}

/// The `ferry filters` subcommands.
#[derive(Subcommand, Debug)]
pub enum FiltersCommand {
    /// The saved filters with their owners.
    List(super::output::View),
    /// One filter: its definition and the SQL it compiles to.
    Show {
        /// The filter's name (its file name in filters/).
        name: String,
    },
    /// Compile, check the owner's rights, run it and show the first rows.
    Test {
        /// Name of the filter's file in filters/, without `.toml`.
        name: String,
        /// A value for a `{ param = "..." }` in the filter: --param prefix=Mc
        #[arg(long = "param", value_parser = super::run::parse_param)]
        params: Vec<(String, String)>,
        /// At most this many rows printed; all are counted.
        #[arg(long, default_value_t = 10)]
        rows: usize,
    },
}

/// Runs a `ferry filters` subcommand.
pub(super) async fn run(args: Args, app: &App) -> Result<(), Failure> {
    let filters = Filters::open(&app.settings.filters_dir)?;
    let year = app.settings.active_year();
    match args.command {
        FiltersCommand::List(view) => {
            let mut listing = Listing::new(
                view,
                &[
                    ("filter", "filter"),
                    ("name", "name"),
                    ("owner", "owner"),
                    ("fields", "fields"),
                    ("conditions", "conditions"),
                    ("error", "error"),
                ],
            );
            for n in filters.names() {
                match filters.get(&n) {
                    Ok(f) => listing.row(vec![
                        Cell::of(n),
                        Cell::of(f.name.clone()),
                        Cell::of(f.owner.clone()),
                        Cell::of(f.fields.len()),
                        Cell::of(f.conditions.len()),
                        Cell::of(None::<String>),
                    ]),
                    Err(e) => listing.row(vec![
                        Cell::of(n),
                        Cell::of(None::<String>),
                        Cell::of(None::<String>),
                        Cell::of(None::<usize>),
                        Cell::of(None::<usize>),
                        Cell::of(e.to_string()),
                    ]),
                };
            }
            listing.print("no saved filters")?;
        }
        FiltersCommand::Show { name } => {
            let f = filters.get(&name)?;
            println!(
                "filter {name}: {}  (owner {})",
                f.name.clone().unwrap_or_default(),
                f.owner
            );
            match compile(&filters.model, &f, &BTreeMap::new(), year) {
                Ok(q) => println!("{}\n-- parameters: {:?}", q.sql, q.params),
                Err(e) => println!("(needs parameters to compile: {e})"),
            }
        }
        FiltersCommand::Test { name, params, rows } => {
            let f = filters.get(&name)?;
            let rights = app.store.owner_rights(&f.owner).await?;
            filters.check_rights(&name, &f, &rights)?;
            let given: BTreeMap<String, Param> = params.into_iter().map(|(k, v)| (k, Param::Text(v))).collect();
            let q = compile(&filters.model, &f, &given, year)?;
            println!("{}\n-- parameters: {:?}\n", q.sql, q.params);
            let source = app.databases.get("live").await?;
            let mut stream = RowStream::spawn(move |mut tx| {
                Box::pin(async move {
                    source.stream(&q, &mut tx).await?;
                    tx.finish().await
                })
            });
            let deadline = std::time::Instant::now() + app.settings.filter_timeout;
            let columns: Vec<String> = stream
                .start(Some(deadline))
                .await
                .map_err(anyhow::Error::from)?
                .iter()
                .map(|c| c.name.clone())
                .collect();
            let mut t = table(&columns.iter().map(String::as_str).collect::<Vec<_>>());
            let (mut shown, mut total) = (0, 0u64);
            while let Some(batch) = stream.next_batch(Some(deadline)).await.map_err(anyhow::Error::from)? {
                for row in batch.rows() {
                    if shown < rows {
                        t.add_row(row.iter().map(|v| v.unwrap_or("").to_string()).collect::<Vec<_>>());
                        shown += 1;
                    }
                    total += 1;
                }
                stream.recycle(batch);
            }
            println!("{t}\n{total} rows");
        }
    }
    Ok(())
}

/// Options of `ferry resume`.
#[derive(clap::Args, Debug)]
pub struct ResumeArgs {
    /// The script to schedule again.
    pub script: String,
}

/// Lets a script stopped for a rights refusal run on schedule again.
pub(super) async fn resume(args: ResumeArgs, app: &App) -> Result<(), Failure> {
    if !app.store.resume(&args.script).await? {
        return Err(anyhow::anyhow!("{} is not stopped", args.script).into());
    }
    println!("{} will run on schedule again", args.script);
    Ok(())
}
