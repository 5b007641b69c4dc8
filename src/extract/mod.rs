//! The `extract` stage: finds each extract (data-contract.md §0.1), reads CSV or Parquet row
//! by row with exact line numbers, checks headers and values, and records every rejected or
//! warned row in the `Ledger` that `check`, `compute` and the data-quality page share.

pub(crate) mod all;
pub(crate) mod benchmarks;
pub(crate) mod chc;
pub(crate) mod coded;
pub(crate) mod codes;
pub(crate) mod discharges;
pub(crate) mod events;
pub(crate) mod finance;
pub(crate) mod partition;
pub(crate) mod population;
pub(crate) mod safeguarding;
pub(crate) mod text;
pub(crate) mod values;

use crate::contract::{self, Extract, Need};
use crate::programme::{DateFormat, Encoding, Format, Settings};
use polars::prelude::*;
use std::fmt;
use std::path::{Path, PathBuf};

crate::period::vocabulary! {
    /// How serious a data problem is (data-contract.md §0.4).
    pub(crate) Severity {
        File = "file",
        Error = "error",
        Warning = "warning",
        Info = "info",
    }
}

/// Where a record is: a physical CSV line (header = line 1) or a Parquet row (from 1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) enum Loc {
    Line(u64),
    Row(u64),
    /// The whole file.
    File,
}

/// A location's number keeps the record's number in its low bits; above them, the
/// position of its file among the extract's files (a glob or a folder of files is one
/// extract), so the rows of different files never share a location and sort in file order.
const FILE_SHIFT: u32 = 40;
const NUMBER_MASK: u64 = (1 << FILE_SHIFT) - 1;
const ROW_BIT: u64 = 1 << 63;

impl Loc {
    /// The same place in the extract's `file`th file (from 0).
    pub(crate) fn in_file(self, file: usize) -> Loc {
        let with = |n: u64| n | ((file as u64) << FILE_SHIFT);
        match self {
            Loc::Line(n) => Loc::Line(with(n)),
            Loc::Row(n) => Loc::Row(with(n)),
            Loc::File => Loc::File,
        }
    }

    /// The place as one number (the `__line` column of a frame): the top bit marks a
    /// Parquet row, the bits below it the file's position and the record's number.
    pub(crate) fn to_bits(self) -> u64 {
        match self {
            Loc::Line(n) => n,
            Loc::Row(n) => n | ROW_BIT,
            Loc::File => u64::MAX,
        }
    }

    /// The place `to_bits` gave.
    pub(crate) fn from_bits(n: u64) -> Loc {
        match n {
            u64::MAX => Loc::File,
            n if n & ROW_BIT != 0 => Loc::Row(n & !ROW_BIT),
            n => Loc::Line(n),
        }
    }

    /// Which of the extract's files the place is in (0 for a file-level place).
    pub(crate) fn file(self) -> usize {
        match self {
            Loc::Line(n) | Loc::Row(n) => (n >> FILE_SHIFT) as usize,
            Loc::File => 0,
        }
    }
}

impl fmt::Display for Loc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Loc::Line(n) => write!(f, "{}", n & NUMBER_MASK),
            Loc::Row(n) => write!(f, "row {}", n & NUMBER_MASK),
            Loc::File => Ok(()),
        }
    }
}

/// Why a file is refused, and where in it: the ledger places the F01 issue at `loc`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Refusal {
    pub loc: Loc,
    pub message: String,
}

impl Refusal {
    /// A refusal at a line of the file.
    pub(crate) fn at_line(line: u64, message: String) -> Self {
        Refusal {
            loc: Loc::Line(line),
            message,
        }
    }
}

/// A reason without a place is about the whole file.
impl From<String> for Refusal {
    fn from(message: String) -> Self {
        Refusal {
            loc: Loc::File,
            message,
        }
    }
}

/// As the ledger's `refused` column gives it: `line N: message`, or the message alone.
impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.loc {
            Loc::File => write!(f, "{}", self.message),
            loc => write!(f, "line {loc}: {}", self.message),
        }
    }
}

/// One line of `data_quality.csv`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Issue {
    pub file: String,
    pub loc: Loc,
    pub severity: Severity,
    pub rule: String,
    pub column: String,
    pub value: String,
    pub message: String,
}

impl Issue {
    /// Where the issue is, as messages name it: `file:line`, `file row N`, or the file.
    pub(crate) fn place(&self) -> String {
        match self.loc {
            Loc::Line(_) => format!("{}:{}", self.file, self.loc),
            Loc::Row(_) => format!("{} {}", self.file, self.loc),
            Loc::File => self.file.clone(),
        }
    }
}

/// The issues of one file with one severity and rule, in ledger order.
pub(crate) struct IssueGroup<'a> {
    pub file: &'a str,
    pub severity: Severity,
    pub rule: &'a str,
    pub issues: Vec<&'a Issue>,
}

/// Row counts for one file: read = accepted + rejected, always.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FileSummary {
    /// The extract's name in the data contract (`events`).
    pub extract: String,
    /// The file, as messages show it.
    pub file: String,
    /// Records read (0 for a refused file).
    pub read: usize,
    /// Records kept.
    pub accepted: usize,
    /// Records rejected (an error on the row).
    pub rejected: usize,
    /// Kept records with a warning.
    pub warned: usize,
    /// Rows outside the configured areas, kept out of board metrics (W08), counted in accepted.
    pub ignored: usize,
    /// Why the whole file was refused, if it was.
    pub refused: Option<String>,
    /// The files of an extract given as many (a glob, a folder), in path order; empty for
    /// one file.
    pub parts: Vec<String>,
}

impl FileSummary {
    /// The file a place of this extract is in.
    pub(crate) fn file_of(&self, loc: Loc) -> &str {
        file_of(&self.file, &self.parts, loc, None)
    }
}

/// The file of an extract (`whole`, or one of its `parts` when it is many) that `loc` is
/// in; a place about a whole file is in the one being read, if any.
fn file_of<'a>(whole: &'a str, parts: &'a [String], loc: Loc, reading: Option<usize>) -> &'a str {
    let k = match loc {
        Loc::File => reading,
        _ => Some(loc.file()),
    };
    k.and_then(|k| parts.get(k)).map_or(whole, String::as_str)
}

/// Every data problem of a run, and the row counts per file.
#[derive(Debug, Clone, Default)]
pub(crate) struct Ledger {
    pub issues: Vec<Issue>,
    pub files: Vec<FileSummary>,
}

/// The columns of `data_quality.csv` (`line` is a CSV line or `row N` of a Parquet file).
pub(crate) const LEDGER_COLUMNS: &[crate::table::Column] = {
    use crate::table::text;
    &[
        text("file"),
        text("line"),
        text("severity"),
        text("rule"),
        text("column"),
        text("value"),
        text("message"),
    ]
};

/// Person identifiers never reach any output (data-contract.md §0.4).
const REDACTED: &[&str] = &[
    "NHS_Number",
    "LA_Person_Unique_Identifier",
    "Person_ID",
    "Adult_1_Linked_Person_ID",
    "Adult_2_Linked_Person_ID",
    "Adult_3_Linked_Person_ID",
];

impl Ledger {
    /// `data_quality.csv`: `file,line,severity,rule,column,value,message`.
    pub(crate) fn to_csv(&self) -> String {
        use rayon::prelude::*;
        let mut table = crate::table::Table::new(LEDGER_COLUMNS);
        let rows: Vec<Vec<String>> = self
            .issues
            .par_iter()
            .map(|i| {
                let value = if REDACTED.iter().any(|c| c.eq_ignore_ascii_case(&i.column)) {
                    "<redacted>".to_string()
                } else {
                    i.value.clone()
                };
                vec![
                    i.file.clone(),
                    i.loc.to_string(),
                    i.severity.to_string(),
                    i.rule.clone(),
                    i.column.clone(),
                    value,
                    i.message.clone(),
                ]
            })
            .collect();
        for row in rows {
            table.push(row);
        }
        table.to_csv()
    }

    /// The issues grouped by file, severity and rule, in order of each group's first issue:
    /// how `check` and the data-quality page summarise a rule that fires on many rows.
    pub(crate) fn groups(&self) -> Vec<IssueGroup<'_>> {
        let mut groups: Vec<IssueGroup<'_>> = Vec::new();
        for i in &self.issues {
            match groups
                .iter_mut()
                .find(|g| g.file == i.file && g.severity == i.severity && g.rule == i.rule)
            {
                Some(g) => g.issues.push(i),
                None => groups.push(IssueGroup {
                    file: &i.file,
                    severity: i.severity,
                    rule: &i.rule,
                    issues: vec![i],
                }),
            }
        }
        groups
    }

    /// The run's failures by the reject rule (data-contract.md §0.4): a refused file, or more
    /// than `rate` of a file's rows rejected, or with `strict` any rejected row.
    pub(crate) fn failures(&self, rate: f64, strict: bool) -> Vec<String> {
        let mut failures = Vec::new();
        for f in &self.files {
            if let Some(why) = &f.refused {
                failures.push(format!("{}: refused: {why}", f.file));
            } else if f.read > 0 && f.rejected as f64 > rate * f.read as f64 {
                failures.push(format!(
                    "{}: {} of {} rows rejected (more than {:.0}%)",
                    f.file,
                    f.rejected,
                    f.read,
                    rate * 100.0
                ));
            } else if strict && f.rejected > 0 {
                failures.push(format!(
                    "{}: {} rows rejected (--strict)",
                    f.file, f.rejected
                ));
            }
        }
        failures
    }
}

/// Collects the problems of one file while its rows are validated.
pub(crate) struct FileReport {
    pub file: String,
    pub issues: Vec<Issue>,
    /// The files of an extract read from many (a glob or a folder): each issue names the
    /// file of its row, or the file being read for an issue about a whole file.
    files: Vec<String>,
    reading: Option<usize>,
}

impl FileReport {
    pub(crate) fn new(file: &str) -> Self {
        FileReport {
            file: file.to_string(),
            issues: Vec::new(),
            files: Vec::new(),
            reading: None,
        }
    }

    /// An empty report on the same file, for rows validated apart (a share of a chunk);
    /// its issues are appended to this report's in file order.
    pub(crate) fn apart(&self) -> FileReport {
        FileReport {
            file: self.file.clone(),
            issues: Vec::new(),
            files: self.files.clone(),
            reading: self.reading,
        }
    }

    pub(crate) fn add(
        &mut self,
        loc: Loc,
        severity: Severity,
        rule: &str,
        column: &str,
        value: &str,
        message: impl Into<String>,
    ) {
        // While a file is read, every place is in it.
        let loc = self.reading.map_or(loc, |k| loc.in_file(k));
        self.issues.push(Issue {
            file: file_of(&self.file, &self.files, loc, self.reading).to_string(),
            loc,
            severity,
            rule: rule.to_string(),
            column: column.to_string(),
            value: value.to_string(),
            message: message.into(),
        });
    }
}

/// An extract found on disk.
#[derive(Debug, Clone)]
pub(crate) struct Source {
    pub extract: &'static Extract,
    pub path: PathBuf,
    /// The path as shown in messages (relative to the root where possible).
    pub shown: String,
    pub format: Format,
    pub date_format: DateFormat,
    /// The declared text encoding of a CSV file (a byte-order mark overrides it).
    pub encoding: Encoding,
    /// The files read when the path is a glob or a hive-partitioned folder, in path order;
    /// empty for a path that is one file.
    pub parts: Vec<Part>,
}

/// One file of an extract given as many.
#[derive(Debug, Clone)]
pub(crate) struct Part {
    pub path: PathBuf,
    pub shown: String,
    /// The `KEY=VALUE` folders above the file (hive partitioning): columns the file's rows
    /// take when the file has no such column.
    pub hive: Vec<(String, String)>,
}

impl Source {
    /// A new file's problem list and row counts, named for this extract and file.
    pub(crate) fn start(&self) -> (FileReport, FileSummary) {
        let summary = FileSummary {
            extract: self.extract.name.to_string(),
            file: self.shown.clone(),
            parts: self.parts.iter().map(|p| p.shown.clone()).collect(),
            ..Default::default()
        };
        let mut report = FileReport::new(&self.shown);
        report.files = self.parts.iter().map(|p| p.shown.clone()).collect();
        (report, summary)
    }

    /// The files to read: the parts, or the path itself.
    fn files(&self) -> Vec<Part> {
        if self.parts.is_empty() {
            vec![Part {
                path: self.path.clone(),
                shown: self.shown.clone(),
                hive: Vec::new(),
            }]
        } else {
            self.parts.clone()
        }
    }

    /// This extract as its `k`th file alone.
    fn part(&self, part: &Part) -> Source {
        Source {
            path: part.path.clone(),
            shown: part.shown.clone(),
            parts: Vec::new(),
            ..self.clone()
        }
    }
}

/// Files with the `KEY=VALUE` folders above each.
type Found = Vec<(PathBuf, Vec<(String, String)>)>;

/// Whether a configured path is a glob.
fn is_pattern(written: &str) -> bool {
    written.contains(['*', '?', '['])
}

/// The files a configured path that is a glob or a folder names (none for a plain path):
/// inputs, never to be written over.
pub(crate) fn parts_of(full: &Path, written: &str) -> Vec<PathBuf> {
    many_files(full, written)
        .unwrap_or_default()
        .into_iter()
        .map(|(p, _)| p)
        .collect()
}

/// The files a configured path names when it is a glob (`data/events/*.csv`) or a folder
/// of Parquet files, hive-partitioned or not (`data/events/LA_Code=E08000033/part-0.parquet`),
/// in path order, each with the `KEY=VALUE` folders between `full` and it. `None` for a path
/// that is neither; `Some(empty)` when nothing matches (an invalid pattern matches nothing).
fn many_files(full: &Path, written: &str) -> Option<Found> {
    let mut found: Vec<PathBuf> = if is_pattern(written) {
        let pattern = full.to_string_lossy().into_owned();
        glob::glob(&pattern)
            .map(|paths| {
                paths
                    .filter_map(Result::ok)
                    .filter(|p| p.is_file())
                    .collect()
            })
            .unwrap_or_default()
    } else if full.is_dir() {
        let mut out = Vec::new();
        let mut stack = vec![full.to_path_buf()];
        while let Some(dir) = stack.pop() {
            let Ok(entries) = std::fs::read_dir(&dir) else {
                continue;
            };
            for e in entries.flatten() {
                let p = e.path();
                if p.is_dir() {
                    stack.push(p);
                } else if p
                    .extension()
                    .is_some_and(|x| x.eq_ignore_ascii_case("parquet"))
                {
                    out.push(p);
                }
            }
        }
        out
    } else {
        return None;
    };
    found.sort();
    let base = if full.is_dir() {
        full.to_path_buf()
    } else {
        // The folder above the pattern's first wildcard.
        let mut b = PathBuf::new();
        for c in full.components() {
            if is_pattern(&c.as_os_str().to_string_lossy()) {
                break;
            }
            b.push(c);
        }
        b
    };
    Some(
        found
            .into_iter()
            .map(|p| {
                let hive = p
                    .strip_prefix(&base)
                    .ok()
                    .and_then(|rel| rel.parent())
                    .map(|dirs| {
                        dirs.components()
                            .filter_map(|c| {
                                let c = c.as_os_str().to_string_lossy();
                                let (k, v) = c.split_once('=')?;
                                Some((k.to_string(), v.to_string()))
                            })
                            .collect()
                    })
                    .unwrap_or_default();
                (p, hive)
            })
            .collect(),
    )
}

/// Finds an extract: the configured path, else `data/<name>.parquet`, then `.csv`.
/// `Ok(None)` when it is neither configured nor found (its metrics are then
/// `not-computable`, never an error); `Err` when programme.toml names a path with no readable
/// file behind it — a typo or a moved share must fail the run, not empty the pack.
pub(crate) fn find(root: &Path, settings: &Settings, name: &str) -> Result<Option<Source>, String> {
    let Some(extract) = contract::extract(name) else {
        return Ok(None);
    };
    let show = |rel: &Path| -> String {
        if root == Path::new(".") {
            rel.display().to_string()
        } else {
            root.join(rel).display().to_string()
        }
    };
    if let Some(ds) = settings.data.get(name) {
        let full = root.join(&ds.path);
        let written = ds.path.to_string_lossy().into_owned();
        // A glob or a folder: its files; else the path must be a file.
        let found = many_files(&full, &written);
        let many = found.is_some();
        let parts: Vec<Part> = found
            .unwrap_or_default()
            .into_iter()
            .map(|(path, hive)| Part {
                shown: path
                    .strip_prefix(root)
                    .map(&show)
                    .unwrap_or_else(|_| path.display().to_string()),
                path,
                hive,
            })
            .collect();
        if (many && parts.is_empty()) || (!many && !full.is_file()) {
            return Err(missing_message(root, name, ds, &full));
        }
        let is_parquet = |p: &Path| {
            p.extension()
                .is_some_and(|e| e.eq_ignore_ascii_case("parquet"))
        };
        let parquet = if many {
            parts.iter().all(|p| is_parquet(&p.path))
        } else {
            is_parquet(&ds.path)
        };
        return Ok(Some(Source {
            extract,
            shown: show(&ds.path),
            path: full,
            format: ds.format.unwrap_or(if parquet {
                Format::Parquet
            } else {
                Format::Csv
            }),
            date_format: ds.date_format,
            encoding: ds.encoding,
            parts,
        }));
    }
    for (rel, format) in discovered(name) {
        if root.join(&rel).is_file() {
            return Ok(Some(Source {
                extract,
                shown: show(&rel),
                path: root.join(&rel),
                format,
                date_format: DateFormat::Iso,
                encoding: Encoding::Utf8,
                parts: Vec::new(),
            }));
        }
    }
    Ok(None)
}

/// Where an extract that programme.toml does not configure is looked for, in order
/// (data-contract.md §0.1): `data/<name>.parquet`, then `data/<name>.csv`.
pub(crate) fn discovered(name: &str) -> [(PathBuf, Format); 2] {
    let rel = |ext: &str| PathBuf::from("data").join(format!("{name}.{ext}"));
    [(rel("parquet"), Format::Parquet), (rel("csv"), Format::Csv)]
}

/// `programme.toml:line:column: [data.<name>] path "..." names no file (resolved: ...)`,
/// with what is there instead and what to do.
fn missing_message(
    root: &Path,
    name: &str,
    ds: &crate::programme::DataSource,
    full: &Path,
) -> String {
    let programme = if root == Path::new(".") {
        PathBuf::from("schemes/programme.toml")
    } else {
        root.join("schemes/programme.toml")
    };
    let resolved = std::path::absolute(full).unwrap_or_else(|_| full.to_path_buf());
    let written = ds.path.display().to_string();
    let (what, hint) = if full.is_dir() {
        (
            "is a folder with no Parquet file in it".to_string(),
            format!(
                "name the {name} file inside it (path = \"{written}/{name}.csv\"), a glob of its \
                 files (path = \"{written}/{name}-*.csv\") or a folder of Parquet files"
            ),
        )
    } else if is_pattern(&written) {
        (
            "matches no file".to_string(),
            "correct the pattern (it is relative to the folder that holds schemes/; `*` matches \
             within one folder)"
                .to_string(),
        )
    } else if full.exists() {
        (
            "is not a regular file".to_string(),
            format!("name the {name} file itself"),
        )
    } else {
        (
            "names no file".to_string(),
            "correct the path (it is relative to the folder that holds schemes/), or remove \
             the [data.NAME] table to make its metrics not-computable"
                .replace("NAME", name),
        )
    };
    let (line, column) = ds.path_at;
    format!(
        "{}:{line}:{column}: [data.{name}] path \"{written}\" {what}; resolved: {}\n  hint: {hint}",
        programme.display(),
        resolved.display()
    )
}

/// Which file column holds each contract column.
#[derive(Debug, Clone, Default)]
pub(crate) struct Columns {
    /// Looked up for every field of every row, so with a fast hasher.
    index: foldhash::HashMap<&'static str, usize>,
    /// Which of the extract's files these are the columns of (each file has its own header).
    pub file: usize,
}

impl Columns {
    pub(crate) fn get(&self, name: &str) -> Option<usize> {
        self.index.get(name).copied()
    }
    pub(crate) fn has(&self, name: &str) -> bool {
        self.index.contains_key(name)
    }
}

/// Matches the file's header to the contract: F03 for a column given twice, F02 for a
/// missing core column (both refuse the file), info for columns the contract does not name.
pub(crate) fn map_header(
    src: &Source,
    header: &[String],
    report: &mut FileReport,
) -> Result<Columns, String> {
    let mut cols = Columns::default();
    let mut refused = None;
    for (i, raw) in header.iter().enumerate() {
        let h = raw.trim().trim_start_matches('\u{feff}').trim();
        // Published files pasted as they are name the measure `indicator` (data-contract §6).
        let h = if src.extract.name == "benchmarks" && h.eq_ignore_ascii_case("indicator") {
            "Measure_Code"
        } else {
            h
        };
        match src.extract.column(h) {
            Some(c) => {
                if cols.index.insert(c.name, i).is_some() {
                    report.add(
                        Loc::File,
                        Severity::File,
                        "F03",
                        c.name,
                        h,
                        format!("two headers match `{}`", c.name),
                    );
                    refused = Some(format!("two headers match `{}` (F03)", c.name));
                }
            }
            None => report.add(
                Loc::Line(1),
                Severity::Info,
                "I01",
                h,
                "",
                "column not in the data contract; ignored",
            ),
        }
    }
    for c in src.extract.columns.iter().filter(|c| c.need == Need::Core) {
        if !cols.has(c.name) {
            report.add(
                Loc::File,
                Severity::File,
                "F02",
                c.name,
                "",
                format!("required column `{}` is missing", c.name),
            );
            refused.get_or_insert(format!("required column `{}` is missing (F02)", c.name));
        }
    }
    match refused {
        Some(r) => Err(r),
        None => Ok(cols),
    }
}

/// Opens a CSV extract in its encoding: UTF-8 goes to the reader as it is; Windows-1252 and
/// UTF-16 are decoded as they stream. A byte-order mark that contradicts the declared
/// encoding wins, with a warning (W09). Returns the reader and the encoding it reads in.
fn open_csv(
    src: &Source,
    report: &mut FileReport,
) -> Result<(csv::Reader<Box<dyn std::io::Read>>, text::Detected), Refusal> {
    use std::io::{Read, Seek};
    let mut file =
        std::fs::File::open(&src.path).map_err(|e| format!("cannot read the file: {e}"))?;
    let mut first = [0u8; 64];
    let mut n = 0;
    while n < first.len() {
        match file.read(&mut first[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(format!("cannot read the file: {e}").into()),
        }
    }
    let detected = text::detect(&first[..n], src.encoding);
    if detected.overrode {
        report.add(
            Loc::File,
            Severity::Warning,
            "W09",
            "",
            detected.name(),
            format!(
                "the file starts with a {} byte-order mark but [data.{}] declares encoding = \"{}\"; it is read as {}",
                detected.name(),
                src.extract.name,
                src.encoding,
                detected.name()
            ),
        );
    }
    if detected.is_utf8() && detected.bom == 0 && text::looks_like_utf16(&first[..n]) {
        return Err(Refusal::at_line(
            1,
            format!(
                "every other byte is NUL: the file looks like UTF-16 text read as {}; {}",
                src.encoding,
                encoding_hint(src)
            ),
        ));
    }
    file.seek(std::io::SeekFrom::Start(detected.bom as u64))
        .map_err(|e| format!("cannot read the file: {e}"))?;
    let input: Box<dyn std::io::Read> = if detected.is_utf8() {
        Box::new(file)
    } else {
        Box::new(text::Decoded::new(std::io::BufReader::new(file), detected))
    };
    let reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(true)
        .from_reader(input);
    Ok((reader, detected))
}

/// What to do about text in the wrong encoding: the `encoding` key and its values.
fn encoding_hint(src: &Source) -> String {
    let name = src.extract.name;
    format!(
        "set encoding in [data.{name}] of schemes/programme.toml (with its path = \"...\"): \
         \"windows-1252\" for a CSV saved from Excel, \"utf-16\" for a SQL Server Unicode \
         export, \"utf-8\" otherwise"
    )
}

/// A CSV reading error as a refusal reason, with the first bad byte located for text that
/// is not valid in `detected`, the encoding the file is read in.
fn csv_error(src: &Source, detected: text::Detected, e: csv::Error) -> Refusal {
    let line = e.position().map_or(1, |p| p.line());
    let bad = match e.kind() {
        // The reader checks UTF-8 per record: find the first bad byte of the file itself.
        csv::ErrorKind::Utf8 { .. } => {
            Some((text::first_bad_byte(&src.path, detected), detected.name()))
        }
        csv::ErrorKind::Io(io) => text::bad_byte_of(io).map(|b| (Some(b), detected.name())),
        _ => None,
    };
    match bad {
        Some((Some(b), name)) => Refusal::at_line(
            b.line,
            format!(
                "{} is not valid {name} text; {}",
                b.place(),
                encoding_hint(src)
            ),
        ),
        Some((None, name)) => Refusal::at_line(
            line,
            format!("the text is not valid {name}; {}", encoding_hint(src)),
        ),
        None => Refusal::at_line(line, e.to_string()),
    }
}

/// A file's header as written (a CSV's first record, a Parquet file's column names), for a
/// loader that reads more than one form of its extract; `None` when it cannot be read (the
/// loader's own read then refuses the file with the reason).
pub(crate) fn header(src: &Source) -> Option<Vec<String>> {
    // Of many files, the first's.
    let first = src.files().into_iter().next()?;
    let src = &src.part(&first);
    match src.format {
        Format::Csv => {
            let mut scratch = FileReport::new(&src.shown);
            let (mut reader, _) = open_csv(src, &mut scratch).ok()?;
            let header = reader.headers().ok()?;
            Some(
                header
                    .iter()
                    .map(|h| h.trim_start_matches('\u{feff}').trim().to_string())
                    .collect(),
            )
        }
        Format::Parquet => {
            let file = std::fs::File::open(&src.path).ok()?;
            let schema = ParquetReader::new(file).schema().ok()?;
            Some(schema.iter_names().map(|n| n.to_string()).collect())
        }
    }
}

/// Each row's area code, from runs of one area (its code and how many rows), as a batch's
/// events and spells hold their areas.
pub(crate) fn area_of_rows(runs: &[(String, usize)]) -> impl Iterator<Item = &str> + '_ {
    runs.iter()
        .flat_map(|(a, n)| std::iter::repeat_n(a.as_str(), *n))
}

/// About how many Parquet rows are read into memory at a time.
const SLICE_ROWS: usize = 250_000;

/// How many rows a `Chunk` holds: enough that splitting one between the cores costs
/// nothing, few enough that its fields (a reference each) stay small beside the file.
const CHUNK_ROWS: usize = 32_768;

/// A run of consecutive rows of a file, read before any is validated, so an extract's
/// validation can share the rows of a chunk between the cores and still report in file
/// order.
pub(crate) struct Chunk<'a> {
    locs: Vec<Loc>,
    rows: ChunkRows<'a>,
}

/// A chunk's rows as its file's format gives them.
enum ChunkRows<'a> {
    /// Each CSV record, or the E08 message for a record whose width is not the header's.
    Csv(Vec<Result<csv::StringRecord, String>>),
    /// Each Parquet column's values for these rows ("" for a null), borrowed from the
    /// decoded columns.
    Columns(Vec<Vec<&'a str>>),
    /// Rows `from..` of a slice's columns read as codes.
    Coded {
        columns: &'a [coded::Coded],
        from: usize,
    },
}

impl<'a> Chunk<'a> {
    /// How many rows the chunk holds.
    pub(crate) fn len(&self) -> usize {
        self.locs.len()
    }

    /// Where row `i` is.
    pub(crate) fn loc(&self, i: usize) -> Loc {
        self.locs[i]
    }

    /// How many values each column's codes number, when the chunk is read as codes.
    pub(crate) fn distinct(&self) -> Vec<Option<usize>> {
        match &self.rows {
            ChunkRows::Coded { columns, .. } => {
                columns.iter().map(|c| Some(c.distinct())).collect()
            }
            _ => Vec::new(),
        }
    }

    /// When the chunk is read as codes: its columns, and where row `i` is in them.
    pub(crate) fn coded(&self, i: usize) -> Option<(&'a [coded::Coded], usize)> {
        match &self.rows {
            ChunkRows::Coded { columns, from } => Some((columns, from + i)),
            _ => None,
        }
    }

    /// Rows `rows`' fingerprints: every field of a row (each column, in order) hashed by
    /// `field` and folded on by `fold`, a column at a time, so a coded column's codes are
    /// read in one run and, where values repeat (`Seen`), each hashed once. A record of the wrong
    /// width (E08) is rejected and its fingerprint is never read.
    pub(crate) fn fingerprints(
        &self,
        rows: std::ops::Range<usize>,
        field: impl Fn(&str) -> u64,
        fold: impl Fn(u64, u64) -> u64,
    ) -> Vec<u64> {
        let mut out = vec![0; rows.len()];
        match &self.rows {
            ChunkRows::Coded { columns, from } => {
                for c in columns.iter() {
                    let codes = &c.codes()[from + rows.start..from + rows.end];
                    if c.distinct() > rows.len() / 4 {
                        // Identifiers: nearly every value is new.
                        for (h, &code) in out.iter_mut().zip(codes) {
                            *h = fold(*h, field(c.value(code)));
                        }
                        continue;
                    }
                    // Each value hashed once, its hash then read by code (as `coded::Seen`,
                    // but a plain list: the look-up is most of the work). 0 is "not yet": a
                    // value that hashes to 0 is only hashed again, to the same.
                    let mut hashes = vec![0; c.distinct()];
                    for (h, &code) in out.iter_mut().zip(codes) {
                        let slot = &mut hashes[code as usize];
                        if *slot == 0 {
                            *slot = field(c.value(code));
                        }
                        *h = fold(*h, *slot);
                    }
                }
            }
            ChunkRows::Columns(columns) => {
                for c in columns {
                    for (h, v) in out.iter_mut().zip(&c[rows.clone()]) {
                        *h = fold(*h, field(v));
                    }
                }
            }
            ChunkRows::Csv(records) => {
                for (h, record) in out.iter_mut().zip(&records[rows]) {
                    for v in record.iter().flatten() {
                        *h = fold(*h, field(v));
                    }
                }
            }
        }
        out
    }

    /// Row `i`'s fields in `buf`; a record of the wrong width has none: it is reported
    /// (E08, the row rejected) and this gives false.
    pub(crate) fn fields<'s>(
        &'s self,
        i: usize,
        buf: &mut Vec<&'s str>,
        report: &mut FileReport,
    ) -> bool {
        buf.clear();
        match &self.rows {
            ChunkRows::Csv(records) => match &records[i] {
                Ok(record) => buf.extend(record.iter()),
                Err(why) => {
                    report.add(self.locs[i], Severity::Error, "E08", "", "", why.as_str());
                    return false;
                }
            },
            ChunkRows::Columns(columns) => buf.extend(columns.iter().map(|c| c[i])),
            ChunkRows::Coded { columns, from } => {
                buf.extend(columns.iter().map(|c| c.text(from + i)))
            }
        }
        true
    }
}

/// Reads the header, maps it to the contract (refusing the file on F02/F03), then calls
/// `row` for every record with its location and fields. Returns the number of rows read,
/// or why the file was refused.
pub(crate) fn read_rows(
    src: &Source,
    report: &mut FileReport,
    mut row: impl FnMut(&Columns, Loc, &[&str], &mut FileReport),
) -> Result<usize, Refusal> {
    read_chunks(src, report, |cols, chunk, report| {
        let mut fields = Vec::new();
        for i in 0..chunk.len() {
            if chunk.fields(i, &mut fields, report) {
                row(cols, chunk.loc(i), &fields, report);
            }
        }
    })
}

/// `read_rows` a chunk of rows at a time.
pub(crate) fn read_chunks(
    src: &Source,
    report: &mut FileReport,
    mut each: impl FnMut(&Columns, &Chunk<'_>, &mut FileReport),
) -> Result<usize, Refusal> {
    let mut count = 0;
    let many = !src.parts.is_empty();
    for (k, part) in src.files().iter().enumerate() {
        report.reading = Some(k);
        let read = read_file(&src.part(part), k, &part.hive, report, &mut each);
        report.reading = None;
        count += read.map_err(|why| Refusal {
            loc: why.loc.in_file(k),
            message: if many {
                format!("{}: {}", part.shown, why.message)
            } else {
                why.message
            },
        })?;
    }
    Ok(count)
}

/// `read_chunks` of one file, the `k`th of its extract, with its hive columns.
fn read_file(
    src: &Source,
    k: usize,
    hive: &[(String, String)],
    report: &mut FileReport,
    each: &mut impl FnMut(&Columns, &Chunk<'_>, &mut FileReport),
) -> Result<usize, Refusal> {
    let mut count = 0;
    match src.format {
        Format::Csv => {
            let (mut reader, detected) = open_csv(src, report)?;
            let header: Vec<String> = reader
                .headers()
                .map_err(|e| csv_error(src, detected, e))?
                .iter()
                .map(|h| h.trim_start_matches('\u{feff}').to_string())
                .collect();
            if header.iter().all(|h| h.trim().is_empty()) {
                return Err(Refusal::at_line(
                    1,
                    "the file has no header row (it is empty)".into(),
                ));
            }
            let mut cols = map_header(src, &header, report)?;
            cols.file = k;
            let width = header.len();
            let mut locs = Vec::new();
            let mut records = Vec::new();
            loop {
                let mut record = csv::StringRecord::new();
                let read = reader.read_record(&mut record);
                let more = matches!(read, Ok(true));
                if more {
                    let line = record.position().map_or(0, |p| p.line());
                    count += 1;
                    locs.push(Loc::Line(line).in_file(k));
                    records.push(if record.len() == width {
                        Ok(record)
                    } else {
                        Err(format!(
                            "the record has {} fields; the header has {width}",
                            record.len()
                        ))
                    });
                }
                // Before a record that cannot be read too: the rows before it are validated,
                // as they would be one at a time (their problems stay in the ledger).
                if locs.len() == CHUNK_ROWS || (!more && !locs.is_empty()) {
                    let chunk = Chunk {
                        locs: std::mem::take(&mut locs),
                        rows: ChunkRows::Csv(std::mem::take(&mut records)),
                    };
                    each(&cols, &chunk, report);
                }
                match read {
                    Ok(true) => {}
                    Ok(false) => break,
                    Err(e) => return Err(csv_error(src, detected, e)),
                }
            }
        }
        Format::Parquet => {
            let open = || {
                std::fs::File::open(&src.path)
                    .map(ParquetReader::new)
                    .map_err(|e| format!("cannot read the file: {e}"))
            };
            let not_parquet = |e: PolarsError| format!("not a readable Parquet file: {e}");
            let metadata = open()?.get_metadata().map_err(not_parquet)?.clone();
            // Read a few row groups at a time, so the text of a multi-million-row file is
            // never all in memory at once (a row group is never split: slicing inside one
            // would decode it again for every slice).
            let mut slices: Vec<(usize, usize, std::ops::Range<usize>)> = Vec::new();
            let mut offset = 0;
            for (g, group) in metadata.row_groups.iter().enumerate() {
                match slices.last_mut() {
                    Some((_, len, groups)) if *len + group.num_rows() <= SLICE_ROWS => {
                        *len += group.num_rows();
                        groups.end = g + 1;
                    }
                    _ => slices.push((offset, group.num_rows(), g..g + 1)),
                }
                offset += group.num_rows();
            }
            if slices.is_empty() {
                slices.push((0, 0, 0..0));
            }
            let coded = coded::readable(&metadata);
            let mut file =
                std::fs::File::open(&src.path).map_err(|e| format!("cannot read the file: {e}"))?;
            let mut cols: Option<Columns> = None;
            for (start, len, groups) in slices {
                // Text columns as codes where the coded reader takes them (it gives each row
                // the texts polars would); otherwise polars' frame, cast to text.
                let (header, slice) = match coded
                    .then(|| coded::read(&mut file, &metadata, groups))
                    .flatten()
                {
                    Some(mut columns) => {
                        let mut header = coded::names(&metadata);
                        // Hive partitioning: a `KEY=VALUE` folder gives the column its file
                        // lacks.
                        for (key, value) in hive {
                            if !header.contains(key) {
                                header.push(key.clone());
                                columns.push(coded::Coded::constant(value, len));
                            }
                        }
                        (header, Slice::Coded(columns))
                    }
                    None => {
                        let mut reader = open()?;
                        reader.set_metadata(metadata.clone());
                        let mut df = reader
                            .with_slice(Some((start, len)))
                            .finish()
                            .map_err(not_parquet)?;
                        for (key, value) in hive {
                            if df.column(key).is_err() {
                                let height = df.height();
                                df.with_column(Column::new(
                                    key.as_str().into(),
                                    vec![value.as_str(); height],
                                ))
                                .map_err(not_parquet)?;
                            }
                        }
                        let header: Vec<String> = df
                            .get_column_names()
                            .iter()
                            .map(|s| s.to_string())
                            .collect();
                        let strings: Vec<Series> = df
                            .columns()
                            .iter()
                            .map(|c| c.as_materialized_series().cast(&DataType::String))
                            .collect::<PolarsResult<_>>()
                            .map_err(|e| format!("cannot read the columns: {e}"))?;
                        (header, Slice::Texts(strings))
                    }
                };
                if cols.is_none() {
                    let mut c = map_header(src, &header, report)?;
                    c.file = k;
                    cols = Some(c);
                }
                let cols = cols.as_ref().expect("set on the first slice");
                let (cas, height): (Vec<&StringChunked>, usize) = match &slice {
                    Slice::Texts(strings) => {
                        let cas: Vec<&StringChunked> = strings
                            .iter()
                            .map(|s| s.str().expect("cast to string"))
                            .collect();
                        let height = cas.first().map_or(0, |c| c.len());
                        (cas, height)
                    }
                    Slice::Coded(_) => (Vec::new(), len),
                };
                let mut taken = 0;
                while taken < height {
                    let n = CHUNK_ROWS.min(height - taken);
                    let rows = match &slice {
                        Slice::Coded(columns) => ChunkRows::Coded {
                            columns,
                            from: taken,
                        },
                        // The columns of a chunk are taken side by side.
                        Slice::Texts(_) => {
                            use rayon::prelude::*;
                            ChunkRows::Columns(
                                cas.par_iter().map(|ca| texts(ca, taken, n)).collect(),
                            )
                        }
                    };
                    let chunk = Chunk {
                        locs: (count + 1..=count + n)
                            .map(|r| Loc::Row(r as u64).in_file(k))
                            .collect(),
                        rows,
                    };
                    count += n;
                    taken += n;
                    each(cols, &chunk, report);
                }
            }
        }
    }
    Ok(count)
}

/// A Parquet slice's columns: read as codes, or decoded by polars and cast to text.
enum Slice {
    Coded(Vec<coded::Coded>),
    Texts(Vec<Series>),
}

/// Rows `from..from + n` of a decoded string column ("" for a null), read array by array:
/// a walk over each array's values is much cheaper than the column's row iterator.
fn texts(ca: &StringChunked, from: usize, n: usize) -> Vec<&str> {
    let mut out = Vec::with_capacity(n);
    let mut offset = 0;
    // The validity is read through the array as `dyn Array` (the trait is polars').
    for (arr, dynamic) in ca.downcast_iter().zip(ca.chunks()) {
        let start = offset;
        offset += arr.len();
        let (lo, hi) = (from.max(start), (from + n).min(offset));
        if lo >= hi {
            continue;
        }
        let (lo, hi) = (lo - start, hi - start);
        match dynamic.validity() {
            None => out.extend((lo..hi).map(|i| arr.value(i))),
            Some(valid) => {
                out.extend((lo..hi).map(|i| if valid.get_bit(i) { arr.value(i) } else { "" }))
            }
        }
    }
    out
}

/// Records a refused file: its metrics become `not-computable`.
pub(crate) fn refuse(
    ledger: &mut Ledger,
    mut report: FileReport,
    mut summary: FileSummary,
    why: Refusal,
) -> Option<Loaded> {
    if !report.issues.iter().any(|i| i.severity == Severity::File) {
        report.add(why.loc, Severity::File, "F01", "", "", why.message.clone());
    }
    summary.refused = Some(why.to_string());
    settle(ledger, summary, report);
    None
}

/// The locations of the rows rejected so far.
pub(crate) fn rejected_locs(report: &FileReport) -> foldhash::HashSet<Loc> {
    report
        .issues
        .iter()
        .filter(|i| i.severity == Severity::Error)
        .map(|i| i.loc)
        .collect()
}

/// Settles the ledger and wraps the frame of kept rows.
pub(crate) fn finish(
    ledger: &mut Ledger,
    report: FileReport,
    summary: FileSummary,
    frame: DataFrame,
) -> Option<Loaded> {
    let out = summary.clone();
    settle(ledger, summary, report);
    let mut loaded = Loaded {
        frame,
        summary: out,
    };
    if let Some(f) = ledger.files.last() {
        loaded.summary = f.clone();
    }
    Some(loaded)
}

/// An identifier every row must have, once (D01, S01, C01): a row without one is rejected,
/// and so is every copy of a repeated one.
pub(crate) fn require_unique_ids(
    report: &mut FileReport,
    (rule, column, what): (&str, &str, &str),
    ids: &[(Loc, Option<&str>)],
) {
    let keys: Vec<Option<&str>> = ids.iter().map(|(_, id)| *id).collect();
    for ((loc, id), dup) in ids.iter().zip(duplicated(&keys)) {
        match id {
            None => report.add(
                *loc,
                Severity::Error,
                rule,
                column,
                "",
                format!("the {what} has no {column}"),
            ),
            Some(id) if dup => report.add(
                *loc,
                Severity::Error,
                rule,
                column,
                id,
                format!("{column} is repeated; every copy is rejected"),
            ),
            _ => {}
        }
    }
}

/// Marks every copy of a key that appears more than once (the "reject all copies" rules).
pub(crate) fn duplicated<K: std::hash::Hash + Eq>(keys: &[Option<K>]) -> Vec<bool> {
    let mut counts: foldhash::HashMap<&K, usize> = foldhash::HashMap::default();
    for k in keys.iter().flatten() {
        *counts.entry(k).or_default() += 1;
    }
    keys.iter()
        .map(|k| k.as_ref().is_some_and(|k| counts[k] > 1))
        .collect()
}

/// A date column for polars from days since 1970-01-01.
pub(crate) fn date_column(name: &str, days: Vec<Option<i32>>) -> Column {
    Series::new(name.into(), days)
        .cast(&DataType::Date)
        .expect("i32 to date")
        .into()
}

/// An extract held partitioned by area (`partition`), for the engine to take a batch of
/// areas at a time.
pub(crate) trait AreaRows: Send + Sync {
    /// Every area, with its count of rows.
    fn areas(&self) -> Vec<(String, usize)>;
    /// The frame of these areas' kept rows, in file order within each area.
    fn frame(&self, areas: &[String]) -> Result<DataFrame, String>;
    /// The kept rows of every other area than `area`, in file order, with their area.
    fn outside(&self, area: &str) -> Result<Vec<(Loc, String)>, String>;
}

/// The outcome of loading one extract.
pub(crate) struct Loaded {
    pub frame: DataFrame,
    pub summary: FileSummary,
}

/// Finishes a file's counts and moves its issues into the ledger.
pub(crate) fn settle(ledger: &mut Ledger, mut summary: FileSummary, report: FileReport) {
    let rejected_lines: std::collections::BTreeSet<Loc> = report
        .issues
        .iter()
        .filter(|i| i.severity == Severity::Error)
        .map(|i| i.loc)
        .collect();
    let warned_lines: std::collections::BTreeSet<Loc> = report
        .issues
        .iter()
        .filter(|i| {
            // A file-level warning (W09) is about no row.
            i.severity == Severity::Warning
                && i.loc != Loc::File
                && !rejected_lines.contains(&i.loc)
        })
        .map(|i| i.loc)
        .collect();
    if summary.refused.is_some() {
        // A refused file gives no rows at all: read, accepted and rejected are all 0 (the
        // problems found on rows before the refusal stay in the ledger).
        summary.read = 0;
        summary.rejected = 0;
        summary.warned = 0;
    } else {
        summary.rejected = rejected_lines.len();
        summary.warned = warned_lines.len();
    }
    summary.accepted = summary.read.saturating_sub(summary.rejected);
    ledger.issues.extend(report.issues);
    ledger.files.push(summary);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_identifier_is_required_once() {
        // Spells on lines 2-5: S1, none, S2, S1 again. Line 3 has none; S1's two copies
        // (lines 2 and 5) are both rejected; S2 stands.
        let mut report = FileReport::new("data/discharges.csv");
        let ids = [
            (Loc::Line(2), Some("S1")),
            (Loc::Line(3), None),
            (Loc::Line(4), Some("S2")),
            (Loc::Line(5), Some("S1")),
        ];
        require_unique_ids(&mut report, ("D01", "Spell_ID", "spell"), &ids);
        let got: Vec<(Loc, &str, &str, &str)> = report
            .issues
            .iter()
            .map(|i| (i.loc, i.rule.as_str(), i.value.as_str(), i.message.as_str()))
            .collect();
        assert_eq!(
            got,
            [
                (
                    Loc::Line(2),
                    "D01",
                    "S1",
                    "Spell_ID is repeated; every copy is rejected"
                ),
                (Loc::Line(3), "D01", "", "the spell has no Spell_ID"),
                (
                    Loc::Line(5),
                    "D01",
                    "S1",
                    "Spell_ID is repeated; every copy is rejected"
                ),
            ]
        );
        assert!(report.issues.iter().all(|i| i.severity == Severity::Error));
    }
}
