//! The `lup` command: serve the API (default), migrate, seed, export the schema.
use std::{path::PathBuf, process::ExitCode};

use clap::{Parser, Subcommand};
use lup_api::{config::Config, db, schema, seed, startup, telemetry};

// The GraphQL executor allocates many small objects per field; mimalloc handles that load
// with markedly less CPU than the system allocator.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    name = "lup",
    version,
    about = "LUP: the GraphQL API for local development plans"
)]
struct Cli {
    #[command(flatten)]
    config: Config,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the API (the default).
    Serve,
    /// Apply pending database migrations and exit.
    Migrate,
    /// Load the demo data if the database holds no communities.
    Seed,
    /// Print the schema's SDL (or write it to a file).
    ExportSchema {
        #[arg(long)]
        out: Option<PathBuf>,
    },
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    telemetry::init(&cli.config);
    match run(cli).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("{e}");
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> Result<(), Box<dyn std::error::Error>> {
    let config = cli.config;
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => startup::serve(&config).await?,
        Command::Migrate => {
            let (conn, _) = db::connect(&config).await?;
            db::migrate(&conn).await?;
            tracing::info!("migrations applied");
        }
        Command::Seed => {
            let (conn, _) = db::connect(&config).await?;
            db::migrate(&conn).await?;
            if seed::load_demo_if_empty(&conn).await? {
                tracing::info!("demo data loaded");
            } else {
                tracing::info!("the database already holds communities; nothing loaded");
            }
        }
        Command::ExportSchema { out } => {
            let sdl = schema::sdl();
            match out {
                Some(path) => std::fs::write(path, sdl)?,
                None => print!("{sdl}"),
            }
        }
    }
    Ok(())
}
