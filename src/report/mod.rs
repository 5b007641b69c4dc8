//! The board pack (design.md "Outputs"): turns the judged KPIs, the finance statement and the
//! data-quality ledger into page models, renders them with minijinja templates (embedded,
//! overridable from a folder, autoescaped), and lists every file of the pack with its bytes.

mod budget;
pub(crate) mod changes;
pub(crate) mod chart;
mod disclosure;
mod kpi;
mod pdf;
mod words;
pub(crate) mod xlsx;

use budget::*;
pub(crate) use disclosure::Disclose;
use kpi::*;
pub(crate) use kpi::{kpi_series, latest};
use words::*;
pub(crate) use words::{long_date, month_words};

use crate::catalogue::{self, Polarity, Unit};
use crate::finance::{self, Statement};
use crate::judge::{format_value, JudgedRow, TargetStatus};
use crate::money::format_gbp;
use crate::period::{FinancialYear, Month, Period};
use crate::pipeline::Run;
use crate::programme::scheme::{Commencement, Kpi, Measure, Scheme};
use crate::programme::{Disclosure, Settings};
use crate::stats::spc::{Assurance, PointType, SpcPoint};
use chrono::{Datelike, NaiveDate};
use minijinja::{Environment, Value};
use rust_decimal::Decimal;
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::Path;

/// The built-in templates, by file name; a file of the same name in `--templates` wins.
pub(crate) const TEMPLATES: &[(&str, &str)] = &[
    ("base.html", include_str!("../../templates/base.html")),
    ("index.html", include_str!("../../templates/index.html")),
    ("scheme.html", include_str!("../../templates/scheme.html")),
    (
        "definitions.html",
        include_str!("../../templates/definitions.html"),
    ),
    (
        "data-quality.html",
        include_str!("../../templates/data-quality.html"),
    ),
    (
        "glossary.html",
        include_str!("../../templates/glossary.html"),
    ),
];

/// Series shorter than this get a trajectory chart and no SPC icons: the Making Data Count
/// Single Chart tool shows limits and icons only from 13 points (methods.md §1.10).
pub(crate) const MIN_SPC_POINTS: usize = 13;

#[derive(Serialize)]
struct Common {
    title: String,
    area: String,
    area_code: String,
    data_as_at: String,
    period: String,
    financial_year: String,
    version: &'static str,
    marker: String,
    max_count: u32,
    /// `""` on top-level pages, `"../"` on scheme pages.
    up: &'static str,
}

#[derive(Serialize, Clone)]
struct Status {
    code: String,
    symbol: &'static str,
    words: String,
}

fn target_status_view(s: Option<TargetStatus>, settings: &Settings) -> Status {
    let s = s.unwrap_or(TargetStatus::Grey);
    let symbol = match s {
        TargetStatus::Green => "✔",
        TargetStatus::Amber => "!",
        TargetStatus::Red => "✖",
        TargetStatus::Grey => "–",
    };
    Status {
        code: s.to_string(),
        symbol,
        words: s.words(&settings.wording).to_string(),
    }
}

fn finance_status_view(s: finance::FinanceStatus, settings: &Settings) -> Status {
    use finance::FinanceStatus as F;
    let (t, words) = match s {
        // The KPI wording speaks of targets; a budget line is on or off its plan.
        F::OnTrack => (TargetStatus::Green, "On plan".to_string()),
        F::AtRisk => (TargetStatus::Amber, settings.wording.at_risk.clone()),
        F::NotOnTrack => (TargetStatus::Red, "Off plan".to_string()),
        F::NoPlan => (TargetStatus::Grey, "No plan".into()),
    };
    let mut v = target_status_view(Some(t), settings);
    v.words = words;
    v
}

/// Every file of the pack, by path relative to the pack's folder.
pub(crate) type Files = BTreeMap<String, Vec<u8>>;

/// Builds the pack for `month` from what `compute` prepared and its judged rows (`Run::judged`,
/// judged once however many months' packs are built).
pub(crate) fn build(
    prep: &Run,
    judged: &[JudgedRow],
    month: Month,
    templates: Option<&Path>,
    previous: &Previous,
) -> Result<Built, String> {
    let programme = &prep.programme;
    let settings = &programme.settings;
    let disclose = Disclose(&settings.disclosure);
    let judged: Vec<JudgedRow> = judged
        .iter()
        .filter(|j| j.row.period_end <= month.end())
        .cloned()
        .collect();
    let actuals = prep
        .data
        .finance
        .as_ref()
        .map(|f| f.rows.as_slice())
        .unwrap_or(&[]);
    let st = finance::statement(programme, actuals, month);
    let data_as_at = judged
        .iter()
        .map(|j| j.row.period_end)
        .max()
        .unwrap_or(month.end())
        .max(
            actuals
                .iter()
                .filter(|a| a.month <= month)
                .map(|a| a.month.end())
                .max()
                .unwrap_or(NaiveDate::MIN),
        );
    let common = |up: &'static str| Common {
        title: settings.title.clone(),
        area: settings.area.name.clone(),
        area_code: settings.area.code.clone(),
        data_as_at: long_date(data_as_at),
        period: month_words(month),
        financial_year: st.financial_year.to_string(),
        version: env!("CARGO_PKG_VERSION"),
        marker: settings.disclosure.marker.clone(),
        max_count: settings.disclosure.max_count,
        up,
    };
    let env = environment(templates)?;
    let mut files = Files::new();

    // Every KPI's card, then what changed since the previous pack (or month).
    let all_cards = cards(prep, &judged, month, &disclose);
    let now = snapshot(&all_cards, &st, &judged, &disclose, settings);
    let (since, compared_with, changes) = match previous {
        Previous::Pack { month: m, snapshot } => (
            month_words(*m),
            format!("the pack for {}", month_words(*m)),
            changes::compare(snapshot, &now),
        ),
        Previous::None => {
            let m = month.previous();
            let earlier: Vec<JudgedRow> = judged
                .iter()
                .filter(|j| j.row.period_end <= m.end())
                .cloned()
                .collect();
            let before_cards = cards(prep, &earlier, m, &disclose);
            let before_st = finance::statement(programme, actuals, m);
            let before = snapshot(&before_cards, &before_st, &earlier, &disclose, settings);
            (
                month_words(m),
                format!(
                    "{}, computed from today's data (no earlier pack was found), so no figure shows as revised",
                    month_words(m)
                ),
                changes::compare(&before, &now),
            )
        }
    };
    let stale: Vec<String> = all_cards
        .iter()
        .flat_map(|(s, cs)| {
            cs.iter()
                .filter(|c| c.stale)
                .map(move |c| format!("{} {}: {}", s.reference, c.label, c.stale_words))
        })
        .collect();

    // Scheme pages and the index rows.
    let mut index_rows = Vec::new();
    let mut exceptions = Vec::new();
    let mut summary = Vec::new();
    let mut summary_table = crate::table::Table::new(changes::SUMMARY_COLUMNS);
    let mut pdf_schemes = Vec::new();
    for (scheme, cards) in all_cards {
        let mut pdf_cards = Vec::new();
        let href = format!("schemes/{}.html", scheme.reference);
        for c in &cards {
            let kpi_changes: Vec<String> = changes
                .iter()
                .filter(|x| x.kind != "revised figure" && x.is_about(&scheme.reference, c))
                .map(|x| match x.kind {
                    "status" => format!("was {}", x.before),
                    kind => kind.to_string(),
                })
                .collect();
            let change = if kpi_changes.is_empty() {
                "No change".to_string()
            } else {
                kpi_changes.join("; ")
            };
            summary_table.push(changes::summary_row(month, scheme, c, &change));
            summary.push(minijinja::context! {
                card => c.clone(),
                href => format!("{href}#{}", c.id),
                change => change.clone(),
            });
            pdf_cards.push((c.clone(), change));
        }
        for c in cards.iter().filter(|c| c.exception) {
            exceptions.push(minijinja::context! {
                scheme => scheme.reference.clone(),
                scheme_name => scheme.name.clone(),
                href => format!("{href}#{}", c.id),
                label => c.label.clone(),
                status => c.status.clone(),
                variation => c.variation.clone(),
                explanation => c.explanation.clone(),
                reasons => c.reasons.clone(),
                commentary => c.commentary.clone(),
                stale_words => c.stale_words.clone(),
            });
        }
        let position = Position::of(&cards);
        let fin = st.schemes.iter().find(|s| s.reference == scheme.reference);
        let plan = scheme
            .finance
            .iter()
            .find(|p| p.financial_year == st.financial_year)
            .or(scheme.finance.last());
        let plan_value = plan.map_or_else(|| "–".into(), |p| format_gbp(p.value));
        let plan_short =
            plan.map_or_else(|| "–".into(), |p| crate::money::format_gbp_short(p.value));
        let lead = partner_name(settings, &scheme.lead_commissioner);
        index_rows.push(minijinja::context! {
            reference => scheme.reference.clone(),
            name => scheme.name.clone(),
            href => href.clone(),
            lead => lead.clone(),
            value_short => plan_short.clone(),
            position => position.clone(),
        });
        pdf_schemes.push(pdf::PdfScheme {
            scheme,
            lead,
            provider: partner_name(settings, &scheme.provider),
            value: plan_value,
            value_short: plan_short,
            position,
            budget: fin.map(|f| money_row(f.reference.clone(), href.clone(), f.total(), settings)),
            cards: pdf_cards,
        });
        let page = scheme_page(&env, scheme, fin, cards, &st, settings, common("../"))?;
        files.insert(href, page.into_bytes());
    }

    // Index.
    let partners: Vec<MoneyRow> = st
        .by_partner
        .iter()
        .map(|(id, t)| totals_row(partner_name(settings, id), t, &st, settings))
        .collect();
    let by_type: Vec<MoneyRow> = st
        .by_type
        .iter()
        .map(|(ty, t)| totals_row(ty.clone(), t, &st, settings))
        .collect();
    let expenditure: Vec<MoneyRow> = st
        .schemes
        .iter()
        .map(|s| {
            money_row(
                format!("{} {}", s.reference, s.name),
                format!("schemes/{}.html", s.reference),
                s.total(),
                settings,
            )
        })
        .collect();
    let off_plan: Vec<MoneyRow> = st
        .schemes
        .iter()
        .zip(&expenditure)
        .filter(|(s, _)| {
            matches!(
                s.total().status,
                finance::FinanceStatus::AtRisk | finance::FinanceStatus::NotOnTrack
            )
        })
        .map(|(_, row)| row.clone())
        .collect();
    let thresholds = format!(
        "on plan within ±{}% of plan, off plan beyond ±{}%, at risk between",
        st.on_track_pct.normalize(),
        st.not_on_track_pct.normalize()
    );
    let total = totals_row("Pooled budget".into(), &st.total, &st, settings);
    let pdf = pdf::render(&pdf::PdfPack {
        title: settings.title.clone(),
        area: settings.area.name.clone(),
        period: month_words(month),
        data_as_at: long_date(data_as_at),
        financial_year: st.financial_year.to_string(),
        marker: settings.disclosure.marker.clone(),
        max_count: settings.disclosure.max_count,
        since: since.clone(),
        compared_with: compared_with.clone(),
        schemes: pdf_schemes,
        changes: &changes,
        partners: &partners,
        total: total.clone(),
        expenditure: &expenditure,
        definitions: {
            let m = method_words(settings.method);
            let rules: Vec<String> = m
                .rules
                .iter()
                .map(|(id, about, source)| format!("{id}: {about} (DHSC: {source})."))
                .collect();
            let method = (
                "The ASCOF method".to_string(),
                format!("ASCOF figures follow the {}", m.name),
                format!("{} {}", m.summary, rules.join(" ")),
            );
            std::iter::once(method)
                .chain(definitions_of(programme).into_iter().map(|d| {
                    let mut what = format!("{} · {}: {}", d.unit, d.polarity, d.polarity_source);
                    if !d.method.is_empty() {
                        what = format!("{what} · {}", d.method);
                    }
                    (d.title, what, d.rule)
                }))
                .collect()
        },
        files: &prep.ledger.files,
        thresholds: thresholds.clone(),
        glossary: glossary(&settings.disclosure),
    })?;
    files.insert("pack.pdf".into(), pdf);
    let index = env
        .get_template("index.html")
        .and_then(|t| {
            t.render(minijinja::context! {
                c => common(""),
                glossary => glossary(&settings.disclosure),
                schemes => index_rows,
                summary => summary,
                changes => changes,
                since => since,
                compared_with => compared_with,
                wording => minijinja::context! {
                    on_track => settings.wording.on_track.clone(),
                    at_risk => settings.wording.at_risk.clone(),
                    not_on_track => settings.wording.not_on_track.clone(),
                    no_data => settings.wording.no_data.clone(),
                },
                exceptions => exceptions,
                partners => partners,
                by_type => by_type,
                total => total,
                off_plan => off_plan,
                expenditure => expenditure,
                finance_chart => finance_chart(&st, &st.schemes, "finance"),
                thresholds => thresholds,
            })
        })
        .map_err(template_error)?;
    files.insert("index.html".into(), index.into_bytes());

    files.insert(
        "definitions.html".into(),
        definitions(&env, programme, common(""))?.into_bytes(),
    );
    files.insert(
        "data-quality.html".into(),
        data_quality(&env, prep, common(""))?.into_bytes(),
    );

    // The tidy tables: disclosure applies, as everywhere the board sees.
    let table = disclose.judged_table(&judged, &settings.wording);
    files.insert("metrics.csv".into(), table.to_csv().into_bytes());
    files.insert("metrics.json".into(), table.to_json()?);
    files.insert("finance.csv".into(), st.to_csv().into_bytes());
    files.insert(
        "bcf-return.xlsx".into(),
        xlsx::workbook(programme, &st, &judged, &disclose)?,
    );
    files.insert("data_quality.csv".into(), prep.ledger.to_csv().into_bytes());
    files.insert("summary.csv".into(), summary_table.to_csv().into_bytes());
    files.insert(
        "changes.csv".into(),
        changes::changes_csv(&changes).into_bytes(),
    );
    Ok(Built { files, stale })
}

/// A scheme's KPIs counted by status and staleness: the programme position, on the index
/// and in the PDF.
#[derive(Serialize, Clone)]
pub(super) struct Position {
    kpis: usize,
    on_track: usize,
    at_risk: usize,
    not_on_track: usize,
    no_data: usize,
    out_of_date: usize,
}

impl Position {
    fn of(cards: &[Card]) -> Position {
        let count = |code: &str| cards.iter().filter(|c| c.status.code == code).count();
        Position {
            kpis: cards.len(),
            on_track: count("green"),
            at_risk: count("amber"),
            not_on_track: count("red"),
            no_data: count("grey"),
            out_of_date: cards.iter().filter(|c| c.stale).count(),
        }
    }

    /// The counts in the position table's column order.
    pub(super) fn counts(&self) -> [usize; 6] {
        [
            self.kpis,
            self.on_track,
            self.at_risk,
            self.not_on_track,
            self.no_data,
            self.out_of_date,
        ]
    }
}

/// What `report` compares the pack with.
pub(crate) enum Previous {
    /// A previous pack bcfmon wrote, read back.
    Pack {
        month: Month,
        snapshot: changes::Snapshot,
    },
    /// None found: the previous month is built from today's data.
    None,
}

/// A built pack: its files, and every out-of-date KPI (for `--require-fresh`).
pub(crate) struct Built {
    pub files: Files,
    pub stale: Vec<String>,
}

/// Every scheme's KPI cards for a pack of `month`, from the judged rows up to it.
fn cards<'p>(
    prep: &'p Run,
    judged: &[JudgedRow],
    month: Month,
    disclose: &Disclose<'_>,
) -> Vec<(&'p Scheme, Vec<Card>)> {
    prep.programme
        .schemes
        .iter()
        .map(|scheme| {
            let cards = scheme
                .kpis
                .iter()
                .enumerate()
                .map(|(i, kpi)| {
                    let series = kpi_series(judged, scheme, kpi);
                    card(prep, scheme, i, kpi, &series, disclose, month)
                })
                .collect();
            (scheme, cards)
        })
        .collect()
}

/// What a pack of these cards states, as the next pack will read it back.
fn snapshot(
    cards: &[(&Scheme, Vec<Card>)],
    st: &Statement,
    judged: &[JudgedRow],
    disclose: &Disclose<'_>,
    settings: &Settings,
) -> changes::Snapshot {
    changes::Snapshot {
        kpis: cards
            .iter()
            .flat_map(|(s, cs)| {
                cs.iter().map(|c| changes::KpiState {
                    scheme: s.reference.clone(),
                    metric: c.metric.clone(),
                    window: c.window.clone(),
                    label: c.label.clone(),
                    status_code: c.status.code.clone(),
                    status: c.status.words.clone(),
                    special_cause: c.special_cause.clone(),
                    exception: c.reasons.join("; "),
                })
            })
            .collect(),
        budget: changes::budget_state(st, settings),
        figures: changes::figures(judged, disclose),
    }
}

fn partner_name(settings: &Settings, id: &str) -> String {
    settings
        .partners
        .iter()
        .find(|p| p.id == id)
        .map_or(id.to_string(), |p| p.name.clone())
}

fn template_error(e: minijinja::Error) -> String {
    let mut msg = format!("template error: {e}");
    let mut source = std::error::Error::source(&e);
    while let Some(s) = source {
        msg.push_str(&format!("\n  caused by: {s}"));
        source = s.source();
    }
    msg
}

/// The template environment: the user's folder first, the built-in templates otherwise;
/// `.html` templates are autoescaped.
fn environment(dir: Option<&Path>) -> Result<Environment<'static>, String> {
    let mut env = Environment::new();
    let mut sources: BTreeMap<String, String> = TEMPLATES
        .iter()
        .map(|(n, t)| (n.to_string(), t.to_string()))
        .collect();
    if let Some(dir) = dir {
        let entries = std::fs::read_dir(dir)
            .map_err(|e| format!("{}: cannot read the templates folder: {e}", dir.display()))?;
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if let Some(slot) = sources.get_mut(&name) {
                *slot = std::fs::read_to_string(entry.path())
                    .map_err(|e| format!("{}: {e}", entry.path().display()))?;
            }
        }
    }
    for (name, text) in sources {
        let shown = match dir {
            Some(d) if d.join(&name).exists() => d.join(&name).display().to_string(),
            _ => format!("templates/{name} (built in)"),
        };
        env.add_template_owned(name, text)
            .map_err(|e| format!("{shown}: {}", template_error(e)))?;
    }
    Ok(env)
}

#[allow(clippy::too_many_arguments)]
fn scheme_page(
    env: &Environment<'_>,
    scheme: &Scheme,
    fin: Option<&finance::SchemeFinance>,
    cards: Vec<Card>,
    st: &Statement,
    settings: &Settings,
    common: Common,
) -> Result<String, String> {
    let plans: Vec<minijinja::Value> = scheme
        .finance
        .iter()
        .map(|p| {
            minijinja::context! {
                year => p.financial_year.to_string(),
                value => format_gbp(p.value),
                full_year_effect => p.full_year_effect.map(format_gbp),
                forecast => p.forecast_outturn.map(format_gbp),
                contributions => p.contributions.iter().map(|c| {
                    let name = partner_name(settings, &c.partner);
                    let name = match &c.funding_stream {
                        Some(stream) => format!("{name} ({stream})"),
                        None => name,
                    };
                    (name, format_gbp(c.amount))
                }).collect::<Vec<_>>(),
            }
        })
        .collect();
    let lines: Vec<MoneyRow> = fin
        .map(|f| {
            f.lines
                .iter()
                .map(|l| {
                    let label = if l.partner == "ALL" {
                        "All partners".to_string()
                    } else {
                        partner_name(settings, &l.partner)
                    };
                    money_row(label, String::new(), l, settings)
                })
                .collect()
        })
        .unwrap_or_default();
    let monthly: Vec<(String, String)> = fin
        .map(|f| {
            f.monthly
                .iter()
                .map(|(m, a)| (month_words(*m), gbp(*a)))
                .collect()
        })
        .unwrap_or_default();
    let joint = fin.and_then(|f| f.joint.as_ref()).map(|j| {
        minijinja::context! {
            description => j.description.clone(),
            people => j.people,
            people_as_at => j.people_as_at.map(long_date),
            shares => j.shares.iter().map(|s| minijinja::context! {
                partner => partner_name(settings, &s.partner),
                percent => format!("{}%", s.percent.normalize()),
                share => gbp(s.share_of_actual),
                paid => gbp(s.paid),
                balance => signed_gbp(s.balance),
                forecast => gbp(s.share_of_forecast),
            }).collect::<Vec<_>>(),
        }
    });
    let savings = fin.and_then(|f| f.savings.as_ref()).map(|s| {
        let pct_of = |a: Decimal, t: Option<Decimal>| {
            t.filter(|t| !t.is_zero())
                .map(|t| pct1(Some(a * Decimal::ONE_HUNDRED / t)))
                .unwrap_or_else(|| "–".into())
        };
        minijinja::context! {
            target => s.target.map(gbp),
            achieved => gbp(s.achieved_to_date),
            achieved_pct => pct_of(s.achieved_to_date, s.target),
            forecast => gbp(s.forecast_in_year),
            forecast_pct => pct_of(s.forecast_in_year, s.target),
            fye_target => s.full_year_effect_target.map(gbp),
            fye_forecast => gbp(s.full_year_effect_forecast),
            fye_pct => pct_of(s.full_year_effect_forecast, s.full_year_effect_target),
            months => s.months_elapsed,
        }
    });
    let commencement = match scheme.commencement {
        Commencement::Ongoing => "Ongoing".to_string(),
        Commencement::Date(d) => long_date(d),
    };
    let chart = fin.map(|f| {
        finance_chart(
            st,
            std::slice::from_ref(f),
            &format!("{}-finance", scheme.reference),
        )
    });
    env.get_template("scheme.html")
        .and_then(|t| {
            t.render(minijinja::context! {
                c => common,
                s => minijinja::context! {
                    reference => scheme.reference.clone(),
                    name => scheme.name.clone(),
                    lead => partner_name(settings, &scheme.lead_commissioner),
                    fund_manager => scheme.fund_manager.clone(),
                    commencement => commencement,
                    delivery => match scheme.delivery { crate::programme::scheme::Delivery::Contract => "Contract", _ => "In-house" },
                    provider => partner_name(settings, &scheme.provider),
                    contract_term => scheme.contract_term.clone(),
                    scheme_type => scheme.scheme_type.clone(),
                    governance => scheme.governance.clone(),
                    outline => scheme.outline.clone(),
                },
                plans => plans,
                lines => lines,
                monthly => monthly,
                months_elapsed => fin.map(|f| f.months_elapsed),
                months_in_year => fin.map(|f| f.months_in_year),
                joint => joint,
                savings => savings,
                finance_chart => chart,
                cards => cards,
            })
        })
        .map_err(template_error)
}

/// Every metric the schemes' KPIs use, as the definitions page and the PDF describe it.
/// One metric as the definitions page and the PDF describe it.
#[derive(Serialize)]
struct Definition {
    id: String,
    title: String,
    codes: String,
    unit: String,
    polarity: &'static str,
    polarity_source: &'static str,
    sources: String,
    rule: String,
    section: String,
    /// The ASCOF method the metric's figures follow (empty for the others).
    method: &'static str,
    local: bool,
}

fn definitions_of(programme: &crate::programme::Programme) -> Vec<Definition> {
    let mut used: Vec<String> = programme
        .schemes
        .iter()
        .flat_map(|s| s.kpis.iter().map(|k| k.metric.clone()))
        .collect();
    used.sort();
    used.dedup();
    let mut defs = Vec::new();
    for id in &used {
        let (base, _) = catalogue::split_breakdown(id);
        if let Some(m) = crate::metrics::catalogue::lookup(base) {
            defs.push(Definition {
                id: id.clone(),
                title: metric_title(programme, id).0,
                codes: m.codes.join(", "),
                unit: m.unit.to_string(),
                polarity: polarity_words(m.polarity),
                polarity_source: if m.polarity_official {
                    "as the published measure states"
                } else {
                    "the usual reading of the measure; a KPI may set its own"
                },
                sources: m.sources.join(", "),
                rule: m.rule.to_string(),
                section: format!(
                    "bcfmon's metric catalogue: `bcfmon metrics {base}` prints this rule"
                ),
                method: kpi::method_label(programme, id),
                local: false,
            });
        } else if let Some(l) = programme.local_metrics().find(|l| &l.id == id) {
            defs.push(Definition {
                id: id.clone(),
                title: l.title.clone(),
                codes: "local".into(),
                unit: l.unit.to_string(),
                polarity: polarity_words(l.polarity),
                polarity_source: "as the scheme file sets it",
                sources: l.source.clone(),
                rule: l.rule.clone().unwrap_or_else(|| {
                    format!(
                        "Count of {} rows where {} (dated by {}){}.",
                        l.source,
                        l.numerator,
                        l.date,
                        l.denominator
                            .as_ref()
                            .map(|d| format!(", over those where {d}"))
                            .unwrap_or_default()
                    )
                }),
                section: "a local metric declared in a scheme file".into(),
                method: "",
                local: true,
            });
        }
    }
    defs
}

/// The ASCOF method the pack's figures follow, in words, with the rules that divide the
/// methods (metrics.md §16).
#[derive(Serialize)]
struct MethodWords {
    name: &'static str,
    summary: String,
    rules: Vec<(&'static str, &'static str, &'static str)>,
}

fn method_words(method: crate::method::Method) -> MethodWords {
    use crate::method::{Method, RULES};
    let summary = match method {
        Method::Bcfmon => "The ASCOF figures in this pack (ascof-2a, 2b, 2c, 2e, 2e-ld and the 3d parts) follow bcfmon's monitoring method: each window is judged on what the extract says about it, never on rows after its end, so a month's figure is stable for monitoring. DHSC's published figures follow DHSC's own code, which differs in the rules below; the analyst's command bcfmon compute --explain-method counts how many people each rule moves for this area, and bcfmon compute --method dhsc gives DHSC's figures.".to_string(),
        Method::Dhsc => "The ASCOF figures in this pack (ascof-2a, 2b, 2c, 2e, 2e-ld and the 3d parts) follow DHSC's published method, as DHSC's own code (DataS-DHSC/ASC-CLD-LA-Dashboard, snapshot 9bee728) computes them, so they can be set beside the figures DHSC publishes for the council. They differ from bcfmon's monitoring method in the rules below; the analyst's command bcfmon compute --explain-method counts how many people each rule moves for this area.".to_string(),
    };
    MethodWords {
        name: method.label(),
        summary,
        rules: RULES
            .iter()
            .map(|r| (r.as_str(), r.about(), r.source()))
            .collect(),
    }
}

fn definitions(
    env: &Environment<'_>,
    programme: &crate::programme::Programme,
    common: Common,
) -> Result<String, String> {
    let defs = definitions_of(programme);
    env.get_template("definitions.html")
        .and_then(|t| {
            t.render(minijinja::context! {
                glossary => glossary(&programme.settings.disclosure),
                c => common,
                defs => defs,
                method => method_words(programme.settings.method),
            })
        })
        .map_err(template_error)
}

fn data_quality(env: &Environment<'_>, prep: &Run, common: Common) -> Result<String, String> {
    let ledger = &prep.ledger;
    let files: Vec<minijinja::Value> = ledger
        .files
        .iter()
        .map(|f| {
            minijinja::context! {
                extract => f.extract.clone(),
                file => f.file.clone(),
                read => f.read,
                accepted => f.accepted,
                rejected => f.rejected,
                warned => f.warned,
                ignored => f.ignored,
                refused => f.refused.clone(),
            }
        })
        .collect();
    // By file, severity and rule (in that order): a count and the first five locations.
    let mut groups = ledger.groups();
    groups.sort_by(|a, b| {
        (a.file, a.severity.as_str(), a.rule).cmp(&(b.file, b.severity.as_str(), b.rule))
    });
    let reasons: Vec<minijinja::Value> = groups
        .into_iter()
        .map(|g| {
            let locs: Vec<String> = g.issues.iter().take(5).map(|i| i.place()).collect();
            minijinja::context! {
                file => g.file,
                severity => g.severity.as_str(),
                rule => g.rule,
                message => g.issues[0].message.clone(),
                count => g.issues.len(),
                locs,
            }
        })
        .collect();
    let missing: Vec<(String, String)> = prep
        .data
        .missing
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    env.get_template("data-quality.html")
        .and_then(|t| {
            t.render(minijinja::context! {
                c => common, files => files, reasons => reasons, missing => missing,
            })
        })
        .map_err(template_error)
}
