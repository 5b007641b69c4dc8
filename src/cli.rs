//! The command line: every `///` comment here is the `--help` text.

use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

/// bcfmon monitors Better Care Fund and Section 75 pooled-budget schemes: it checks the
/// scheme definitions fund managers write, and explains the metric catalogue.
///
/// Exit status: 0 success; 1 bad input or a failed check (the message names the file, line
/// and problem); 2 a command-line usage error.
#[derive(Debug, Parser)]
#[command(name = "bcfmon", version, about, long_about)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Validate schemes/programme.toml and every schemes/<REF>.toml; print every problem as
    /// path:line:column with a hint, or a short summary when all is well.
    Check {
        /// The folder that holds schemes/ and data/.
        #[arg(long, default_value = ".")]
        root: PathBuf,
    },
    /// List the built-in metric catalogue, or explain one metric's rule.
    Metrics {
        /// A catalogue id (`ascof-2c`) or a published code (`2A(2)`, `ASCOF 2C`).
        id: Option<String>,
    },
    /// Scaffold a new file.
    New {
        #[command(subcommand)]
        what: NewCommand,
    },
}

#[derive(Debug, Subcommand)]
pub enum NewCommand {
    /// Write schemes/REF.toml with every field present and explained for a fund manager.
    /// Refuses to overwrite an existing file.
    Scheme {
        /// The BCF scheme reference, e.g. S3PO2. It names the file and the scheme's page.
        reference: String,
        /// The folder that holds schemes/.
        #[arg(long, default_value = ".")]
        root: PathBuf,
    },
}

/// Parses the command line and runs the command.
pub fn run() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Check { root } => crate::commands::check::run(&root),
        Command::Metrics { id } => crate::commands::metrics::run(id.as_deref()),
        Command::New {
            what: NewCommand::Scheme { reference, root },
        } => crate::commands::new_scheme::run(&root, &reference),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            if !message.is_empty() {
                eprintln!("{message}");
            }
            ExitCode::from(1)
        }
    }
}
