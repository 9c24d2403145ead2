//! The `railyard` binary.

use std::process::ExitCode;
use std::sync::Arc;

use clap::Parser;
use server::cli::{AnalyzeCommand, Cli, Command};
use server::clock::{Clock, SystemClock};
use server::fleet::{self, ApplyError};
use server::startup::{shutdown_signal, Application};
use server::store::Db;
use server::{config::Settings, telemetry};

#[tokio::main]
async fn main() -> ExitCode {
    telemetry::init();
    let cli = Cli::parse();
    match run(cli).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("railyard: {error:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    match cli.command {
        Command::Serve(args) => {
            let app = Application::build(Settings::from(args), clock).await?;
            tracing::info!("Railyard is serving http://{}", app.address());
            app.run_until_stopped(shutdown_signal()).await
        }
        Command::Migrate(args) => {
            let db = Db::connect(&args.database_url).await?;
            db.migrate().await?;
            println!("migrations applied");
            Ok(())
        }
        Command::Apply(args) => {
            let db = Db::connect(&args.database.database_url).await?;
            db.migrate().await?;
            match fleet::apply_file(&db, &args.file, clock.now()).await {
                Ok(summary) => {
                    println!("{}: applied ({summary})", args.file.display());
                    Ok(())
                }
                Err(ApplyError::Invalid(problems)) => {
                    for problem in &problems {
                        eprintln!("{problem}");
                    }
                    anyhow::bail!("{} problem(s) found; nothing was applied", problems.len())
                }
                Err(error) => Err(error.into()),
            }
        }
        Command::Analyze(AnalyzeCommand::Canary(args)) => {
            let report = server::canary_replay::analyze(&args)?;
            println!("{}", serde_json::to_string_pretty(&report)?);
            Ok(())
        }
    }
}
