//! What changed since the last pack: each KPI's position and each scheme's budget status as
//! the pack states them (`summary.csv`, `finance.csv`), and every figure it printed
//! (`metrics.csv`), compared with the pack being built. The previous pack is read back
//! from its own files; without one, the previous month is built from today's data.

use super::*;
use crate::table::Column;
use std::path::PathBuf;

/// The columns of `summary.csv`: every KPI of every scheme as the summary table shows it.
pub(crate) const SUMMARY_COLUMNS: &[Column] = {
    use crate::table::{date, float, text};
    &[
        text("pack_month"),
        text("scheme"),
        text("metric"),
        text("window"),
        text("label"),
        date("period_end"),
        text("value"),
        float("target"),
        text("status_code"),
        text("status"),
        text("variation"),
        text("assurance"),
        text("special_cause"),
        text("special_cause_rule"),
        text("out_of_date"),
        text("exception"),
        text("commentary_period"),
        text("change"),
    ]
};

/// A KPI's row of `summary.csv`, in `SUMMARY_COLUMNS` order.
pub(super) fn summary_row(month: Month, scheme: &Scheme, c: &Card, change: &str) -> Vec<String> {
    vec![
        month.to_string(),
        scheme.reference.clone(),
        c.metric.clone(),
        c.window.clone(),
        c.label.clone(),
        c.period_end.clone(),
        c.value.clone(),
        c.target_value.clone(),
        c.status.code.clone(),
        c.status.words.clone(),
        c.variation.clone(),
        c.assurance.clone(),
        c.special_cause.clone(),
        c.rule_names.clone(),
        if c.stale { "yes" } else { "no" }.into(),
        c.reasons.join("; "),
        c.commentary
            .as_ref()
            .map(|v| v.period.clone())
            .unwrap_or_default(),
        change.to_string(),
    ]
}

/// One KPI's position in a pack.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct KpiState {
    pub scheme: String,
    pub metric: String,
    pub window: String,
    pub label: String,
    pub status_code: String,
    pub status: String,
    /// `special cause concern`, `special cause improvement` or empty.
    pub special_cause: String,
    /// Why it is an exception, `; `-joined; empty when it is not one.
    pub exception: String,
}

/// A printed figure's place: scheme, metric, window and period end (`yyyy-mm-dd`).
pub(crate) type FigureKey = (String, String, String, String);

/// What a pack states: its month, each KPI's position, each scheme's budget status and every
/// figure it printed (by scheme, metric, window and period end).
#[derive(Debug, Clone, Default)]
pub(crate) struct Snapshot {
    pub kpis: Vec<KpiState>,
    pub budget: Vec<(String, String)>,
    pub figures: BTreeMap<FigureKey, String>,
}

/// One line of "Changes since …" and of `changes.csv`.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub(crate) struct Change {
    pub kind: &'static str,
    pub scheme: String,
    pub item: String,
    pub before: String,
    pub after: String,
    /// The KPI it is about (metric, window), when it is about one: labels need not be unique.
    #[serde(skip)]
    pub kpi: Option<(String, String)>,
}

/// The columns of `changes.csv`.
pub(crate) const CHANGES_COLUMNS: &[Column] = {
    use crate::table::text;
    &[
        text("kind"),
        text("scheme"),
        text("item"),
        text("before"),
        text("after"),
    ]
};

impl Change {
    /// Whether the change is about this KPI of this scheme.
    pub(super) fn is_about(&self, scheme: &str, card: &Card) -> bool {
        self.scheme == scheme
            && self
                .kpi
                .as_ref()
                .is_some_and(|(m, w)| *m == card.metric && *w == card.window)
    }

    fn cells(&self) -> Vec<String> {
        vec![
            self.kind.to_string(),
            self.scheme.clone(),
            self.item.clone(),
            self.before.clone(),
            self.after.clone(),
        ]
    }
}

/// `changes.csv`.
pub(crate) fn changes_csv(changes: &[Change]) -> String {
    let mut table = crate::table::Table::new(CHANGES_COLUMNS);
    for c in changes {
        table.push(c.cells());
    }
    table.to_csv()
}

/// Everything that differs from `before` to `now`, KPI by KPI in the pack's order, then the
/// budget, then revised figures oldest first.
pub(crate) fn compare(before: &Snapshot, now: &Snapshot) -> Vec<Change> {
    let mut out = Vec::new();
    for k in &now.kpis {
        let Some(b) = before
            .kpis
            .iter()
            .find(|b| b.scheme == k.scheme && b.metric == k.metric && b.window == k.window)
        else {
            out.push(change("new KPI", k, "", &k.status));
            continue;
        };
        if b.status_code != k.status_code {
            out.push(change("status", k, &b.status, &k.status));
        }
        match (b.special_cause.is_empty(), k.special_cause.is_empty()) {
            (true, false) => out.push(change("new special cause", k, "", &k.special_cause)),
            (false, true) => out.push(change("cleared special cause", k, &b.special_cause, "")),
            (false, false) if b.special_cause != k.special_cause => out.push(change(
                "new special cause",
                k,
                &b.special_cause,
                &k.special_cause,
            )),
            _ => {}
        }
        match (b.exception.is_empty(), k.exception.is_empty()) {
            (true, false) => out.push(change("new exception", k, "", &k.exception)),
            (false, true) => out.push(change("cleared exception", k, &b.exception, "")),
            _ => {}
        }
    }
    for (scheme, status) in &now.budget {
        if let Some((_, was)) = before.budget.iter().find(|(s, _)| s == scheme) {
            if was != status {
                out.push(Change {
                    kind: "budget",
                    scheme: scheme.clone(),
                    item: "Forecast outturn against plan".into(),
                    before: was.clone(),
                    after: status.clone(),
                    kpi: None,
                });
            }
        }
    }
    let mut revised: Vec<(&FigureKey, &String, &String)> = before
        .figures
        .iter()
        .filter_map(|(key, old)| {
            let new = now.figures.get(key)?;
            (new != old && !(new.is_empty() && old.is_empty())).then_some((key, old, new))
        })
        .collect();
    revised.sort_by(|a, b| (&a.0 .3, &a.0 .0, &a.0 .1).cmp(&(&b.0 .3, &b.0 .0, &b.0 .1)));
    for ((scheme, metric, window, period_end), old, new) in revised {
        let label = now
            .kpis
            .iter()
            .find(|k| &k.scheme == scheme && &k.metric == metric && &k.window == window)
            .map_or(metric.clone(), |k| k.label.clone());
        let when = NaiveDate::parse_from_str(period_end, "%Y-%m-%d")
            .map(|d| month_words(Month::of(d)))
            .unwrap_or_else(|_| period_end.clone());
        out.push(Change {
            kind: "revised figure",
            scheme: scheme.clone(),
            item: format!("{label}, {when}"),
            before: blank_as_none(old),
            after: blank_as_none(new),
            kpi: Some((metric.clone(), window.clone())),
        });
    }
    out
}

fn blank_as_none(s: &str) -> String {
    if s.is_empty() {
        "no figure".into()
    } else {
        s.to_string()
    }
}

fn change(kind: &'static str, k: &KpiState, before: &str, after: &str) -> Change {
    Change {
        kind,
        scheme: k.scheme.clone(),
        item: k.label.clone(),
        before: before.to_string(),
        after: after.to_string(),
        kpi: Some((k.metric.clone(), k.window.clone())),
    }
}

/// The pack folder a report for `month` compares with by default: the previous month's
/// folder beside `out` (`out/2016-02` beside `out/2016-03`).
pub(crate) fn previous_beside(out: &Path, month: Month) -> PathBuf {
    let parent = out.parent().unwrap_or(Path::new("."));
    parent.join(month.previous().to_string())
}

/// Reads a CSV this module or the pack wrote, as rows of named cells.
fn read_table(path: &Path) -> Result<Vec<BTreeMap<String, String>>, String> {
    let (header, rows) = crate::table::read_back(path, "the previous pack")?;
    Ok(rows
        .into_iter()
        .map(|cells| header.iter().cloned().zip(cells).collect())
        .collect())
}

/// The previous pack's month and position, read back from its `summary.csv`, `metrics.csv`
/// and `finance.csv`, with budget statuses judged on this programme's thresholds. `None`
/// when the folder holds no pack of this version or later (no summary.csv).
pub(crate) fn read_pack(
    dir: &Path,
    settings: &Settings,
) -> Result<Option<(Month, Snapshot)>, String> {
    let get = |row: &BTreeMap<String, String>, k: &str| row.get(k).cloned().unwrap_or_default();
    let mut snap = Snapshot::default();
    if !dir.join(crate::output::PACK_MARK).is_file() || !dir.join("summary.csv").is_file() {
        return Ok(None);
    }
    let summary = read_table(&dir.join("summary.csv"))?;
    let Some(month) = summary
        .first()
        .and_then(|row| crate::period::parse_month(&get(row, "pack_month")).ok())
    else {
        return Ok(None);
    };
    for row in summary {
        snap.kpis.push(KpiState {
            scheme: get(&row, "scheme"),
            metric: get(&row, "metric"),
            window: get(&row, "window"),
            label: get(&row, "label"),
            status_code: get(&row, "status_code"),
            status: get(&row, "status"),
            special_cause: get(&row, "special_cause"),
            exception: get(&row, "exception"),
        });
    }
    for row in read_table(&dir.join("metrics.csv"))? {
        snap.figures.insert(
            (
                get(&row, "scheme"),
                get(&row, "metric"),
                get(&row, "window"),
                get(&row, "period_end"),
            ),
            get(&row, "value"),
        );
    }
    let mut sums: Vec<(String, Decimal, Decimal)> = Vec::new();
    for row in read_table(&dir.join("finance.csv"))? {
        let money = |k: &str| get(&row, k).parse::<Decimal>().unwrap_or_default();
        let scheme = get(&row, "scheme");
        match sums.iter_mut().find(|s| s.0 == scheme) {
            Some(s) => {
                s.1 += money("plan");
                s.2 += money("variance");
            }
            None => sums.push((scheme, money("plan"), money("variance"))),
        }
    }
    for (scheme, plan, variance) in sums {
        let status = finance::status(
            finance::variance_pct(variance, plan),
            settings.finance.on_track_pct,
            settings.finance.not_on_track_pct,
        );
        snap.budget
            .push((scheme, finance_status_view(status, settings).words));
    }
    Ok(Some((month, snap)))
}

/// This pack's budget statuses, as `read_pack` reads them back.
pub(crate) fn budget_state(st: &Statement, settings: &Settings) -> Vec<(String, String)> {
    st.schemes
        .iter()
        .map(|s| {
            (
                s.reference.clone(),
                finance_status_view(s.total().status, settings).words,
            )
        })
        .collect()
}

/// Every figure of the judged table as the pack prints it (after disclosure control).
pub(crate) fn figures(
    judged: &[JudgedRow],
    disclose: &Disclose<'_>,
) -> BTreeMap<FigureKey, String> {
    judged
        .iter()
        .map(|j| {
            let cells = disclose.row_cells(&j.row);
            (
                (
                    j.scheme.clone(),
                    j.row.metric.clone(),
                    j.row.window.to_string(),
                    j.row.period_end.format("%Y-%m-%d").to_string(),
                ),
                cells.value,
            )
        })
        .collect()
}
