//! The `finance` extract (data-contract.md §5): monthly actual spend per scheme and partner,
//! read exactly into `Decimal` pounds and pence (never a float), validated N01–N06.

use super::values::code;
use super::{read_rows, settle, Ledger, Loc, Severity, Source};
use crate::period::{FinancialYear, Month};
use crate::programme::Programme;
use rust_decimal::Decimal;
use std::collections::HashMap;
use std::str::FromStr;

/// One accepted row of the finance extract.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Actual {
    pub loc: Loc,
    pub scheme: String,
    pub partner: String,
    pub month: Month,
    pub amount: Decimal,
    pub stream: Option<String>,
    pub note: Option<String>,
}

/// The accepted rows of the finance extract.
#[derive(Debug, Clone, Default)]
pub(crate) struct Actuals {
    pub rows: Vec<Actual>,
}

/// `Amount` exactly as the contract allows: `^-?(0|[1-9][0-9]*)(\.[0-9]{1,2})?$`.
/// `£`, `,`, spaces, `1e3`, `.5`, `5.`, `00.10` and `1.234` are all refused.
pub(crate) fn parse_amount(text: &str) -> Option<Decimal> {
    let s = text.strip_prefix('-').unwrap_or(text);
    let (whole, pence) = match s.split_once('.') {
        Some((w, p)) => (w, Some(p)),
        None => (s, None),
    };
    let whole_ok = !whole.is_empty()
        && whole.bytes().all(|b| b.is_ascii_digit())
        && (whole == "0" || !whole.starts_with('0'));
    let pence_ok =
        pence.is_none_or(|p| (1..=2).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_digit()));
    if !(whole_ok && pence_ok) || whole.len() > 15 {
        return None;
    }
    Decimal::from_str(text).ok()
}

/// `yyyy-mm` with a real month.
pub(crate) fn parse_month(text: &str) -> Option<Month> {
    let (y, m) = text.split_once('-')?;
    if y.len() != 4 || m.len() != 2 || !(y.bytes().chain(m.bytes())).all(|b| b.is_ascii_digit()) {
        return None;
    }
    let month: u32 = m.parse().ok()?;
    (1..=12).contains(&month).then(|| Month {
        year: y.parse().expect("4 digits"),
        month,
    })
}

/// A finance row's identity for N05: scheme, month, partner, funding stream (lower case).
type Key = (String, Month, String, Option<String>);

struct Row {
    loc: Loc,
    scheme: String,
    partner: String,
    month: Option<Month>,
    amount: Option<Decimal>,
    stream: Option<String>,
    note: Option<String>,
}

/// Reads and validates the extract against the programme's schemes and partners.
/// N01 unknown scheme, N02 bad month, N03 unknown partner, N04 malformed amount and
/// N05 duplicate (scheme, month, partner, stream; every copy) reject the row; N06 a month
/// outside the scheme's plan years is a warning and the row is left out of the figures.
pub(crate) fn load(src: &Source, programme: &Programme, ledger: &mut Ledger) -> Option<Actuals> {
    let (mut report, mut summary) = src.start();
    let partners: Vec<&str> = programme
        .settings
        .partners
        .iter()
        .map(|p| p.id.as_str())
        .collect();
    // Each scheme's declared funding streams, listed once rather than for every row.
    let streams: HashMap<&str, Vec<&str>> = programme
        .schemes
        .iter()
        .map(|s| (s.reference.as_str(), s.funding_streams()))
        .collect();
    let mut rows = Vec::new();
    let read = read_rows(src, &mut report, |c, loc, f, report| {
        let get = |name: &str| {
            c.get(name)
                .map_or("", |i| f.get(i).copied().unwrap_or(""))
                .trim()
        };
        let mut add = |rule: &str, col: &str, msg: String| {
            report.add(loc, Severity::Error, rule, col, get(col), msg)
        };
        let scheme = get("Scheme_Ref").to_string();
        let declared = programme
            .schemes
            .iter()
            .find(|s| s.reference.eq_ignore_ascii_case(&scheme));
        if declared.is_none() {
            add(
                "N01",
                "Scheme_Ref",
                format!("`{scheme}` is not a scheme reference declared in schemes/"),
            );
        }
        let month = parse_month(get("Month"));
        if month.is_none() {
            add("N02", "Month", "Month is not a valid yyyy-mm".into());
        }
        let partner = get("Partner").to_string();
        let known = partners.iter().find(|p| p.eq_ignore_ascii_case(&partner));
        if known.is_none() {
            add(
                "N03",
                "Partner",
                format!(
                    "`{partner}` is not a partner declared in programme.toml ({})",
                    partners.join(", ")
                ),
            );
        }
        // N03 for streams: once a scheme names its funding streams, every row names one of
        // them. Savings rows are not money through a stream and keep their own word.
        let stream = get("Funding_Stream");
        if let Some(streams) = declared
            .map(|s| &streams[s.reference.as_str()])
            .filter(|s| !s.is_empty())
        {
            let named = streams.iter().any(|s| s.eq_ignore_ascii_case(stream))
                || stream.eq_ignore_ascii_case(crate::contract::SAVINGS_STREAM);
            if !named {
                let what = if stream.is_empty() {
                    format!("Funding_Stream is empty; scheme `{scheme}` declares")
                } else {
                    format!(
                        "`{stream}` is not a funding stream of scheme `{scheme}`, which declares"
                    )
                };
                add(
                    "N03",
                    "Funding_Stream",
                    format!(
                        "{what} {} (or `{}` for savings achieved)",
                        streams.join(", "),
                        crate::contract::SAVINGS_STREAM
                    ),
                );
            }
        }
        let amount = parse_amount(get("Amount"));
        if amount.is_none() {
            add(
                "N04",
                "Amount",
                "Amount must be plain pounds with at most 2 decimal places, e.g. 41250.00 or -350.25 (no £, commas or spaces)".into(),
            );
        }
        let opt = |s: &str| {
            let t = code(s);
            (!t.is_empty() && !t.eq_ignore_ascii_case("null")).then_some(t)
        };
        rows.push(Row {
            loc,
            scheme: declared.map_or(scheme.clone(), |s| s.reference.clone()),
            partner: known.map_or(partner.clone(), |p| p.to_string()),
            month,
            amount,
            stream: opt(get("Funding_Stream")),
            note: opt(get("Note")),
        });
    });
    summary.read = match read {
        Ok(n) => n,
        Err(why) => {
            super::refuse(ledger, report, summary, why);
            return None;
        }
    };
    // N05: the same (scheme, month, partner, stream) twice among rows that are otherwise
    // valid; bcfmon cannot know which one is right.
    let invalid = super::rejected_locs(&report);
    let keys: Vec<Option<Key>> = rows
        .iter()
        .map(|r| {
            r.month.filter(|_| !invalid.contains(&r.loc)).map(|m| {
                (
                    r.scheme.clone(),
                    m,
                    r.partner.clone(),
                    r.stream.as_ref().map(|s| s.to_lowercase()),
                )
            })
        })
        .collect();
    for (r, dup) in rows.iter().zip(super::duplicated(&keys)) {
        if dup {
            report.add(
                r.loc,
                Severity::Error,
                "N05",
                "Month",
                &r.month.map(|m| m.to_string()).unwrap_or_default(),
                format!(
                    "{} {} {} appears more than once; every copy is rejected",
                    r.scheme,
                    r.partner,
                    r.month.map(|m| m.to_string()).unwrap_or_default()
                ),
            );
        }
    }
    // N06: outside every financial year the scheme plans for.
    let years: HashMap<&str, Vec<FinancialYear>> = programme
        .schemes
        .iter()
        .map(|s| {
            (
                s.reference.as_str(),
                s.finance.iter().map(|p| p.financial_year).collect(),
            )
        })
        .collect();
    let rejected = super::rejected_locs(&report);
    let mut kept = Vec::new();
    for r in rows {
        if rejected.contains(&r.loc) {
            continue;
        }
        let (Some(month), Some(amount)) = (r.month, r.amount) else {
            continue;
        };
        let fy = FinancialYear::containing(month.start());
        let planned = years.get(r.scheme.as_str()).cloned().unwrap_or_default();
        if !planned.contains(&fy) {
            let list: Vec<String> = planned.iter().map(|y| y.to_string()).collect();
            report.add(
                r.loc,
                Severity::Warning,
                "N06",
                "Month",
                &month.to_string(),
                format!(
                    "{month} is in {fy}, outside the plan years of {} ({}); the row is ignored",
                    r.scheme,
                    if list.is_empty() {
                        "none declared".to_string()
                    } else {
                        list.join(", ")
                    }
                ),
            );
            summary.ignored += 1;
            continue;
        }
        kept.push(Actual {
            loc: r.loc,
            scheme: r.scheme,
            partner: r.partner,
            month,
            amount,
            stream: r.stream,
            note: r.note,
        });
    }
    settle(ledger, summary, report);
    Some(Actuals { rows: kept })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_follow_the_contract_exactly() {
        assert_eq!(parse_amount("41250.00"), Some(Decimal::new(4125000, 2)));
        assert_eq!(parse_amount("12000"), Some(Decimal::from(12000)));
        assert_eq!(parse_amount("-350.25"), Some(Decimal::new(-35025, 2)));
        assert_eq!(parse_amount("0.5"), Some(Decimal::new(5, 1)));
        for bad in [
            "£1,000", "1,000", "1 000", "1e3", ".5", "5.", "00.10", "1.234", "", "-", "+5",
        ] {
            assert_eq!(parse_amount(bad), None, "{bad}");
        }
    }

    #[test]
    fn months_are_yyyy_mm() {
        assert_eq!(
            parse_month("2024-04"),
            Some(Month {
                year: 2024,
                month: 4
            })
        );
        for bad in [
            "2024-4",
            "2024-13",
            "2024-00",
            "24-04",
            "2024/04",
            "2024-04-01",
        ] {
            assert_eq!(parse_month(bad), None, "{bad}");
        }
    }
}
