//! The `starlingctl` command line.

use std::net::IpAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use starlingctl::import_jabberd2::PasswordType;
use starlingctl::router_toml::Added;
use starlingctl::user_data::report::Report;
use starlingctl::{component, import_jabberd2, init, served, up, users, xep0227, CtlError};

/// Administration of a Starling XMPP server: write its config, add components, run the daemons.
#[derive(Debug, Parser)]
#[command(version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Start every daemon that has a config file in the etc directory (router first), label and
    /// forward their output, pass on SIGHUP and SIGTERM, and restart a daemon that dies.
    Up {
        /// Directory holding router.toml, c2s.toml, sm.toml, s2s.toml, resolver.toml.
        #[arg(long, default_value = "./etc")]
        etc: PathBuf,
    },
    /// Write a complete, commented etc directory for a new domain (never overwrites a file).
    Init {
        /// The XMPP domain to serve, e.g. example.org.
        #[arg(long)]
        domain: String,
        /// The address the daemons listen on (default: loopback only).
        #[arg(long, default_value = "127.0.0.1")]
        listen: IpAddr,
        /// Where to write the files.
        #[arg(long, visible_alias = "etc", default_value = "./etc")]
        dir: PathBuf,
        /// Let clients create accounts in-band (XEP-0077). Recorded in c2s.toml, which init writes
        /// once starling-c2s exists; it changes nothing until then.
        #[arg(long)]
        allow_registration: bool,
    },
    /// Create an account, storing only SCRAM-SHA-1/256/512 credentials.
    Adduser {
        /// The user's bare JID, e.g. alice@example.org.
        jid: String,
        /// The password; `-` reads one line from stdin; generated and printed if omitted.
        password: Option<String>,
        /// Directory holding sm.toml (or c2s.toml), whose [storage] table names the store.
        #[arg(long, default_value = "./etc")]
        etc: PathBuf,
    },
    /// Set a user's password (all SCRAM credentials are replaced).
    Passwd {
        /// The user's bare JID.
        jid: String,
        /// The new password; `-` reads one line from stdin; generated and printed if omitted.
        password: Option<String>,
        #[arg(long, default_value = "./etc")]
        etc: PathBuf,
    },
    /// Delete an account with its roster and offline messages.
    Deluser {
        /// The user's bare JID.
        jid: String,
        #[arg(long, default_value = "./etc")]
        etc: PathBuf,
    },
    /// List the accounts of a domain, one JID per line.
    Users {
        /// The domain, e.g. example.org.
        domain: String,
        #[arg(long, default_value = "./etc")]
        etc: PathBuf,
    },
    /// Import a jabberd2 installation's users (accounts, rosters, offline messages, vCards,
    /// private XML, privacy lists, last logout times) into the store; nothing already there is
    /// changed, so it can run again. Prints what was imported and what was not, per domain.
    ImportJabberd2 {
        /// The jabberd2 database: sqlite:/path/to/jabberd2.db (postgres://… not yet supported).
        #[arg(long)]
        from: String,
        /// How jabberd2's c2s stored passwords in authreg (its <password_type>): only plaintext
        /// ones become credentials.
        #[arg(long, value_enum, default_value = "plaintext")]
        password_type: PasswordType,
        #[arg(long, default_value = "./etc")]
        etc: PathBuf,
    },
    /// Write the store's users to an XEP-0227 (portable import/export) file.
    Export {
        /// Only this domain's users (default: every domain).
        #[arg(long)]
        domain: Option<String>,
        /// The file to write (replaced; owner-only, it holds credentials).
        #[arg(long)]
        to: PathBuf,
        #[arg(long, default_value = "./etc")]
        etc: PathBuf,
    },
    /// Import the users of an XEP-0227 file into the store; nothing already there is changed.
    Import {
        /// The XEP-0227 file (XIncludes are followed).
        file: PathBuf,
        #[arg(long, default_value = "./etc")]
        etc: PathBuf,
    },
    /// XEP-0114 components (gateways, group chat, bots) allowed on the router's port.
    Component {
        #[command(subcommand)]
        command: ComponentCommand,
    },
}

#[derive(Debug, Subcommand)]
enum ComponentCommand {
    /// Add a component name and its shared secret to router.toml (comments kept).
    Add {
        /// The component's domain, e.g. muc.example.org.
        name: String,
        /// The shared secret the component authenticates with; generated and printed if omitted.
        #[arg(long)]
        secret: Option<String>,
        /// Replace the secret of a component that is already there.
        #[arg(long)]
        force: bool,
        #[arg(long, default_value = "./etc")]
        etc: PathBuf,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    daemon::report(match cli.command {
        Command::Up { etc } => run_up(&etc),
        Command::Init {
            domain,
            listen,
            dir,
            allow_registration,
        } => run_init(init::InitOptions {
            domain,
            listen,
            dir,
            allow_registration,
        }),
        Command::Component {
            command:
                ComponentCommand::Add {
                    name,
                    secret,
                    force,
                    etc,
                },
        } => run_component_add(&etc, &name, secret.as_deref(), force),
        Command::Adduser { jid, password, etc } => block_on(run_adduser(&etc, &jid, password)),
        Command::Passwd { jid, password, etc } => block_on(run_passwd(&etc, &jid, password)),
        Command::Deluser { jid, etc } => block_on(run_deluser(&etc, &jid)),
        Command::Users { domain, etc } => block_on(run_users(&etc, &domain)),
        Command::ImportJabberd2 {
            from,
            password_type,
            etc,
        } => block_on(async {
            print_report(
                &etc,
                import_jabberd2::run(&etc, &from, password_type).await?,
            )
        }),
        Command::Export { domain, to, etc } => block_on(run_export(&etc, domain.as_deref(), &to)),
        Command::Import { file, etc } => {
            block_on(async { print_report(&etc, xep0227::import(&etc, &file).await?) })
        }
    })
}

fn run_up(etc: &std::path::Path) -> Result<(), CtlError> {
    // One thread is plenty for a supervisor, and spawning every daemon from the same thread is
    // what makes their parent-death signal reliable (it fires when the spawning thread exits).
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| CtlError::new(format_args!("cannot start the runtime: {e}")))?;
    runtime.block_on(up::run(etc))
}

fn run_init(options: init::InitOptions) -> Result<(), CtlError> {
    let written = init::run(&options)?;
    for path in &written {
        println!("wrote {}", path.display());
    }
    let dir = options.dir.display();
    println!("start the suite with: starlingctl up --etc {dir}");
    Ok(())
}

fn run_component_add(
    etc: &std::path::Path,
    name: &str,
    secret: Option<&str>,
    force: bool,
) -> Result<(), CtlError> {
    let done = component::add(etc, name, secret, force)?;
    let verb = match done.added {
        Added::New => "added component",
        Added::Replaced => "replaced the secret of component",
    };
    println!("{verb} {} in {}", done.name, done.file.display());
    if let Some(secret) = done.generated_secret {
        println!("secret: {secret}  (give it to the component)");
    }
    println!(
        "the router applies it on SIGHUP: `kill -HUP <starling-router pid>`, or send SIGHUP to \
         `starlingctl up`, which passes it on"
    );
    Ok(())
}

/// Runs one storage command. A current-thread runtime suffices: the database work happens on the
/// storage crate's own thread.
fn block_on(fut: impl std::future::Future<Output = Result<(), CtlError>>) -> Result<(), CtlError> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| CtlError::new(format_args!("cannot start the runtime: {e}")))?
        .block_on(fut)
}

async fn run_adduser(
    etc: &std::path::Path,
    jid: &str,
    password: Option<String>,
) -> Result<(), CtlError> {
    let added = users::add(etc, jid, password.as_deref()).await?;
    println!("added {}", added.user);
    if let Some(password) = added.generated_password {
        println!("password: {password}");
    }
    Ok(())
}

async fn run_passwd(
    etc: &std::path::Path,
    jid: &str,
    password: Option<String>,
) -> Result<(), CtlError> {
    let generated = users::passwd(etc, jid, password.as_deref()).await?;
    println!("changed the password of {}", users::parse_user(jid)?);
    if let Some(password) = generated {
        println!("password: {password}");
    }
    Ok(())
}

async fn run_deluser(etc: &std::path::Path, jid: &str) -> Result<(), CtlError> {
    let user = users::delete(etc, jid).await?;
    println!("deleted {user}");
    Ok(())
}

async fn run_users(etc: &std::path::Path, domain: &str) -> Result<(), CtlError> {
    for user in users::list(etc, domain).await? {
        println!("{user}");
    }
    Ok(())
}

fn print_report(etc: &std::path::Path, report: Report) -> Result<(), CtlError> {
    if report.is_empty() {
        println!("nothing to import");
    }
    print!("{report}");
    for note in served::unserved(etc, report.domains()) {
        println!("note: {note}");
    }
    Ok(())
}

async fn run_export(
    etc: &std::path::Path,
    domain: Option<&str>,
    to: &std::path::Path,
) -> Result<(), CtlError> {
    let exported = xep0227::export(etc, domain, to).await?;
    for problem in &exported.problems {
        eprintln!("warning: {problem}");
    }
    println!("exported {} users to {}", exported.users, to.display());
    Ok(())
}
