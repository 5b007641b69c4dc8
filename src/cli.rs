//! The command line: every `///` comment here is the `--help` text.

use crate::method::Method;
use crate::stats::spc::{Conflict, Direction, SpcOptions, TrendTies, TwoInThree};
use chrono::NaiveDate;
use clap::builder::{PossibleValuesParser, TypedValueParser};
use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

/// bcfmon monitors Better Care Fund and Section 75 pooled-budget schemes: it checks the
/// scheme definitions fund managers write, explains the metric catalogue, and gives analysts
/// Making Data Count SPC and confidence intervals on any CSV.
///
/// Exit status: 0 success; 1 bad input or a failed check (the message names the file, line
/// and problem); 2 a command-line usage error.
#[derive(Debug, Parser)]
#[command(name = "bcfmon", version, about, long_about)]
pub(crate) struct Cli {
    #[command(subcommand)]
    pub(crate) command: Command,
}

// Parsed once per run: the size of the `stats spc` variant does not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Validate schemes/programme.toml and every schemes/<REF>.toml; print every problem as
    /// path:line:column with a hint, or a short summary when all is well.
    Check {
        /// The folder that holds schemes/ and data/.
        #[arg(long, default_value = ".")]
        root: PathBuf,
        /// Fail on any rejected row, not only above the programme's max_reject_rate.
        #[arg(long)]
        strict: bool,
    },
    /// The tidy results table: every metric the schemes' KPIs need (or every metric the data
    /// supports, with --all), for every window end the data covers. CSV on stdout, or a
    /// .csv, .parquet or .json file; the data-quality ledger goes beside it.
    Compute {
        /// The folder that holds schemes/ and data/.
        #[arg(long, default_value = ".")]
        root: PathBuf,
        /// The latest month to compute (yyyy-mm); default: the latest complete month in the data.
        #[arg(long)]
        period: Option<String>,
        /// Every catalogue metric the data supports, for every area in the extracts.
        #[arg(long)]
        all: bool,
        /// Exit 1 if any row of any extract was rejected.
        #[arg(long)]
        strict: bool,
        /// Where to write the table (.csv, .parquet or .json); never an input (a scheme
        /// file, the programme file or an extract).
        #[arg(long)]
        out: Option<PathBuf>,
        /// Where to write the data-quality ledger (default: data_quality.csv beside --out).
        #[arg(long)]
        data_quality: Option<PathBuf>,
        /// Write the judged KPI table: every scheme's KPI at every plotted period with its
        /// target, status, SPC variation and assurance, comparisons and explanation.
        #[arg(long, conflicts_with = "all")]
        judge: bool,
        /// The ASCOF method, overriding programme.toml's `[metrics] method`: `bcfmon` for
        /// monthly monitoring, `dhsc` as DHSC publishes (README, "Which ASCOF method").
        #[arg(long, value_parser = PossibleValuesParser::new(Method::ALL).map(|m: String| Method::parse(&m).expect("a listed method")))]
        method: Option<Method>,
        /// Write the gap between the methods instead of the results: for each ASCOF metric,
        /// area and period, the figure under bcfmon's method, under each DHSC rule (D1-D9)
        /// alone and under DHSC's method, with how many people (episodes for ascof-2a) each
        /// moved into or out of the numerator and denominator. Counts only.
        #[arg(long, conflicts_with_all = ["judge", "method"])]
        explain_method: bool,
        /// With --all: compute only the areas of shard K of N (an area's shard is the
        /// FNV-1a hash of its code, mod N, plus one), for a scheduler to run the shards side
        /// by side; beside --out go the shard's ledger and a note (`<out>.shard`) for `merge`.
        #[arg(long, requires = "all", conflicts_with_all = ["judge", "explain_method"], value_parser = crate::shard::Shard::parse)]
        shard: Option<crate::shard::Shard>,
    },
    /// One results table and one ledger from the shards of `compute --all --shard K/N`,
    /// byte-identical to a single `compute --all` of the same data: every shard must be
    /// there once, from the same data (the same ledger).
    Merge {
        /// The merged table (.csv, .parquet or .json).
        #[arg(long)]
        out: PathBuf,
        /// Where to write the merged ledger (default: data_quality.csv beside --out).
        #[arg(long)]
        data_quality: Option<PathBuf>,
        /// The shards' results files, each with the note (`<file>.shard`) and the ledger
        /// compute wrote beside it.
        #[arg(required = true)]
        shards: Vec<PathBuf>,
    },
    /// The monthly board pack: index.html, a page per scheme, definitions, data quality, the
    /// whole pack as one accessible A4 pack.pdf, summary.csv, changes.csv, metrics.csv/.json,
    /// finance.csv and bcf-return.xlsx, written atomically (built beside
    /// the output folder, then renamed into place; a failed run leaves the old pack as it was).
    Report {
        /// The folder that holds schemes/ and data/.
        #[arg(long, default_value = ".")]
        root: PathBuf,
        /// The month the pack reports (yyyy-mm, or a quarter or year, meaning its last
        /// month); default: the latest complete month in the data.
        #[arg(long)]
        period: Option<String>,
        /// Where to write the pack (default: out/<period>/ under the root). Replaced only
        /// when it is missing, empty, or a pack bcfmon wrote (marked by .bcfmon-pack); never
        /// a file, the root, schemes/, data/ or any folder that holds an input.
        #[arg(long)]
        out: Option<PathBuf>,
        /// A folder of your own templates; any file there replaces the built-in one of the
        /// same name (base.html, index.html, scheme.html, definitions.html, data-quality.html).
        #[arg(long)]
        templates: Option<PathBuf>,
        /// The earlier pack to list changes against (default: the previous month's folder
        /// beside the output folder, when it holds a bcfmon pack; without one, the previous
        /// month is computed from today's data).
        #[arg(long)]
        previous: Option<PathBuf>,
        /// Build a pack for every month from this one (yyyy-mm) to --period, each into
        /// out/<month>/ and compared with the one before: a year's history in one run.
        #[arg(long, conflicts_with = "out")]
        from: Option<String>,
        /// Exit 1, after writing the pack, naming every KPI whose latest figure is older than
        /// its allowed lag (max_lag_months): for the monthly CI job.
        #[arg(long)]
        require_fresh: bool,
        /// The ASCOF method, overriding programme.toml's `[metrics] method` (`bcfmon` or
        /// `dhsc`); the pack names it beside every ASCOF figure.
        #[arg(long, value_parser = PossibleValuesParser::new(Method::ALL).map(|m: String| Method::parse(&m).expect("a listed method")))]
        method: Option<Method>,
    },
    /// Write a synthetic set of every extract (events, population, discharges, safeguarding,
    /// finance, benchmarks, chc), deterministic for a seed, with a few bad rows of each kind.
    Synth {
        /// How many people to generate (about two event rows each).
        #[arg(long)]
        people: usize,
        /// The random seed: the same seed gives the same files.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// The folder to write into; its files must not exist (unless --force) and must not
        /// be extracts of --root.
        #[arg(long)]
        out: PathBuf,
        /// The folder whose schemes/ gives the area, schemes, partners and years (if present).
        #[arg(long, default_value = ".")]
        root: PathBuf,
        /// File format.
        #[arg(long, default_value = "csv", value_parser = ["csv", "parquet"])]
        format: String,
        /// First day covered (default: 1 April of the year before the latest plan year).
        #[arg(long, value_parser = parse_iso_date)]
        from: Option<NaiveDate>,
        /// Last day covered (default: 31 March ending the latest plan year).
        #[arg(long, value_parser = parse_iso_date)]
        to: Option<NaiveDate>,
        /// Overwrite files already in --out (a previous synth's). An input of --root (a
        /// scheme file or an extract) is never overwritten.
        #[arg(long)]
        force: bool,
        /// Spread the people over this many areas, as a regional or national extract is:
        /// the programme's area and synthetic ones (E06990001, E06990002, …), each with its
        /// own population.
        #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u64).range(1..=9999))]
        areas: u64,
    },
    /// List the built-in metric catalogue, or explain one metric's rule.
    Metrics {
        /// A catalogue id (`ascof-2c`) or a published code (`2A(2)`, `ASCOF 2C`).
        id: Option<String>,
    },
    /// Statistics on any CSV: SPC charts and confidence intervals (methods.md).
    Stats {
        #[command(subcommand)]
        what: StatsCommand,
    },
    /// Scaffold a new file.
    New {
        #[command(subcommand)]
        what: NewCommand,
    },
}

#[derive(Debug, Subcommand)]
pub(crate) enum NewCommand {
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

#[derive(Debug, Subcommand)]
pub(crate) enum StatsCommand {
    /// XmR chart in the Making Data Count style (NHSRplotthedots rules by default).
    /// Prints date,value,rebase_group,mean,lpl,upl,point_type — or with --summary one row
    /// n,mean,lpl,upl,variation,assurance.
    Spc {
        /// CSV with a date column (ISO yyyy-mm-dd) and a numeric column.
        #[arg(long)]
        input: PathBuf,
        /// The date column.
        #[arg(long, default_value = "date")]
        x: String,
        /// The value column.
        #[arg(long, default_value = "value")]
        y: String,
        /// Which direction is an improvement.
        #[arg(long, default_value = "increase", value_parser = PossibleValuesParser::new(Direction::ALL))]
        improvement: String,
        /// A target, for the assurance icon.
        #[arg(long, allow_negative_numbers = true)]
        target: Option<f64>,
        /// Start a new group of limits at this date (repeatable).
        #[arg(long, value_parser = parse_iso_date)]
        rebase: Vec<NaiveDate>,
        /// Fix each group's limits on its first N points (N ≥ 12, as NHSRplotthedots).
        #[arg(long, value_parser = clap::value_parser!(u64).range(12..))]
        fix_after: Option<u64>,
        /// Do not screen moving ranges for outliers (the Excel tools' behaviour).
        #[arg(long)]
        no_screen_outliers: bool,
        /// Print the one-row summary instead of the points.
        #[arg(long)]
        summary: bool,
        /// Two-in-three rule: `classic` counts points between 2 and 3 sigma; `beyond-2-sigma`
        /// also counts points beyond 3 sigma (current MDC tools).
        #[arg(long, default_value = "classic", value_parser = PossibleValuesParser::new(TwoInThree::ALL))]
        two_in_three: String,
        /// Points in a shift (run on one side of the mean).
        #[arg(long, default_value_t = 7, value_parser = clap::value_parser!(u64).range(2..))]
        shift_length: u64,
        /// Points in a trend.
        #[arg(long, default_value_t = 7, value_parser = clap::value_parser!(u64).range(3..))]
        trend_length: u64,
        /// Whether a repeated value breaks a trend or is skipped.
        #[arg(long, default_value = "break", value_parser = PossibleValuesParser::new(TrendTies::ALL))]
        trend_ties: String,
        /// Conflicting signals: fixed priority, or improvement wins (Single Chart tool).
        #[arg(long, default_value = "priority", value_parser = PossibleValuesParser::new(Conflict::ALL))]
        conflict: String,
        /// Leave the summary's icons empty when the latest group has fewer points than this.
        #[arg(long)]
        min_points: Option<usize>,
    },
    /// Proportions with Wilson score limits; the input's columns then value and limits.
    Proportion {
        #[command(flatten)]
        args: CrudeArgs,
        /// Scale of the value and limits (100 = percent).
        #[arg(long, default_value_t = 100.0)]
        multiplier: f64,
    },
    /// Crude rates with exact Poisson (count < 10) or Byar's limits.
    Rate {
        #[command(flatten)]
        args: CrudeArgs,
        /// Scale of the value and limits (per 100,000 by default).
        #[arg(long, default_value_t = 100000.0)]
        multiplier: f64,
    },
    /// Directly standardised rates (Dobson, ESP2013): 19 age-band rows per group, in order.
    Dsr {
        #[arg(long)]
        input: PathBuf,
        /// The column naming each group (e.g. area).
        #[arg(long)]
        group: String,
        /// The event count column.
        #[arg(long)]
        count: String,
        /// The population column.
        #[arg(long)]
        population: String,
        /// The standard population.
        #[arg(long, default_value = "esp2013", value_parser = ["esp2013"])]
        standard: String,
        #[arg(long, default_value_t = 100000.0)]
        multiplier: f64,
        /// Confidence level(s).
        #[arg(long, default_value = "0.95", value_parser = ["0.95", "0.998", "0.95,0.998"])]
        confidence: String,
    },
}

/// Options shared by `stats proportion` and `stats rate`.
#[derive(Debug, clap::Args)]
pub(crate) struct CrudeArgs {
    #[arg(long)]
    pub(crate) input: PathBuf,
    #[arg(long, default_value = "numerator")]
    pub(crate) numerator: String,
    #[arg(long, default_value = "denominator")]
    pub(crate) denominator: String,
    /// Confidence level(s).
    #[arg(long, default_value = "0.95", value_parser = ["0.95", "0.998", "0.95,0.998"])]
    pub(crate) confidence: String,
}

fn parse_iso_date(s: &str) -> Result<NaiveDate, String> {
    NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .ok()
        .filter(|_| s.len() == 10)
        .ok_or_else(|| format!("`{s}` is not a real yyyy-mm-dd date"))
}

fn run_stats(what: StatsCommand) -> Result<(), String> {
    use crate::commands::stats;
    let text = match what {
        StatsCommand::Spc {
            input,
            x,
            y,
            improvement,
            target,
            rebase,
            fix_after,
            no_screen_outliers,
            summary,
            two_in_three,
            shift_length,
            trend_length,
            trend_ties,
            conflict,
            min_points,
        } => {
            let options = SpcOptions {
                direction: Direction::parse(&improvement).expect("clap checked"),
                screen_outliers: !no_screen_outliers,
                fix_after: fix_after.map(|n| n as usize),
                two_in_three: TwoInThree::parse(&two_in_three).expect("clap checked"),
                shift_length: shift_length as usize,
                trend_length: trend_length as usize,
                trend_ties: TrendTies::parse(&trend_ties).expect("clap checked"),
                conflict: Conflict::parse(&conflict).expect("clap checked"),
            };
            stats::spc(&stats::SpcArgs {
                input: &input,
                x: &x,
                y: &y,
                options,
                target,
                rebase: &rebase,
                summary,
                min_points,
            })?
        }
        StatsCommand::Proportion { args, multiplier } => stats::proportion_or_rate(
            stats::Kind::Proportion,
            &args.input,
            &args.numerator,
            &args.denominator,
            multiplier,
            &stats::levels(&args.confidence),
        )?,
        StatsCommand::Rate { args, multiplier } => stats::proportion_or_rate(
            stats::Kind::Rate,
            &args.input,
            &args.numerator,
            &args.denominator,
            multiplier,
            &stats::levels(&args.confidence),
        )?,
        StatsCommand::Dsr {
            input,
            group,
            count,
            population,
            standard: _,
            multiplier,
            confidence,
        } => stats::dsr(
            &input,
            &group,
            &count,
            &population,
            multiplier,
            &stats::levels(&confidence),
        )?,
    };
    print!("{text}");
    Ok(())
}

/// Parses the command line and runs the command.
pub fn run() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Check { root, strict } => crate::commands::check::run(&root, strict),
        Command::Stats { what } => run_stats(what),
        Command::Synth {
            people,
            seed,
            out,
            root,
            format,
            from,
            to,
            force,
            areas,
        } => crate::commands::synth::run(&crate::commands::synth::Args {
            people,
            seed,
            out: &out,
            root: &root,
            parquet: format == "parquet",
            from,
            to,
            force,
            areas: areas as usize,
        }),
        Command::Compute {
            root,
            period,
            all,
            strict,
            out,
            data_quality,
            judge,
            method,
            explain_method,
            shard,
        } => crate::commands::compute::run(&crate::commands::compute::Args {
            root: &root,
            period: period.as_deref(),
            all,
            strict,
            out: out.as_deref(),
            data_quality: data_quality.as_deref(),
            judge,
            method,
            explain_method,
            shard,
        }),
        Command::Merge {
            out,
            data_quality,
            shards,
        } => crate::commands::merge::run(&out, data_quality.as_deref(), &shards),
        Command::Report {
            root,
            period,
            out,
            templates,
            previous,
            from,
            require_fresh,
            method,
        } => crate::commands::report::run(&crate::commands::report::Args {
            root: &root,
            period: period.as_deref(),
            out: out.as_deref(),
            templates: templates.as_deref(),
            previous: previous.as_deref(),
            from: from.as_deref(),
            require_fresh,
            method,
        }),
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
