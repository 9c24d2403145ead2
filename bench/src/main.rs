//! The workloads behind `make bench`: each subcommand runs one, in release
//! mode on this machine, and prints one JSON object on stdout that
//! `bench/run` turns into a figure.

mod commits;
mod engine;
mod fleet;
mod judge;
mod scheduler;

use std::path::PathBuf;

use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(name = "railyard-bench", about = "Railyard's benchmark workloads")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// A store with `domains` domains (one train definition each) and `trains`
    /// trains spread over a year around now, plus a read-only API token.
    Seed {
        #[arg(long)]
        database_url: String,
        #[arg(long)]
        domains: usize,
        #[arg(long)]
        trains: usize,
    },
    /// P2: engine events persisted per second while `trains` simulated trains run to the end.
    Engine {
        #[arg(long)]
        database_url: String,
        #[arg(long)]
        trains: usize,
    },
    /// P2's baseline: `count` single-row durable commits (INSERT + COMMIT), same pragmas.
    Commits {
        #[arg(long)]
        database_url: String,
        #[arg(long)]
        count: usize,
    },
    /// P3: judges two samples of `samples` values `repeat` times; writes them to `data` for scipy.
    Judge {
        #[arg(long)]
        samples: usize,
        #[arg(long)]
        data: PathBuf,
        #[arg(long, default_value_t = 5)]
        repeat: usize,
    },
    /// P8: one scheduler tick with `definitions` train definitions.
    Scheduler {
        #[arg(long)]
        database_url: String,
        #[arg(long)]
        definitions: usize,
    },
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let figures = match Cli::parse().command {
        Command::Seed { database_url, domains, trains } => fleet::seed(&database_url, domains, trains).await?,
        Command::Engine { database_url, trains } => engine::run(&database_url, trains).await?,
        Command::Commits { database_url, count } => commits::run(&database_url, count).await?,
        Command::Judge { samples, data, repeat } => judge::run(samples, &data, repeat)?,
        Command::Scheduler { database_url, definitions } => scheduler::run(&database_url, definitions).await?,
    };
    println!("{figures}");
    Ok(())
}
