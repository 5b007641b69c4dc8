//! The `chc` extract (data-contract.md §7): NHS Continuing Healthcare referrals.

use super::values::{canonical, days, null, parse_date, required_date};
use super::{
    date_column, finish, read_rows, refuse, rejected_locs, require_unique_ids, Ledger, Loaded, Loc,
    Severity, Source,
};
use polars::prelude::*;

struct Row {
    loc: Loc,
    area: String,
    id: Option<String>,
    referred: Option<i32>,
    deferred: bool,
    decided: Option<i32>,
    withdrawn: Option<i32>,
}

/// Reads and validates the extract (C01–C05). The frame has
/// `Area_Code, Referral_ID, Referral_Date, Deferred (true/false), Decision_Date, Withdrawn_Date, __line`.
pub(crate) fn load(src: &Source, ledger: &mut Ledger) -> Option<Loaded> {
    let (mut report, mut summary) = src.start();
    let mut rows = Vec::new();
    let read = read_rows(src, &mut report, |c, loc, f, report| {
        let get = |name: &str| c.get(name).map_or("", |i| f.get(i).copied().unwrap_or(""));
        let mut add = |sev, rule: &str, col: &str, msg: String| {
            report.add(loc, sev, rule, col, get(col), msg)
        };
        let referred = required_date(
            get("Referral_Date"),
            src.date_format,
            "the referral date is missing",
        )
        .map_err(|e| add(Severity::Error, "C02", "Referral_Date", e))
        .ok();
        let mut later = |col: &str| match null(get(col)).map(|v| parse_date(v, src.date_format)) {
            Some(Ok(d)) => {
                if referred.is_some_and(|r| d < r) {
                    add(
                        Severity::Error,
                        "C03",
                        col,
                        format!("{col} is before the referral date"),
                    );
                }
                Some(d)
            }
            Some(Err(e)) => {
                add(Severity::Error, "C03", col, e);
                None
            }
            None => None,
        };
        let decided = later("Decision_Date");
        let withdrawn = later("Withdrawn_Date");
        if null(get("Decision_Date")).is_some() && null(get("Withdrawn_Date")).is_some() {
            add(
                Severity::Error,
                "C04",
                "Withdrawn_Date",
                "a referral cannot be both decided and withdrawn".into(),
            );
        }
        let deferred = match null(get("Deferred")) {
            None => false,
            Some(v) => match canonical(v, &["Y", "N"]) {
                Some(y) => y == "Y",
                None => {
                    add(
                        Severity::Warning,
                        "C05",
                        "Deferred",
                        format!("\"{v}\" is not Y or N; treated as N"),
                    );
                    false
                }
            },
        };
        rows.push(Row {
            loc,
            area: get("Area_Code").trim().to_string(),
            id: null(get("Referral_ID")).map(str::to_string),
            referred: referred.map(days),
            deferred,
            decided: decided.map(days),
            withdrawn: withdrawn.map(days),
        });
    });
    summary.read = match read {
        Ok(n) => n,
        Err(why) => return refuse(ledger, report, summary, why),
    };
    let ids: Vec<(Loc, Option<&str>)> = rows.iter().map(|r| (r.loc, r.id.as_deref())).collect();
    require_unique_ids(&mut report, ("C01", "Referral_ID", "referral"), &ids);
    let rejected = rejected_locs(&report);
    let kept: Vec<&Row> = rows.iter().filter(|r| !rejected.contains(&r.loc)).collect();
    let frame = DataFrame::new_infer_height(vec![
        Column::new(
            "Area_Code".into(),
            kept.iter().map(|r| r.area.as_str()).collect::<Vec<_>>(),
        ),
        Column::new(
            "Referral_ID".into(),
            kept.iter()
                .map(|r| r.id.clone().unwrap_or_default())
                .collect::<Vec<_>>(),
        ),
        date_column("Referral_Date", kept.iter().map(|r| r.referred).collect()),
        Column::new(
            "Deferred".into(),
            kept.iter().map(|r| r.deferred).collect::<Vec<_>>(),
        ),
        date_column("Decision_Date", kept.iter().map(|r| r.decided).collect()),
        date_column("Withdrawn_Date", kept.iter().map(|r| r.withdrawn).collect()),
        Column::new(
            "__line".into(),
            kept.iter().map(|r| r.loc.to_bits()).collect::<Vec<u64>>(),
        ),
    ])
    .expect("columns of one length");
    finish(ledger, report, summary, frame)
}
