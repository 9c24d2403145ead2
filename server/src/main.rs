//! The `railyard` binary.

use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use clap::Parser;
use server::audit::{self, Verification};
use server::cli::{AnalyzeCommand, AssetsCommand, AuditCommand, Cli, Command, SloCommand};
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
            let app = Application::build(Settings::from(*args), clock).await?;
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
        Command::Audit(AuditCommand::Verify(args)) => {
            let checkpoint = args.head.as_deref().map(parse_head).transpose()?;
            let verification = match &args.file {
                Some(file) => {
                    let input = std::fs::File::open(file).with_context(|| format!("cannot open {}", file.display()))?;
                    audit::log::verify_export(std::io::BufReader::new(input), checkpoint)?
                }
                None => {
                    let db = Db::connect(&args.database.database_url).await?;
                    db.migrate().await?;
                    let key = args.audit_key.as_deref().filter(|key| !key.is_empty()).map(str::as_bytes);
                    audit::log::verify_store(&db, checkpoint, key).await?
                }
            };
            match verification {
                Verification::Intact { count, head } => {
                    println!("audit log intact: {count} records, head {head}");
                    Ok(())
                }
                Verification::Broken { seq, problem } => {
                    anyhow::bail!("audit log broken at record {seq}: {problem}")
                }
            }
        }
        Command::Audit(AuditCommand::Export(args)) => {
            let db = Db::connect(&args.database.database_url).await?;
            db.migrate().await?;
            let count = if args.output.as_os_str() == "-" {
                audit::log::export(&db, &mut std::io::BufWriter::new(std::io::stdout().lock())).await?
            } else {
                let file = std::fs::File::create(&args.output)
                    .with_context(|| format!("cannot create {}", args.output.display()))?;
                audit::log::export(&db, &mut std::io::BufWriter::new(file)).await?
            };
            eprintln!("exported {count} audit records");
            Ok(())
        }
        Command::Slo(SloCommand::Rules(args)) => {
            let db = Db::connect(&args.database.database_url).await?;
            db.migrate().await?;
            let (rules, skipped) = fleet::slo_rules(&db).await?;
            if args.output.as_os_str() == "-" {
                print!("{rules}");
            } else {
                std::fs::write(&args.output, rules)
                    .with_context(|| format!("cannot write {}", args.output.display()))?;
                eprintln!("wrote {}", args.output.display());
            }
            if !skipped.is_empty() {
                eprintln!("left out (their SLO names no good/total Prometheus queries): {}", skipped.join(", "));
            }
            Ok(())
        }
        Command::Assets(AssetsCommand::Pack(args)) => {
            let names = server::assets::pack(&args.site_root)?;
            println!("packed {}, {} and {} (with .br and .gz copies)", names.js, names.wasm, names.css);
            Ok(())
        }
    }
}

/// `COUNT:HASH` from a checkpoint log line.
fn parse_head(text: &str) -> anyhow::Result<(i64, String)> {
    let (count, hash) = text.split_once(':').context("--head must be COUNT:HASH, e.g. 42:9f86d0…")?;
    Ok((count.trim().parse().context("--head: COUNT must be a number")?, hash.trim().to_owned()))
}
