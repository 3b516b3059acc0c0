//! The `campaign-sync` command line: parses arguments, sets up logs, loads configuration and
//! hands over to the library.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use campaign_sync::app::App;
use campaign_sync::config::{Config, Overrides};
use campaign_sync::store::Store;
use campaign_sync::telemetry;
use clap::{Args, Parser, Subcommand};
use tokio_util::sync::CancellationToken;

/// Keeps Marketo programs and Salesforce campaigns in sync, both ways, in seconds.
#[derive(Parser)]
#[command(name = "campaign-sync", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the service: receivers, worker, health and metrics.
    Serve(ConfigArgs),
    /// Apply database migrations and exit.
    Migrate(ConfigArgs),
    /// Validate the configuration and exit (2 when invalid).
    CheckConfig(ConfigArgs),
}

#[derive(Args)]
struct ConfigArgs {
    /// TOML configuration file; `CAMPAIGN_SYNC_*` environment variables override it.
    #[arg(long, short)]
    config: Option<PathBuf>,
    /// Address to listen on, e.g. 127.0.0.1:8080 (overrides the file).
    #[arg(long)]
    listen: Option<SocketAddr>,
    /// sqlite://FILE or postgres://… (overrides the file).
    #[arg(long)]
    database_url: Option<String>,
}

impl ConfigArgs {
    fn load(&self) -> Result<Config, ExitCode> {
        let overrides = Overrides {
            listen: self.listen,
            database_url: self.database_url.clone(),
        };
        Config::load(self.config.as_deref(), &overrides).map_err(|error| {
            eprintln!("campaign-sync: {error}");
            ExitCode::from(2)
        })
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    telemetry::init_logs();
    let result = match cli.command {
        Command::Serve(args) => match args.load() {
            Ok(config) => serve(config).await,
            Err(code) => return code,
        },
        Command::Migrate(args) => match args.load() {
            Ok(config) => migrate(config).await,
            Err(code) => return code,
        },
        Command::CheckConfig(args) => match args.load() {
            Ok(config) => {
                println!(
                    "configuration is valid: {} mapping(s), listening on {}",
                    config.mappings.len(),
                    config.listen
                );
                Ok(())
            }
            Err(code) => return code,
        },
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!("{error:#}");
            eprintln!("campaign-sync: {error:#}");
            ExitCode::FAILURE
        }
    }
}

async fn serve(config: Config) -> anyhow::Result<()> {
    let shutdown = CancellationToken::new();
    let app = App::build(config, shutdown.clone()).await?;
    tracing::info!(address = %app.local_addr(), "listening");
    tokio::spawn(cancel_on_signal(shutdown));
    app.run().await
}

async fn migrate(config: Config) -> anyhow::Result<()> {
    let store = Store::open(config.database_url.expose()).await?;
    store.migrate().await?;
    println!("migrations applied");
    Ok(())
}

/// SIGTERM (the orchestrator) or SIGINT (a terminal) starts a graceful shutdown.
async fn cancel_on_signal(shutdown: CancellationToken) {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutdown requested");
    shutdown.cancel();
}
