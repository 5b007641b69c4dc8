//! The `safeguarding` extract (data-contract.md §4): one row per concern, with its enquiry.

use super::values::{canonical, days, null, parse_date, required_date};
use super::{
    date_column, finish, read_rows, refuse, rejected_locs, require_unique_ids, Ledger, Loaded, Loc,
    Severity, Source,
};
use polars::prelude::*;

pub(crate) const DECISIONS: &[&str] = &[
    "Section 42 enquiry",
    "Other safeguarding enquiry",
    "No enquiry",
];
pub(crate) const OUTCOMES: &[&str] = &[
    "Risk removed",
    "Risk reduced",
    "Risk remains",
    "No risk identified",
    "Enquiry ceased at individual's request",
    "Not known",
];

struct Row {
    loc: Loc,
    area: String,
    id: Option<String>,
    received: Option<i32>,
    decided: Option<i32>,
    decision: Option<&'static str>,
    concluded: Option<i32>,
}

/// Reads and validates the extract: rules S01–S08, every rejected row left out and reported.
/// The frame has the contract's column names (`LA_Code`, `Concern_ID`, `Concern_Received_Date`,
/// `Decision_Date`, `Decision`, `Enquiry_Concluded_Date`) and `__line`.
pub(crate) fn load(src: &Source, ledger: &mut Ledger) -> Option<Loaded> {
    let (mut report, mut summary) = src.start();
    let mut rows: Vec<Row> = Vec::new();
    let read = read_rows(src, &mut report, |c, loc, f, report| {
        let get = |name: &str| c.get(name).map_or("", |i| f.get(i).copied().unwrap_or(""));
        let mut add = |sev, rule: &str, col: &str, msg: String| {
            report.add(loc, sev, rule, col, get(col), msg)
        };
        let parse = |col: &str| null(get(col)).map(|v| parse_date(v, src.date_format));
        let received = required_date(
            get("Concern_Received_Date"),
            src.date_format,
            "the received date is missing",
        )
        .map_err(|e| add(Severity::Error, "S02", "Concern_Received_Date", e))
        .ok();
        let decided = match parse("Decision_Date") {
            Some(Ok(d)) => {
                if received.is_some_and(|r| d < r) {
                    add(
                        Severity::Error,
                        "S03",
                        "Decision_Date",
                        "the decision is dated before the concern was received".into(),
                    );
                }
                Some(d)
            }
            Some(Err(e)) => {
                add(Severity::Error, "S03", "Decision_Date", e);
                None
            }
            None => None,
        };
        let decision_text = null(get("Decision"));
        let decision = decision_text.and_then(|d| canonical(d, DECISIONS));
        if let (Some(text), None) = (decision_text, decision) {
            add(
                Severity::Error,
                "S05",
                "Decision",
                format!(
                    "\"{text}\" is not a decision (allowed: {})",
                    DECISIONS.join(", ")
                ),
            );
        }
        let has_date = null(get("Decision_Date")).is_some();
        if has_date != decision_text.is_some() {
            let msg = if has_date {
                "a decision date without a decision"
            } else {
                "a decision without a decision date"
            };
            add(Severity::Error, "S04", "Decision", msg.into());
        }
        let concluded = match parse("Enquiry_Concluded_Date") {
            Some(Ok(d)) => {
                if decided.is_some_and(|dd| d < dd) {
                    add(
                        Severity::Error,
                        "S07",
                        "Enquiry_Concluded_Date",
                        "the enquiry concluded before the decision".into(),
                    );
                }
                if decision_text.is_none() || decision == Some("No enquiry") {
                    add(
                        Severity::Error,
                        "S06",
                        "Enquiry_Concluded_Date",
                        "an enquiry conclusion on a concern with no enquiry".into(),
                    );
                }
                Some(d)
            }
            Some(Err(e)) => {
                add(Severity::Error, "S07", "Enquiry_Concluded_Date", e);
                None
            }
            None => None,
        };
        if let Some(o) = null(get("Outcome")) {
            if canonical(o, OUTCOMES).is_none() {
                add(
                    Severity::Info,
                    "S08",
                    "Outcome",
                    format!("\"{o}\" is not a listed outcome; kept as supplied"),
                );
            }
        }
        rows.push(Row {
            loc,
            area: get("LA_Code").trim().to_string(),
            id: null(get("Concern_ID")).map(str::to_string),
            received: received.map(days),
            decided: decided.map(days),
            decision,
            concluded: concluded.map(days),
        });
    });
    summary.read = match read {
        Ok(n) => n,
        Err(why) => return refuse(ledger, report, summary, why),
    };
    // S01: an empty or repeated Concern_ID rejects every copy.
    let ids: Vec<(Loc, Option<&str>)> = rows.iter().map(|r| (r.loc, r.id.as_deref())).collect();
    require_unique_ids(&mut report, ("S01", "Concern_ID", "concern"), &ids);
    let rejected = rejected_locs(&report);
    let kept: Vec<&Row> = rows.iter().filter(|r| !rejected.contains(&r.loc)).collect();
    let frame = DataFrame::new_infer_height(vec![
        Column::new(
            "LA_Code".into(),
            kept.iter().map(|r| r.area.as_str()).collect::<Vec<_>>(),
        ),
        Column::new(
            "Concern_ID".into(),
            kept.iter()
                .map(|r| r.id.clone().unwrap_or_default())
                .collect::<Vec<_>>(),
        ),
        date_column(
            "Concern_Received_Date",
            kept.iter().map(|r| r.received).collect(),
        ),
        date_column("Decision_Date", kept.iter().map(|r| r.decided).collect()),
        Column::new(
            "Decision".into(),
            kept.iter().map(|r| r.decision).collect::<Vec<_>>(),
        ),
        date_column(
            "Enquiry_Concluded_Date",
            kept.iter().map(|r| r.concluded).collect(),
        ),
        Column::new(
            "__line".into(),
            kept.iter().map(|r| r.loc.to_bits()).collect::<Vec<u64>>(),
        ),
    ])
    .expect("columns of one length");
    finish(ledger, report, summary, frame)
}
