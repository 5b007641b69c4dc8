//! `pack.pdf`: the whole pack as one A4 document for the committee's agenda pack, typeset by
//! typst inside the binary. The pages' models are written out as typst markup (every text as
//! a string literal, so nothing from a scheme file is read as markup), the charts are the
//! pack's own SVGs, and the PDF is tagged and checked against PDF/UA-1 (headings, table header
//! cells, figures with alternative text, title, language en-GB), with the bundled fonts
//! embedded, an outline from the headings, and no timestamp, so a rebuild is byte-identical.

use super::*;
use crate::report::changes::Change;
use std::fmt::Write as _;
use typst::diag::{FileError, FileResult};
use typst::foundations::{Bytes, Datetime, Smart};
use typst::syntax::{FileId, RootedPath, Source, VirtualPath, VirtualRoot};
use typst::text::{Font, FontBook};
use typst::utils::LazyHash;
use typst::{Library, LibraryExt, World};

/// Everything the PDF shows, gathered by `build` from the same models as the pages.
pub(super) struct PdfPack<'a> {
    pub title: String,
    pub area: String,
    pub period: String,
    pub data_as_at: String,
    pub financial_year: String,
    pub marker: String,
    pub max_count: u32,
    pub since: String,
    pub compared_with: String,
    pub schemes: Vec<PdfScheme<'a>>,
    pub changes: &'a [Change],
    pub partners: &'a [MoneyRow],
    pub total: MoneyRow,
    pub expenditure: &'a [MoneyRow],
    pub definitions: Vec<(String, String, String)>,
    pub files: &'a [crate::extract::FileSummary],
    pub thresholds: String,
    pub glossary: Vec<(String, String, String)>,
}

/// One scheme: its fields, its budget line and its KPI cards with their changes.
pub(super) struct PdfScheme<'a> {
    pub scheme: &'a Scheme,
    pub lead: String,
    pub provider: String,
    pub value: String,
    pub value_short: String,
    pub position: Position,
    pub budget: Option<MoneyRow>,
    pub cards: Vec<(Card, String)>,
}

/// A typst string literal: the text exactly, never markup.
fn lit(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => {}
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A table with a header row (tagged as header cells) and body rows of plain text.
fn table(out: &mut String, columns: &str, header: &[&str], rows: &[Vec<String>]) {
    let _ = write!(out, "#table(columns: {columns}, table.header(");
    for h in header {
        let _ = write!(out, "[*#{}*], ", lit(h));
    }
    out.push_str("),\n");
    for r in rows {
        for c in r {
            let _ = write!(out, "{}, ", lit(c));
        }
        out.push('\n');
    }
    out.push_str(")\n\n");
}

fn heading(out: &mut String, level: usize, text: &str) {
    let _ = writeln!(out, "#heading(level: {level}, {})\n", lit(text));
}

fn para(out: &mut String, text: &str) {
    if !text.is_empty() {
        let _ = writeln!(out, "#par({})\n", lit(text));
    }
}

fn note(out: &mut String, text: &str) {
    if !text.is_empty() {
        let _ = writeln!(out, "#text(size: 8.5pt, fill: luma(60), {})\n", lit(text));
    }
}

/// The typst source of the pack, and the chart SVGs it includes by path.
pub(super) fn source(p: &PdfPack<'_>) -> (String, Vec<(String, String)>) {
    let mut charts = Vec::new();
    let mut o = String::new();
    let doc_title = format!("{} — {}", p.title, p.period);
    let _ = writeln!(
        o,
        "#set document(title: {}, author: \"bcfmon\", date: none)",
        lit(&doc_title)
    );
    let _ = writeln!(
        o,
        "#set text(lang: \"en\", region: \"GB\", font: \"Libertinus Serif\", size: 10pt)"
    );
    let footer = format!("{} · {} · data as at {}", p.area, p.period, p.data_as_at);
    let _ = writeln!(
        o,
        "#set page(paper: \"a4\", margin: (x: 15mm, top: 16mm, bottom: 18mm), footer: context [#set text(size: 8pt); #{} #h(1fr) Page #counter(page).display() of #counter(page).final().first()])",
        lit(&footer)
    );
    o.push_str("#set par(justify: false)\n");
    o.push_str("#show heading: set block(sticky: true)\n");
    o.push_str("#show heading.where(level: 1): it => { pagebreak(weak: true); it }\n");
    o.push_str("#set table(stroke: 0.4pt + luma(170), inset: 4pt)\n");
    o.push_str("#show table: set text(size: 8.5pt)\n");
    o.push_str("#show table: set block(breakable: true)\n");
    o.push_str("#show figure: set block(breakable: false)\n\n");

    // The title page.
    let _ = writeln!(
        o,
        "#text(size: 18pt, heading(level: 1, {}))\n",
        lit(&p.title)
    );
    para(
        &mut o,
        &format!(
            "{} · report for {} · data as at {} · financial year {}",
            p.area, p.period, p.data_as_at, p.financial_year
        ),
    );
    para(
        &mut o,
        &format!(
            "Counts from 1 to {} are shown as {} and figures derived from them are not shown.",
            p.max_count, p.marker
        ),
    );

    // The words, before their first use.
    heading(&mut o, 2, "Reading this pack: the words it uses");
    for (_, term, text) in &p.glossary {
        let _ = writeln!(
            o,
            "#par([#strong({}) #{}])\n",
            lit(term),
            lit(&format!("— {text}"))
        );
    }

    // Programme position.
    heading(&mut o, 1, "Programme position");
    let rows: Vec<Vec<String>> = p
        .schemes
        .iter()
        .map(|s| {
            let mut row = vec![
                format!("{} {}", s.scheme.reference, s.scheme.name),
                s.lead.clone(),
                s.value_short.clone(),
            ];
            row.extend(s.position.counts().iter().map(|n| n.to_string()));
            row
        })
        .collect();
    table(
        &mut o,
        "(2fr, 1.6fr, auto, auto, auto, auto, auto, auto, auto)",
        &[
            "Scheme",
            "Lead commissioner",
            &format!("Value {}", p.financial_year),
            "KPIs",
            "On track",
            "At risk",
            "Not on track",
            "No data",
            "Out of date",
        ],
        &rows,
    );

    // Every KPI at a glance, on landscape pages.
    o.push_str("#page(flipped: true)[\n");
    heading(&mut o, 2, "Every KPI at a glance");
    let rows: Vec<Vec<String>> = p
        .schemes
        .iter()
        .flat_map(|s| {
            s.cards.iter().map(move |(c, change)| {
                vec![
                    s.scheme.reference.clone(),
                    c.label.clone(),
                    format!(
                        "{}{}",
                        if c.period.is_empty() {
                            "–"
                        } else {
                            &c.period
                        },
                        if c.stale { " (out of date)" } else { "" }
                    ),
                    if c.ci.is_empty() {
                        c.value.clone()
                    } else {
                        format!("{} ({})", c.value, c.ci)
                    },
                    c.target_now.clone(),
                    c.status.words.clone(),
                    format!("{}; {}", c.variation, c.assurance),
                    change.clone(),
                ]
            })
        })
        .collect();
    table(
        &mut o,
        "(auto, 2.2fr, 1fr, 1.2fr, 0.9fr, 1fr, 1.6fr, 1fr)",
        &[
            "Scheme",
            "KPI",
            "Latest",
            "Value",
            "Target",
            "Status",
            "Variation and assurance",
            &format!("Since {}", p.since),
        ],
        &rows,
    );
    o.push_str("]\n\n");

    // Changes.
    heading(&mut o, 2, &format!("Changes since {}", p.since));
    note(&mut o, &format!("Compared with {}.", p.compared_with));
    if p.changes.is_empty() {
        para(&mut o, "Nothing changed: every KPI has the same status, special causes and exceptions, every budget line the same status, and no figure was revised.");
    } else {
        let rows: Vec<Vec<String>> = p
            .changes
            .iter()
            .map(|x| {
                vec![
                    capitalise(x.kind),
                    x.scheme.clone(),
                    x.item.clone(),
                    dash(&x.before),
                    dash(&x.after),
                ]
            })
            .collect();
        table(
            &mut o,
            "(auto, auto, 2fr, 1fr, 1fr)",
            &["Change", "Scheme", "What", "Before", "Now"],
            &rows,
        );
    }

    // Exceptions.
    heading(&mut o, 2, "Exceptions");
    let mut any = false;
    for s in &p.schemes {
        for (c, _) in s.cards.iter().filter(|(c, _)| c.exception) {
            any = true;
            heading(&mut o, 3, &format!("{} — {}", s.scheme.reference, c.label));
            para(
                &mut o,
                &format!("Why it is an exception: {}.", c.reasons.join("; ")),
            );
            para(&mut o, &format!("{} {}", c.status.words, c.explanation));
            commentary(&mut o, c, &p.period);
        }
    }
    if !any {
        para(&mut o, "No exceptions: every KPI with a target is on track, none shows special cause concern and none is out of date.");
    }

    // Pooled budget.
    heading(&mut o, 1, &format!("Pooled budget {}", p.financial_year));
    note(&mut o, &format!("Actual to date runs to {}. Forecast outturn is the fund manager's forecast where one is given, otherwise the run rate of actuals to date. Variance is forecast outturn less plan: positive is an overspend. Status: {}.", p.period, p.thresholds));
    let money = |r: &MoneyRow| {
        vec![
            r.label.clone(),
            r.plan.clone(),
            r.actual.clone(),
            r.forecast.clone(),
            r.variance.clone(),
            r.variance_pct.clone(),
            r.status.words.clone(),
        ]
    };
    let mut rows: Vec<Vec<String>> = p.partners.iter().map(money).collect();
    let mut total = money(&p.total);
    total[0] = format!("Total: {}", total[0]);
    rows.push(total);
    let money_header = [
        "Partner",
        "Plan",
        "Actual to date",
        "Forecast outturn",
        "Variance",
        "% of plan",
        "Status",
    ];
    table(
        &mut o,
        "(2fr, 1fr, 1fr, 1fr, 1fr, auto, 1fr)",
        &money_header,
        &rows,
    );
    let rows: Vec<Vec<String>> = p.expenditure.iter().map(money).collect();
    let mut header = money_header;
    header[0] = "Scheme";
    table(
        &mut o,
        "(2fr, 1fr, 1fr, 1fr, 1fr, auto, 1fr)",
        &header,
        &rows,
    );

    // Each scheme.
    for s in &p.schemes {
        let sc = s.scheme;
        heading(&mut o, 1, &format!("{} {}", sc.reference, sc.name));
        let commencement = match &sc.commencement {
            Commencement::Ongoing => "Ongoing".to_string(),
            Commencement::Date(d) => long_date(*d),
        };
        let fields = vec![
            vec!["Lead commissioner".into(), s.lead.clone()],
            vec!["Fund manager".into(), sc.fund_manager.clone()],
            vec!["Provider".into(), s.provider.clone()],
            vec![
                "Delivery".into(),
                match sc.delivery {
                    crate::programme::scheme::Delivery::Contract => "Contract",
                    _ => "In-house",
                }
                .into(),
            ],
            vec!["Contract term".into(), sc.contract_term.clone()],
            vec!["Commencement".into(), commencement],
            vec![format!("Value {}", p.financial_year), s.value.clone()],
            vec!["Governance".into(), sc.governance.join(" → ")],
        ];
        table(&mut o, "(auto, 1fr)", &["Field", "Value"], &fields);
        heading(&mut o, 2, "Outline");
        for part in sc.outline.split("\n\n") {
            para(&mut o, part.trim());
        }
        if let Some(b) = &s.budget {
            heading(&mut o, 2, "Finance");
            table(
                &mut o,
                "(1fr, 1fr, 1fr, 1fr, auto, 1fr)",
                &[
                    "Plan",
                    "Actual to date",
                    "Forecast outturn",
                    "Variance",
                    "% of plan",
                    "Status",
                ],
                &[vec![
                    b.plan.clone(),
                    b.actual.clone(),
                    b.forecast.clone(),
                    b.variance.clone(),
                    b.variance_pct.clone(),
                    b.status.words.clone(),
                ]],
            );
            note(&mut o, &format!("Forecast basis: {}.", b.basis));
        }
        heading(&mut o, 2, "Key performance indicators");
        for (c, _) in &s.cards {
            card(&mut o, c, &p.period, &mut charts);
        }
    }

    // Definitions and data quality.
    heading(&mut o, 1, "Definitions");
    for (title, what, rule) in &p.definitions {
        heading(&mut o, 2, title);
        note(&mut o, what);
        para(&mut o, rule);
    }
    heading(&mut o, 1, "Data quality");
    let rows: Vec<Vec<String>> = p
        .files
        .iter()
        .map(|f| {
            vec![
                f.file.clone(),
                group(f.read),
                group(f.accepted),
                group(f.rejected),
                group(f.warned),
                f.refused.clone().unwrap_or_default(),
            ]
        })
        .collect();
    table(
        &mut o,
        "(2fr, auto, auto, auto, auto, 2fr)",
        &[
            "File",
            "Rows read",
            "Accepted",
            "Rejected",
            "With warnings",
            "Refused because",
        ],
        &rows,
    );
    note(&mut o, "Every rejected row and warning, with its line, is in data_quality.csv and on the data-quality page.");
    (o, charts)
}

fn group(n: usize) -> String {
    crate::judge::group_thousands(n as f64, 0)
}

fn dash(s: &str) -> String {
    if s.is_empty() {
        "–".into()
    } else {
        s.to_string()
    }
}

fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().collect::<String>() + c.as_str(),
        None => String::new(),
    }
}

fn commentary(o: &mut String, c: &Card, period: &str) {
    match &c.commentary {
        Some(v) => {
            if !v.current {
                note(
                    o,
                    &format!("Commentary from {}; none for {period}.", v.period),
                );
            }
            para(o, &v.text);
            if !v.action.is_empty() {
                para(o, &format!("Action: {}", v.action));
            }
            if !v.owner.is_empty() {
                let due = if v.due.is_empty() {
                    String::new()
                } else {
                    format!(", by {}", v.due)
                };
                para(o, &format!("Owner: {}{due}", v.owner));
            }
            if !v.reviewed_at.is_empty() {
                para(o, &format!("Reviewed at: {}", v.reviewed_at));
            }
            if !v.escalated_to.is_empty() {
                para(o, &format!("Escalated to: {}", v.escalated_to));
            }
        }
        None if c.exception => para(o, "No commentary."),
        None => {}
    }
}

/// A KPI card: figures, explanation, commentary, chart (with its text alternative), the
/// annotations and the data behind the chart.
fn card(o: &mut String, c: &Card, period: &str, charts: &mut Vec<(String, String)>) {
    heading(o, 3, &c.label);
    note(
        o,
        &if c.method.is_empty() {
            format!("{} · {} · {}", c.metric_title, c.window_words, c.polarity)
        } else {
            format!(
                "{} · {} · {} · {}",
                c.metric_title, c.window_words, c.polarity, c.method
            )
        },
    );
    if c.stale {
        para(o, &c.stale_words);
    }
    let latest = if c.period.is_empty() {
        "Latest".to_string()
    } else {
        format!("Latest ({})", c.period)
    };
    let value = if c.ci.is_empty() {
        c.value.clone()
    } else {
        format!("{} ({})", c.value, c.ci)
    };
    table(
        o,
        "(auto, 1fr)",
        &["Figure", "Value"],
        &[
            vec![latest, value],
            vec![
                "Numerator / denominator".into(),
                format!("{} / {}", c.numerator, c.denominator),
            ],
            vec!["Baseline".into(), c.baseline.clone()],
            vec!["Target".into(), c.target.clone()],
            vec!["Status".into(), c.status.words.clone()],
            vec!["Variation".into(), c.variation.clone()],
            vec!["Assurance".into(), c.assurance.clone()],
            vec!["Against England".into(), c.benchmark.clone()],
        ],
    );
    let rules = if c.rules.is_empty() {
        String::new()
    } else {
        format!(" {}", c.rules)
    };
    para(o, &format!("{}{rules}", c.explanation));
    commentary(o, c, period);
    for r in &c.rebases {
        note(o, &format!("{r}."));
    }
    if let Some(svg) = c.chart.as_str() {
        let path = format!("/charts/{}.svg", c.id);
        // The inline SVG carries no namespace; a standalone file needs it.
        let file = svg.replacen("<svg ", "<svg xmlns=\"http://www.w3.org/2000/svg\" ", 1);
        charts.push((path.clone(), file));
        let _ = writeln!(
            o,
            "#figure(image({}, width: 100%, alt: {}), caption: {})\n",
            lit(&path),
            lit(&c.chart_alt),
            lit(&c.chart_caption)
        );
    }
    for a in &c.annotations {
        note(o, &format!("Marker {}, {}: {}", a.number, a.date, a.text));
    }
    let rows: Vec<Vec<String>> = c
        .points
        .iter()
        .map(|pt| {
            vec![
                pt.period.clone(),
                pt.value.clone(),
                pt.lower.clone(),
                pt.upper.clone(),
                pt.numerator.clone(),
                pt.denominator.clone(),
                pt.target.clone(),
                pt.signal.clone(),
            ]
        })
        .collect();
    if !rows.is_empty() {
        let _ = writeln!(
            o,
            "#text(size: 9pt, weight: \"bold\", {})\n",
            lit(&format!("Data behind the chart: {}", c.label))
        );
        table(
            o,
            "(1.3fr, 1fr, 1fr, 1fr, 1fr, 1fr, 1fr, 1.6fr)",
            &[
                "Period",
                "Value",
                "95% interval from",
                "95% interval to",
                "Numerator",
                "Denominator",
                "Target",
                "Signal",
            ],
            &rows,
        );
    }
    if let Some(b) = &c.bench {
        let rows: Vec<Vec<String>> = b
            .rows
            .iter()
            .map(|(a, v)| vec![a.clone(), v.clone()])
            .collect();
        let _ = writeln!(
            o,
            "#text(size: 9pt, weight: \"bold\", {})\n",
            lit(&format!("Benchmark {}", b.year))
        );
        table(o, "(2fr, 1fr)", &["Area", "Value"], &rows);
        note(o, &format!("Values {}: {}", b.year, b.source));
    }
}

/// The typst world of one pack: its source, its charts and the bundled fonts.
struct PackWorld {
    library: LazyHash<Library>,
    book: LazyHash<FontBook>,
    fonts: Vec<Font>,
    main: Source,
    files: Vec<(FileId, Bytes)>,
}

fn file_id(path: &str) -> Result<FileId, String> {
    let vpath = VirtualPath::new(path).map_err(|e| format!("{path}: {e:?}"))?;
    Ok(FileId::new(RootedPath::new(VirtualRoot::Project, vpath)))
}

impl World for PackWorld {
    fn library(&self) -> &LazyHash<Library> {
        &self.library
    }
    fn book(&self) -> &LazyHash<FontBook> {
        &self.book
    }
    fn main(&self) -> FileId {
        self.main.id()
    }
    fn source(&self, id: FileId) -> FileResult<Source> {
        if id == self.main.id() {
            Ok(self.main.clone())
        } else {
            Err(FileError::NotFound(
                id.get().vpath().get_with_slash().into(),
            ))
        }
    }
    fn file(&self, id: FileId) -> FileResult<Bytes> {
        self.files
            .iter()
            .find(|(f, _)| *f == id)
            .map(|(_, b)| b.clone())
            .ok_or_else(|| FileError::NotFound(id.get().vpath().get_with_slash().into()))
    }
    fn font(&self, index: usize) -> Option<Font> {
        self.fonts.get(index).cloned()
    }
    fn today(&self, _offset: Option<typst::foundations::Duration>) -> Option<Datetime> {
        // The pack never prints today's date: a rebuild must be byte-identical.
        None
    }
}

/// Typesets the pack as a tagged PDF/UA-1 document.
pub(super) fn render(pack: &PdfPack<'_>) -> Result<Vec<u8>, String> {
    let (text, charts) = source(pack);
    let fonts: Vec<Font> = typst_assets::fonts()
        .flat_map(|data| Font::iter(Bytes::new(data)))
        .collect();
    let main = Source::new(file_id("/pack.typ")?, text);
    let mut files = Vec::new();
    for (path, svg) in charts {
        files.push((file_id(&path)?, Bytes::from_string(svg)));
    }
    let world = PackWorld {
        library: LazyHash::new(Library::default()),
        book: LazyHash::new(FontBook::from_fonts(&fonts)),
        fonts,
        main,
        files,
    };
    let explain = |diags: &[typst::diag::SourceDiagnostic]| {
        diags
            .iter()
            .map(|d| {
                let hints: Vec<String> = d.hints.iter().map(|h| h.v.to_string()).collect();
                format!("pack.pdf: {} {}", d.message, hints.join("; "))
            })
            .collect::<Vec<_>>()
            .join("\n")
    };
    let document: typst_layout::PagedDocument =
        typst::compile(&world).output.map_err(|d| explain(&d))?;
    let options = typst_pdf::PdfOptions {
        ident: Smart::Custom(format!("bcfmon {} {}", pack.title, pack.period)),
        creator: Smart::Custom(Some(format!("bcfmon {}", env!("CARGO_PKG_VERSION")))),
        timestamp: None,
        page_ranges: None,
        standards: typst_pdf::PdfStandards::new(&[typst_pdf::PdfStandard::Ua_1])
            .map_err(|e| format!("pack.pdf: {e:?}"))?,
        tagged: true,
        pretty: false,
    };
    typst_pdf::pdf(&document, &options).map_err(|d| explain(&d))
}
