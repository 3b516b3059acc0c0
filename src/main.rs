//! The `campaign-sync` command line: parses arguments, sets up logs, loads configuration and
//! hands over to the library.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use campaign_sync::config::{Config, Needs, Overrides};
use campaign_sync::sandbox::{SandboxOptions, SimulatorsOptions};
use campaign_sync::{commands, telemetry};
use clap::{Args, CommandFactory, FromArgMatches, Parser, Subcommand};

/// jemalloc rather than glibc's allocator: a durable webhook's rows are allocated on a runtime
/// worker and freed on the SQLite writer's thread, and glibc's slow paths for that cost about
/// a fifth of the service's CPU per webhook (`docs/performance.md`, "A fifth look").
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

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
    Migrate(DatabaseArgs),
    /// Validate the configuration and exit (2 when invalid; 1 when `--online` finds problems).
    CheckConfig {
        #[command(flatten)]
        args: ConfigArgs,
        /// Also read both status sets of every mapping from the live APIs and report every
        /// status that cannot be translated.
        #[arg(long)]
        online: bool,
    },
    /// Try it: the service on SQLite plus Salesforce and Marketo simulators wired to it, with
    /// demo programs, campaigns and people. Prints a guide.
    Sandbox {
        /// Directory for the SQLite file (a temporary one when omitted).
        #[arg(long)]
        dir: Option<PathBuf>,
        /// Address of the service (port 0 picks a free one).
        #[arg(long, default_value = "127.0.0.1:8080")]
        listen: SocketAddr,
        /// Write a JSON description of the running sandbox (URLs, credentials, mappings) here.
        #[arg(long)]
        describe: Option<PathBuf>,
        /// Address of the Salesforce simulator (port 0 picks a free one).
        #[arg(long, default_value = "127.0.0.1:0")]
        listen_salesforce: SocketAddr,
        /// Address of the Marketo simulator (port 0 picks a free one).
        #[arg(long, default_value = "127.0.0.1:0")]
        listen_marketo: SocketAddr,
        /// Address of the Salesforce simulator's generic login host (`login.salesforce.com`'s
        /// stand-in, which refuses the client-credentials flow); a free port on the Salesforce
        /// simulator's address when omitted.
        #[arg(long)]
        listen_salesforce_login: Option<SocketAddr>,
    },
    /// Run the Salesforce and Marketo simulators alone (no service), seeded with mapped programs
    /// and campaigns whose people are members on both sides; control them over HTTP.
    Simulators {
        /// Address of the Salesforce simulator (port 0 picks a free one).
        #[arg(long, default_value = "127.0.0.1:0")]
        listen_salesforce: SocketAddr,
        /// Address of the Marketo simulator (port 0 picks a free one).
        #[arg(long, default_value = "127.0.0.1:0")]
        listen_marketo: SocketAddr,
        /// Address of the Salesforce simulator's generic login host (`login.salesforce.com`'s
        /// stand-in, which refuses the client-credentials flow); a free port on the Salesforce
        /// simulator's address when omitted.
        #[arg(long)]
        listen_salesforce_login: Option<SocketAddr>,
        /// Write a JSON description (URLs, credentials, mappings, people) here.
        #[arg(long)]
        describe: Option<PathBuf>,
        /// Mapped program/campaign pairs to seed.
        #[arg(long, default_value_t = 2)]
        programs: usize,
        /// People to seed, each already a member of every mapping on both sides.
        #[arg(long, default_value_t = 4)]
        people: usize,
    },
    /// Reconcile every enabled mapping once (link people on both sides, list and repair the
    /// differences), then exit; 1 when a repair failed or is left to retry.
    Reconcile {
        #[command(flatten)]
        args: DatabaseArgs,
        /// Only list, per mapping, the changes it would make; write nothing.
        #[arg(long)]
        dry_run: bool,
        /// Print one JSON object per mapping per line.
        #[arg(long)]
        json: bool,
    },
    /// Print the overview of a running service (mappings, each side, the worker).
    Status {
        /// The service's admin address, e.g. http://127.0.0.1:8080.
        #[arg(long)]
        url: String,
        /// The admin token (required).
        #[arg(long, env = "CAMPAIGN_SYNC_ADMIN__TOKEN", hide_env_values = true)]
        token: Option<String>,
    },
    /// Mappings from existing data: import those Marketo's native sync links.
    Mappings {
        #[command(subcommand)]
        command: MappingsCommand,
    },
    /// Marketo set-up calls.
    Marketo {
        #[command(subcommand)]
        command: MarketoCommand,
    },
}

#[derive(Subcommand)]
enum MappingsCommand {
    /// Print `[[mappings]]` TOML for the programs Marketo's native sync links to a Salesforce
    /// campaign, with matched status pairs and, as comments, the ones needing a decision.
    Import {
        #[command(flatten)]
        args: FileArgs,
        /// Append the tables to this file instead of printing them.
        #[arg(long)]
        write: Option<PathBuf>,
    },
}

#[derive(Subcommand)]
enum MarketoCommand {
    /// Create and approve the custom activity types trigger events are posted as ("Added to /
    /// Removed from / Status Changed in Salesforce Campaign"); safe to run again.
    Provision(FileArgs),
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

/// The configuration file and the database, for commands that open the store but listen on
/// nothing (`migrate`, `reconcile`).
#[derive(Args)]
struct DatabaseArgs {
    /// TOML configuration file; `CAMPAIGN_SYNC_*` environment variables override it.
    #[arg(long, short)]
    config: Option<PathBuf>,
    /// sqlite://FILE or postgres://… (overrides the file).
    #[arg(long)]
    database_url: Option<String>,
}

impl DatabaseArgs {
    fn load_for(&self, needs: Needs) -> Result<Config, ExitCode> {
        let overrides = Overrides {
            listen: None,
            database_url: self.database_url.clone(),
        };
        Config::load_for(self.config.as_deref(), &overrides, needs).map_err(refused)
    }
}

/// The configuration file alone, for commands that only call the APIs (no listener, no
/// database).
#[derive(Args)]
struct FileArgs {
    /// TOML configuration file; `CAMPAIGN_SYNC_*` environment variables override it.
    #[arg(long, short)]
    config: Option<PathBuf>,
}

impl FileArgs {
    /// Loads what the command needs: `marketo provision` Marketo's API, `mappings import` both.
    fn load_for(&self, needs: Needs) -> Result<Config, ExitCode> {
        Config::load_for(self.config.as_deref(), &Overrides::default(), needs).map_err(invalid)
    }
}

impl ConfigArgs {
    fn load(&self) -> Result<Config, ExitCode> {
        Config::load(self.config.as_deref(), &self.overrides()).map_err(invalid)
    }

    /// `serve` starts with keys left empty (it says which and syncs nothing), never with a
    /// value that cannot work. Its refusal is part of its log, so JSON logs get it as JSON.
    fn load_serving(&self) -> Result<Config, ExitCode> {
        Config::load_serving(self.config.as_deref(), &self.overrides()).map_err(refused)
    }

    fn overrides(&self) -> Overrides {
        Overrides {
            listen: self.listen,
            database_url: self.database_url.clone(),
        }
    }
}

fn invalid(error: campaign_sync::config::ConfigError) -> ExitCode {
    eprintln!("campaign-sync: {error}");
    ExitCode::from(2)
}

/// [`invalid`], for the commands a deployment runs with its logs (`serve`, and `migrate` and
/// `reconcile` beside it): with JSON logs, one JSON error line per problem, so a log collector
/// reading one object per line gets them.
fn refused(error: campaign_sync::config::ConfigError) -> ExitCode {
    if !telemetry::json_logs() || !tracing::enabled!(tracing::Level::ERROR) {
        return invalid(error);
    }
    for problem in error.problems() {
        tracing::error!("invalid configuration: {problem}");
    }
    ExitCode::from(2)
}

/// How long the end of the process waits for blocking work left behind (a call its worker
/// was stopped in the middle of): the stop's bound is the service's, not the runtime's.
const RUNTIME_WRAP_UP: std::time::Duration = std::time::Duration::from_millis(500);

/// Whether `status --token` was typed on the command line (not taken from its variable).
fn status_token_typed(matches: &clap::ArgMatches) -> bool {
    matches
        .subcommand_matches("status")
        .and_then(|status| status.value_source("token"))
        == Some(clap::parser::ValueSource::CommandLine)
}

fn main() -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("campaign-sync: cannot start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    let code = runtime.block_on(run());
    runtime.shutdown_timeout(RUNTIME_WRAP_UP);
    code
}

async fn run() -> ExitCode {
    let matches = Cli::command().get_matches();
    let cli = match Cli::from_arg_matches(&matches) {
        Ok(cli) => cli,
        Err(error) => error.exit(),
    };
    // A service's end belongs in its log; a command's error is said once, on stderr.
    // So is `migrate`'s with JSON logs (a deployment's step before `serve`, read by the same
    // collector).
    let logs_its_end = matches!(cli.command, Command::Serve(_))
        || (matches!(cli.command, Command::Migrate(_)) && telemetry::json_logs());
    let one_shot = !matches!(
        cli.command,
        Command::Serve(_) | Command::Sandbox { .. } | Command::Simulators { .. }
    );
    telemetry::init_logs(one_shot);
    let result = match cli.command {
        Command::Serve(args) => match args.load_serving() {
            Ok(config) => commands::serve(config).await,
            Err(code) => return code,
        },
        Command::Migrate(args) => match args.load_for(Needs::Database) {
            Ok(config) => commands::migrate(config).await,
            Err(code) => return code,
        },
        Command::CheckConfig { args, online } => match args.load() {
            Ok(config) => {
                for warning in config.warnings() {
                    println!("warning: {warning}");
                }
                let admin = config.admin_listen.map_or(String::new(), |admin| {
                    format!(" (/metrics, /admin and /console on {admin})")
                });
                println!(
                    "configuration is valid: {} mapping(s), listening on {}{admin}",
                    config.mappings.len(),
                    config.listen
                );
                if online {
                    commands::check_online(&config).await
                } else {
                    Ok(())
                }
            }
            Err(code) => return code,
        },
        Command::Sandbox {
            dir,
            listen,
            describe,
            listen_salesforce,
            listen_marketo,
            listen_salesforce_login,
        } => {
            commands::sandbox(SandboxOptions {
                dir,
                listen,
                describe,
                listen_salesforce,
                listen_marketo,
                listen_salesforce_login,
            })
            .await
        }
        Command::Simulators {
            listen_salesforce,
            listen_marketo,
            listen_salesforce_login,
            describe,
            programs,
            people,
        } => {
            commands::simulators(SimulatorsOptions {
                listen_salesforce,
                listen_marketo,
                listen_salesforce_login,
                describe,
                programs,
                people,
            })
            .await
        }
        Command::Status { url, token } => {
            let typed = status_token_typed(&matches);
            let (flag, variable) = if typed { (token, None) } else { (None, token) };
            match campaign_sync::terminal::status::command(&url, flag, variable).await {
                Ok(result) => result,
                // A usage error, as clap's own.
                Err(problem) => {
                    eprintln!("campaign-sync: {problem}");
                    return ExitCode::from(2);
                }
            }
        }
        Command::Reconcile {
            args,
            dry_run,
            json,
        } => match args.load_for(Needs::Service) {
            Ok(config) => {
                commands::reconcile(config, commands::ReconcileOptions { dry_run, json }).await
            }
            Err(code) => return code,
        },
        Command::Mappings {
            command: MappingsCommand::Import { args, write },
        } => match args.load_for(Needs::Apis) {
            Ok(config) => campaign_sync::mappings_import::import(&config, write.as_deref()).await,
            Err(code) => return code,
        },
        Command::Marketo {
            command: MarketoCommand::Provision(args),
        } => match args.load_for(Needs::Marketo) {
            Ok(config) => commands::provision_marketo(config).await,
            Err(code) => return code,
        },
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            // A service's end is its last log line, said once: a plain copy beside text logs
            // was read twice at a terminal, and broke a JSON log's one-object-per-line. Logs
            // that drop errors still get the plain line.
            let logged = logs_its_end && tracing::enabled!(tracing::Level::ERROR);
            if logs_its_end {
                tracing::error!("{error:#}");
            }
            if !logged {
                eprintln!("campaign-sync: {}", campaign_sync::terminal::ending(&error));
            }
            ExitCode::FAILURE
        }
    }
}
