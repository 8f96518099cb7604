//! The `lup` command line: serve the API (default), migrate, seed, export the schema, and
//! manage accounts and API keys.
use std::{path::PathBuf, process::ExitCode};

use clap::{Parser, Subcommand};
use entity::account::AccountRole;

use crate::{cli, config::Config, db, schema, seed, startup, telemetry};

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
    /// Create an account. Without --password-stdin a password is generated and printed once.
    CreateAccount {
        #[arg(long)]
        email: String,
        #[arg(long)]
        name: String,
        #[arg(long, value_enum)]
        role: CliRole,
        /// A community the editor may edit (repeat for several), by slug.
        #[arg(long = "community")]
        communities: Vec<String>,
        /// Read the password from the first line of standard input.
        #[arg(long)]
        password_stdin: bool,
    },
    /// Create an API key for a partner organisation (by slug); prints the key once.
    CreateApiKey {
        #[arg(long)]
        organization: String,
        #[arg(long)]
        name: String,
        /// Only reading: the key cannot express interest in actions.
        #[arg(long)]
        read_only: bool,
    },
    /// Revoke an API key, by its prefix (`lup_<prefix>_…`) or the whole key.
    RevokeApiKey { prefix: String },
    /// Build the search index again from the rows (the server does it at start-up when the
    /// index format changed; the index is otherwise kept in step with every write).
    Reindex,
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum CliRole {
    Staff,
    Admin,
    CommunityEditor,
}

/// The `lup` command. It lives in the library, not in the binary, so that the server's
/// futures are compiled once, here: an `async fn` is compiled where it is polled, and a
/// binary that polled `startup::serve` compiled the whole server a second time.
#[tokio::main]
pub async fn main() -> ExitCode {
    let cli = Cli::parse();
    telemetry::init(&cli.config);
    let log_format = cli.config.log_format;
    match run(cli).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // Said once: a line of its own in text, an object like every other line in JSON.
            match log_format {
                crate::config::LogFormat::Json => tracing::error!("{e}"),
                crate::config::LogFormat::Text => eprintln!("error: {e}"),
            }
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
            db::migrate_or_check(&conn, config.auto_migrate).await?;
            if seed::load_demo_if_empty(&conn).await? {
                if config.auth.app_env == crate::config::AppEnv::Production {
                    tracing::warn!(
                        "loaded the demo data in production: invented plans under the communities' names, for a demonstration site only"
                    );
                } else {
                    tracing::info!("demo data loaded");
                }
            } else {
                tracing::info!("the database already holds communities; nothing loaded");
            }
        }
        Command::CreateAccount {
            email,
            name,
            role,
            communities,
            password_stdin,
        } => {
            let (conn, _) = db::connect(&config).await?;
            db::migrate_or_check(&conn, config.auto_migrate).await?;
            let password = if password_stdin {
                let mut line = String::new();
                std::io::stdin().read_line(&mut line)?;
                Some(line.trim_end_matches(['\r', '\n']).to_owned())
            } else {
                None
            };
            let role = match role {
                CliRole::Staff => AccountRole::Staff,
                CliRole::Admin => AccountRole::Admin,
                CliRole::CommunityEditor => AccountRole::CommunityEditor,
            };
            let generated = cli::create_account(&conn, &email, &name, role, &communities, password).await?;
            println!("created the account {email}");
            if let Some(p) = generated {
                println!("password (shown once): {p}");
            }
        }
        Command::CreateApiKey {
            organization,
            name,
            read_only,
        } => {
            let (conn, _) = db::connect(&config).await?;
            db::migrate_or_check(&conn, config.auto_migrate).await?;
            let key = cli::create_api_key(&conn, &organization, &name, !read_only).await?;
            println!("{key}");
            eprintln!("this is the only time the key is shown; send it as the X-Api-Key header");
        }
        Command::RevokeApiKey { prefix } => {
            let (conn, _) = db::connect(&config).await?;
            db::migrate_or_check(&conn, config.auto_migrate).await?;
            match cli::revoke_api_key(&conn, &prefix).await? {
                cli::Revoked::Now => println!("revoked"),
                cli::Revoked::Already(at) => println!("already revoked (at {})", at.to_rfc3339()),
            }
        }
        Command::Reindex => {
            let (conn, _) = db::connect(&config).await?;
            db::migrate_or_check(&conn, config.auto_migrate).await?;
            let n = crate::search::index::rebuild(&conn).await?;
            println!("indexed {n} documents for search");
        }
        Command::ExportSchema { out } => {
            let sdl = schema::sdl();
            match out {
                Some(path) => std::fs::write(&path, sdl)
                    .map_err(|e| std::io::Error::new(e.kind(), format!("{}: {e}", path.display())))?,
                None => print!("{sdl}"),
            }
        }
    }
    Ok(())
}
