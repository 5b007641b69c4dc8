//! One `schemes/<REF>.toml`: a Section 75 Schedule 3 "Individual Scheme Specification" —
//! identity, delivery, governance, finance, joint funding, KPIs and local metrics.

use super::reader::{get, key_span, Source, Span, Value};
use super::settings::{parse_date, req_string};
use crate::catalogue::{self, Polarity, Unit};
use crate::contract;
use crate::money::parse_money;
use crate::period::{parse_financial_year, parse_month, parse_period, Frequency, Month, Window};
use crate::programme::scheme::{
    Annotation, Commencement, Commentary, Contribution, Delivery, FinancePlan, JointFunding, Kpi,
    KpiSpc, LocalMetric, Measure, PeriodValue, Rebase, Scheme,
};
use crate::programme::Settings;
use crate::stats::spc::{Conflict, TrendTies, TwoInThree};
use rust_decimal::Decimal;
use std::collections::BTreeMap;
use toml::de::{DeTable, DeValue};

pub(crate) const SCHEME_KEYS: &[&str] = &[
    "reference",
    "name",
    "lead_commissioner",
    "fund_manager",
    "commencement",
    "delivery",
    "provider",
    "contract_term",
    "scheme_type",
    "governance",
    "outline",
    "finance",
    "joint_funding",
    "kpi",
    "metric",
    "annotation",
];
const FINANCE_KEYS: &[&str] = &[
    "financial_year",
    "value",
    "full_year_effect",
    "forecast_outturn",
    "savings_target",
    "savings_full_year_effect",
    "contribution",
];
const KPI_KEYS: &[&str] = &[
    "metric",
    "label",
    "headline",
    "polarity",
    "window",
    "frequency",
    "baseline",
    "target",
    "trajectory",
    "ambition",
    "tolerance",
    "params",
    "note",
    "commentary",
    "annotation",
    "spc",
    "max_lag_months",
];
const COMMENTARY_KEYS: &[&str] = &[
    "period",
    "text",
    "action",
    "owner",
    "due",
    "reviewed_at",
    "escalated_to",
];
const ANNOTATION_KEYS: &[&str] = &["date", "text"];
const SPC_KEYS: &[&str] = &[
    "rebase",
    "baseline_points",
    "shift_length",
    "trend_length",
    "two_in_three",
    "trend_ties",
    "conflict",
];
const METRIC_KEYS: &[&str] = &[
    "id",
    "title",
    "source",
    "unit",
    "date",
    "numerator",
    "denominator",
    "polarity",
    "rule",
];

/// A KPI's metric reference, kept with its position until every file's local metrics are known.
pub(crate) struct MetricRef {
    pub metric: String,
    pub line: usize,
    pub column: usize,
}

fn money(src: &mut Source<'_>, v: &Value<'_>, key: &str) -> Option<Decimal> {
    let parsed = match v.get_ref() {
        DeValue::String(s) => parse_money(s),
        DeValue::Integer(i) => parse_money(i.as_str()),
        DeValue::Float(f) => Err(format!(
            "`{key}` is the float {f}: write money as a string, e.g. \"{f}\", so no penny is lost to rounding"
        )),
        _ => Err(format!("`{key}` must be an amount of money such as \"657810.00\"")),
    };
    match parsed {
        Ok(d) if d.is_sign_negative() && !d.is_zero() => {
            src.error(&v.span(), format!("`{key}` cannot be negative"), None);
            None
        }
        Ok(d) => Some(d),
        Err(e) => {
            src.error(
                &v.span(),
                e,
                Some(
                    "money is a string like \"657810.00\" or \"£657,810\", or a whole number"
                        .into(),
                ),
            );
            None
        }
    }
}

fn opt_money(src: &mut Source<'_>, t: &DeTable<'_>, key: &str) -> Option<Decimal> {
    get(t, key).and_then(|v| money(src, v, key))
}

fn period_value(src: &mut Source<'_>, v: &Value<'_>, key: &str) -> Option<PeriodValue> {
    let t = src.table(v, key)?;
    let where_ = format!("in `{key}`");
    src.check_keys(t, &["period", "value"], &where_);
    let period = match get(t, "period") {
        Some(p) => {
            let s = src.string(p, "period")?;
            match parse_period(&s) {
                Ok(period) => Some(period),
                Err(e) => {
                    src.error(&p.span(), e, None);
                    None
                }
            }
        }
        None => {
            src.missing(&v.span(), "period", &where_, Some(format!("every {key} needs the period it applies to, e.g. {key} = {{ period = \"2024-25\", value = 590.0 }}")));
            None
        }
    };
    let value = match get(t, "value") {
        Some(x) => src.number(x, "value"),
        None => {
            src.missing(&v.span(), "value", &where_, None);
            None
        }
    };
    Some(PeriodValue {
        period: period?,
        value: value?,
    })
}

fn read_finance(
    src: &mut Source<'_>,
    settings: &Settings,
    t: &DeTable<'_>,
    span: &Span,
) -> Option<FinancePlan> {
    src.check_keys(t, FINANCE_KEYS, "in [finance]");
    let financial_year = match get(t, "financial_year") {
        Some(v) => src
            .string(v, "financial_year")
            .and_then(|s| match parse_financial_year(&s) {
                Ok(fy) => Some(fy),
                Err(e) => {
                    src.error(&v.span(), e, None);
                    None
                }
            }),
        None => {
            src.missing(
                span,
                "financial_year",
                "in [finance]",
                Some("e.g. financial_year = \"2024-25\"".into()),
            );
            None
        }
    };
    let value = match get(t, "value") {
        Some(v) => money(src, v, "value"),
        None => {
            src.missing(
                span,
                "value",
                "in [finance]",
                Some("the scheme's value for the year, e.g. value = \"657810.00\"".into()),
            );
            None
        }
    };
    let full_year_effect = match get(t, "full_year_effect") {
        Some(v) if matches!(v.get_ref(), DeValue::String(s) if s.eq_ignore_ascii_case("none") || s.eq_ignore_ascii_case("n/a")) => {
            None
        }
        Some(v) => money(src, v, "full_year_effect"),
        None => None,
    };
    let mut contributions = Vec::new();
    let mut ok = true;
    if let Some(cv) = get(t, "contribution") {
        for (ct, cspan) in src.tables(cv, "contribution") {
            src.check_keys(
                ct,
                &["partner", "amount", "funding_stream"],
                "in [[finance.contribution]]",
            );
            let funding_stream =
                get(ct, "funding_stream").and_then(|v| src.string(v, "funding_stream"));
            let partner = req_string(src, ct, &cspan, "partner", "in [[finance.contribution]]");
            if let (Some(p), Some(pv)) = (&partner, get(ct, "partner")) {
                if settings.partner(p).is_none() {
                    ok = false;
                    unknown_partner(src, settings, &pv.span(), p);
                }
            }
            let amount = match get(ct, "amount") {
                Some(a) => money(src, a, "amount"),
                None => {
                    src.missing(&cspan, "amount", "in [[finance.contribution]]", None);
                    None
                }
            };
            match (partner, amount) {
                (Some(partner), Some(amount)) => {
                    // One line per partner and stream: the finance extract has one row per
                    // month for each (N05), so a second line could never be matched.
                    let same = |c: &Contribution| {
                        c.partner.eq_ignore_ascii_case(&partner)
                            && c.funding_stream.as_deref().map(str::to_lowercase)
                                == funding_stream.as_deref().map(str::to_lowercase)
                    };
                    if contributions.iter().any(same) {
                        ok = false;
                        src.error(
                            &cspan,
                            format!(
                                "partner `{partner}` contributes twice{} in this year",
                                funding_stream
                                    .as_deref()
                                    .map(|s| format!(" through `{s}`"))
                                    .unwrap_or_default()
                            ),
                            Some(
                                "add the amounts together, or name each line's funding_stream"
                                    .into(),
                            ),
                        );
                    }
                    contributions.push(Contribution {
                        partner,
                        amount,
                        funding_stream,
                    })
                }
                _ => ok = false,
            }
        }
    } else {
        src.missing(
            span,
            "contribution",
            "in [finance]",
            Some(
                "say who funds the scheme: [[finance.contribution]] with partner and amount".into(),
            ),
        );
        ok = false;
    }
    let plan = FinancePlan {
        financial_year: financial_year?,
        value: value?,
        full_year_effect,
        forecast_outturn: opt_money(src, t, "forecast_outturn"),
        savings_target: opt_money(src, t, "savings_target"),
        savings_full_year_effect: opt_money(src, t, "savings_full_year_effect"),
        contributions,
    };
    if ok {
        let sum: Decimal = plan.contributions.iter().map(|c| c.amount).sum();
        if sum != plan.value {
            let at = get(t, "value").map(|v| v.span()).unwrap_or(span.clone());
            src.error(
                &at,
                format!(
                    "contributions for {} add up to {} but the scheme value is {}",
                    plan.financial_year,
                    crate::money::format_gbp(sum),
                    crate::money::format_gbp(plan.value)
                ),
                Some(format!(
                    "difference: {}",
                    crate::money::format_gbp(plan.value - sum)
                )),
            );
        }
    }
    Some(plan)
}

fn unknown_partner(src: &mut Source<'_>, settings: &Settings, span: &Span, id: &str) {
    let ids: Vec<&str> = settings.partners.iter().map(|p| p.id.as_str()).collect();
    let hint = match crate::diag::nearest(id, ids.iter().copied()) {
        Some(n) => format!(
            "did you mean `{n}`? Partners are declared in programme.toml: {}",
            ids.join(", ")
        ),
        None => format!(
            "partners are declared in programme.toml: {}",
            ids.join(", ")
        ),
    };
    src.error(span, format!("unknown partner `{id}`"), Some(hint));
}

fn read_joint_funding(
    src: &mut Source<'_>,
    settings: &Settings,
    v: &Value<'_>,
) -> Option<JointFunding> {
    let t = src.table(v, "joint_funding")?;
    src.check_keys(
        t,
        &["description", "share", "people", "people_as_at"],
        "in [joint_funding]",
    );
    let description = get(t, "description").and_then(|d| src.string(d, "description"));
    let mut shares = Vec::new();
    match get(t, "share") {
        Some(sv) => {
            for (st, sspan) in src.tables(sv, "share") {
                src.check_keys(st, &["partner", "percent"], "in [[joint_funding.share]]");
                let partner = req_string(src, st, &sspan, "partner", "in [[joint_funding.share]]");
                if let (Some(p), Some(pv)) = (&partner, get(st, "partner")) {
                    if settings.partner(p).is_none() {
                        unknown_partner(src, settings, &pv.span(), p);
                    }
                }
                let percent = match get(st, "percent") {
                    Some(pv) => {
                        let text = match pv.get_ref() {
                            DeValue::Integer(i) => Some(i.as_str().to_string()),
                            DeValue::Float(f) => Some(f.as_str().to_string()),
                            _ => {
                                src.error(
                                    &pv.span(),
                                    "`percent` must be a number such as 46",
                                    None,
                                );
                                None
                            }
                        };
                        text.and_then(|s| s.parse::<Decimal>().ok())
                    }
                    None => {
                        src.missing(&sspan, "percent", "in [[joint_funding.share]]", None);
                        None
                    }
                };
                if let (Some(p), Some(pc)) = (partner, percent) {
                    shares.push((p, pc));
                }
            }
            let total: Decimal = shares.iter().map(|(_, p)| *p).sum();
            if !shares.is_empty() && total != Decimal::ONE_HUNDRED {
                src.error(
                    &sv.span(),
                    format!("joint funding shares add up to {total}%, not 100%"),
                    None,
                );
            }
        }
        None => src.missing(
            &v.span(),
            "share",
            "in [joint_funding]",
            Some(
                "each partner's share: [[joint_funding.share]] partner = \"ICB\", percent = 46"
                    .into(),
            ),
        ),
    }
    let people = get(t, "people").and_then(|p| match src.integer(p, "people") {
        Some(n) if (0..=u32::MAX as i64).contains(&n) => Some(n as u32),
        Some(_) => {
            src.error(
                &p.span(),
                "`people` must be a count of people, 0 or more",
                None,
            );
            None
        }
        None => None,
    });
    let people_as_at = get(t, "people_as_at").and_then(|d| parse_date(src, d, "people_as_at"));
    Some(JointFunding {
        description,
        shares,
        people,
        people_as_at,
    })
}

fn read_local_metric(src: &mut Source<'_>, t: &DeTable<'_>, span: &Span) -> Option<LocalMetric> {
    let w = "in [[metric]]";
    src.check_keys(t, METRIC_KEYS, w);
    let id = req_string(src, t, span, "id", w);
    if let (Some(id), Some(v)) = (&id, get(t, "id")) {
        if crate::metrics::catalogue::lookup(id).is_some() {
            src.error(
                &v.span(),
                format!("`{id}` is a built-in metric id; give the local metric its own id"),
                None,
            );
        } else if id.is_empty()
            || id.contains('/')
            || !id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.')
        {
            src.error(
                &v.span(),
                format!("`{id}` is not a usable metric id"),
                Some("use letters, digits, `-`, `_` and `.`, e.g. \"ca-1-4f\"".into()),
            );
        }
    }
    let title = req_string(src, t, span, "title", w);
    let source = match get(t, "source") {
        Some(v) => src.choice(v, "source", &contract::extract_names(), contract::extract),
        None => {
            src.missing(
                span,
                "source",
                w,
                Some(format!(
                    "the extract it counts: {}",
                    contract::extract_names().join(", ")
                )),
            );
            None
        }
    };
    let unit = match get(t, "unit") {
        Some(v) => src.choice(v, "unit", Unit::ALL, Unit::parse),
        None => {
            src.missing(
                span,
                "unit",
                w,
                Some(format!("allowed values: {}", Unit::ALL.join(", "))),
            );
            None
        }
    };
    let polarity = match get(t, "polarity") {
        Some(v) => src.choice(v, "polarity", Polarity::ALL, Polarity::parse),
        None => {
            src.missing(
                span,
                "polarity",
                w,
                Some(format!(
                    "a local metric must say which way is good: {}",
                    Polarity::ALL.join(", ")
                )),
            );
            None
        }
    };
    let date = req_string(src, t, span, "date", w);
    if let (Some(extract), Some(date), Some(dv)) = (source, &date, get(t, "date")) {
        match extract.column(date) {
            Some(c) if c.ty == contract::ColumnType::Date => {}
            Some(_) => src.error(
                &dv.span(),
                format!("`{date}` is not a date column of `{}`", extract.name),
                None,
            ),
            None => {
                let names: Vec<&str> = extract.columns.iter().map(|c| c.name).collect();
                let hint = crate::diag::nearest(date, names.iter().copied())
                    .map(|n| format!("did you mean `{n}`?"));
                src.error(
                    &dv.span(),
                    format!("`{}` has no column `{date}`", extract.name),
                    hint,
                );
            }
        }
    }
    let mut sql = |key: &str, required: bool| -> Option<String> {
        let Some(v) = get(t, key) else {
            if required {
                src.missing(
                    span,
                    key,
                    w,
                    Some("an SQL condition, e.g. \"Decision_Date IS NOT NULL\"".into()),
                );
            }
            return None;
        };
        let text = src.string(v, key)?;
        if let Some(extract) = source {
            if let Err(e) = crate::local::check_condition(&text, extract) {
                src.error(&v.span(), format!("`{key}` {e}"), None);
            }
        }
        Some(text)
    };
    let numerator = sql("numerator", true);
    let denominator = sql("denominator", unit.is_some_and(|u| u != Unit::Count));
    if unit == Some(Unit::Count) {
        if let Some(sp) = key_span(t, "denominator") {
            src.error(
                &sp,
                "a count metric has no denominator",
                Some("remove `denominator`, or choose unit = \"percent\"".into()),
            );
        }
    }
    let rule = get(t, "rule").and_then(|r| src.string(r, "rule"));
    let at = get(t, "id").map_or((1, 1), |v| src.locate(&v.span()));
    Some(LocalMetric {
        at,
        id: id?,
        title: title?,
        source: source?.name.to_string(),
        unit: unit?,
        date: date?,
        numerator: numerator?,
        denominator,
        polarity: polarity?,
        rule,
    })
}

/// A month written `yyyy-mm`.
fn month(src: &mut Source<'_>, v: &Value<'_>, key: &str) -> Option<Month> {
    let text = src.string(v, key)?;
    match parse_month(&text) {
        Ok(m) => Some(m),
        Err(e) => {
            src.error(&v.span(), e, None);
            None
        }
    }
}

/// `[[kpi.commentary]]`: one per pack month, oldest first.
fn read_commentary(src: &mut Source<'_>, v: &Value<'_>) -> Vec<Commentary> {
    let w = "in [[kpi.commentary]]";
    let mut out: Vec<Commentary> = Vec::new();
    for (t, span) in src.tables(v, "commentary") {
        src.check_keys(t, COMMENTARY_KEYS, w);
        let period = match get(t, "period") {
            Some(v) => month(src, v, "period"),
            None => {
                src.missing(
                    &span,
                    "period",
                    w,
                    Some("the pack month it speaks to, e.g. \"2016-03\"".into()),
                );
                None
            }
        };
        let text = req_string(src, t, &span, "text", w);
        let opt = |src: &mut Source<'_>, key: &str| get(t, key).and_then(|v| src.string(v, key));
        let action = opt(src, "action");
        let owner = opt(src, "owner");
        let reviewed_at = opt(src, "reviewed_at");
        let escalated_to = opt(src, "escalated_to");
        let due = get(t, "due").and_then(|v| parse_date(src, v, "due"));
        if let (Some(period), Some(text)) = (period, text) {
            if out.iter().any(|c| c.period == period) {
                src.error(
                    &span,
                    format!("the KPI has commentary for {period} twice"),
                    Some("one [[kpi.commentary]] per pack month".into()),
                );
            }
            out.push(Commentary {
                period,
                text,
                action,
                owner,
                due,
                reviewed_at,
                escalated_to,
            });
        }
    }
    out.sort_by_key(|c| c.period);
    out
}

/// `[[annotation]]` or `[[kpi.annotation]]`: dated events drawn on the charts.
fn read_annotations(src: &mut Source<'_>, v: &Value<'_>, w: &str) -> Vec<Annotation> {
    let mut out = Vec::new();
    for (t, span) in src.tables(v, "annotation") {
        src.check_keys(t, ANNOTATION_KEYS, w);
        let date = match get(t, "date") {
            Some(v) => parse_date(src, v, "date"),
            None => {
                src.missing(&span, "date", w, Some("e.g. date = \"2015-10-01\"".into()));
                None
            }
        };
        let text = req_string(src, t, &span, "text", w);
        if let (Some(date), Some(text)) = (date, text) {
            out.push(Annotation { date, text });
        }
    }
    out.sort_by_key(|a| a.date);
    out
}

/// A whole number of at least `min` (the range `bcfmon stats spc` accepts).
fn at_least(src: &mut Source<'_>, v: &Value<'_>, key: &str, min: i64, why: &str) -> Option<usize> {
    let n = src.integer(v, key)?;
    if n < min {
        src.error(
            &v.span(),
            format!("`{key}` must be at least {min}"),
            Some(why.into()),
        );
        return None;
    }
    Some(n as usize)
}

/// `[kpi.spc]`: the options of `bcfmon stats spc`, with the same meanings and ranges.
fn read_spc(src: &mut Source<'_>, v: &Value<'_>) -> Option<KpiSpc> {
    let t = src.table(v, "spc")?;
    src.check_keys(t, SPC_KEYS, "in [kpi.spc]");
    let mut spc = KpiSpc::default();
    let mut ok = true;
    if let Some(rv) = get(t, "rebase") {
        for (rt, span) in src.tables(rv, "rebase") {
            let w = "in a rebase of [kpi.spc]";
            src.check_keys(rt, &["period", "reason"], w);
            let period = match get(rt, "period") {
                Some(v) => month(src, v, "period"),
                None => {
                    src.missing(
                        &span,
                        "period",
                        w,
                        Some("the first month of the new limits, e.g. \"2015-10\"".into()),
                    );
                    None
                }
            };
            let reason = req_string(src, rt, &span, "reason", w);
            match (period, reason) {
                (Some(period), Some(reason)) => {
                    if spc.rebase.iter().any(|r: &Rebase| r.period == period) {
                        src.error(&span, format!("the KPI rebases at {period} twice"), None);
                    }
                    spc.rebase.push(Rebase { period, reason });
                }
                _ => ok = false,
            }
        }
        spc.rebase.sort_by_key(|r| r.period);
    }
    if let Some(v) = get(t, "baseline_points") {
        spc.baseline_points = at_least(
            src,
            v,
            "baseline_points",
            12,
            "limits need at least 12 points (as NHSRplotthedots)",
        );
        ok &= spc.baseline_points.is_some();
    }
    if let Some(v) = get(t, "shift_length") {
        match at_least(
            src,
            v,
            "shift_length",
            2,
            "points in a run on one side of the mean",
        ) {
            Some(n) => spc.shift_length = n,
            None => ok = false,
        }
    }
    if let Some(v) = get(t, "trend_length") {
        match at_least(
            src,
            v,
            "trend_length",
            3,
            "points rising or falling in a row",
        ) {
            Some(n) => spc.trend_length = n,
            None => ok = false,
        }
    }
    if let Some(v) = get(t, "two_in_three") {
        match src.choice(v, "two_in_three", TwoInThree::ALL, TwoInThree::parse) {
            Some(x) => spc.two_in_three = x,
            None => ok = false,
        }
    }
    if let Some(v) = get(t, "trend_ties") {
        match src.choice(v, "trend_ties", TrendTies::ALL, TrendTies::parse) {
            Some(x) => spc.trend_ties = x,
            None => ok = false,
        }
    }
    if let Some(v) = get(t, "conflict") {
        match src.choice(v, "conflict", Conflict::ALL, Conflict::parse) {
            Some(x) => spc.conflict = x,
            None => ok = false,
        }
    }
    ok.then_some(spc)
}

fn read_kpi(
    src: &mut Source<'_>,
    t: &DeTable<'_>,
    span: &Span,
    locals: &[LocalMetric],
    refs: &mut Vec<MetricRef>,
) -> Option<Kpi> {
    let w = "in [[kpi]]";
    src.check_keys(t, KPI_KEYS, w);
    let metric = req_string(src, t, span, "metric", w);
    // The metric's own polarity, when it is a built-in one or a local metric of this file.
    let mut default_polarity = None;
    let mut resolved = false;
    let mut measure = Measure::Local;
    if let (Some(m), Some(v)) = (&metric, get(t, "metric")) {
        let (base, breakdown) = catalogue::split_breakdown(m);
        if let Some(def) = crate::metrics::catalogue::CATALOGUE
            .iter()
            .find(|d| d.id == base)
        {
            default_polarity = Some(def.polarity);
            resolved = true;
            measure = Measure::BuiltIn {
                def: &def.def,
                breakdown: breakdown.and_then(|b| def.breakdowns.iter().copied().find(|x| *x == b)),
            };
            if let Some(b) = breakdown {
                if !def.breakdowns.contains(&b) {
                    let hint = if def.breakdowns.is_empty() {
                        format!("`{base}` has no breakdowns")
                    } else {
                        format!("breakdowns of `{base}`: {}", def.breakdowns.join(", "))
                    };
                    src.error(
                        &v.span(),
                        format!("`{b}` is not a breakdown of `{base}`"),
                        Some(hint),
                    );
                }
            }
            if let Some(pv) = get(t, "params") {
                if let Some(pt) = src.table(pv, "params") {
                    let names: Vec<&str> = def.params.iter().map(|p| p.name).collect();
                    src.check_keys(pt, &names, &format!("in the params of `{base}`"));
                }
            }
        } else if let Some(local) = locals.iter().find(|l| l.id == *m) {
            default_polarity = Some(local.polarity);
            resolved = true;
        } else {
            let (line, column) = src.locate(&v.span());
            refs.push(MetricRef {
                metric: m.clone(),
                line,
                column,
            });
        }
    }
    let label = get(t, "label").and_then(|v| src.string(v, "label"));
    let headline = get(t, "headline")
        .and_then(|v| src.boolean(v, "headline"))
        .unwrap_or(false);
    let polarity = match get(t, "polarity") {
        Some(v) => src.choice(v, "polarity", Polarity::ALL, Polarity::parse),
        None => default_polarity.or(Some(Polarity::Neutral)),
    };
    let window = match get(t, "window") {
        Some(v) => src.choice(v, "window", Window::ALL, Window::parse),
        None => Some(Window::Rolling12Months),
    };
    let frequency = match get(t, "frequency") {
        Some(v) => src.choice(v, "frequency", Frequency::ALL, Frequency::parse),
        None => Some(Frequency::Monthly),
    };
    let baseline = get(t, "baseline").and_then(|v| period_value(src, v, "baseline"));
    let target = get(t, "target").and_then(|v| period_value(src, v, "target"));
    let ambition = get(t, "ambition").and_then(|v| period_value(src, v, "ambition"));
    let mut trajectory = Vec::new();
    if let Some(tv) = get(t, "trajectory") {
        if let Some(items) = src.array(tv, "trajectory") {
            for item in items {
                if let Some(pv) = period_value(src, item, "trajectory") {
                    if trajectory
                        .iter()
                        .any(|p: &PeriodValue| p.period == pv.period)
                    {
                        src.error(
                            &item.span(),
                            format!("the trajectory has {} twice", pv.period),
                            None,
                        );
                    }
                    trajectory.push(pv);
                }
            }
            trajectory.sort_by_key(|p| p.period.end());
        }
    }
    let tolerance = match get(t, "tolerance") {
        Some(v) => match src.number(v, "tolerance") {
            Some(x) if x >= 0.0 => Some(x),
            Some(_) => {
                src.error(
                    &v.span(),
                    "`tolerance` cannot be negative",
                    Some("it is the width of the amber band, in the metric's unit".into()),
                );
                None
            }
            None => None,
        },
        None => Some(0.0),
    };
    // An unresolved metric (a local metric of another file, or unknown) is judged once known.
    let polarity_from_metric = get(t, "polarity").is_none();
    if (resolved || !polarity_from_metric)
        && polarity == Some(Polarity::Neutral)
        && (target.is_some() || !trajectory.is_empty())
    {
        if let Some(sp) = key_span(t, "target").or_else(|| key_span(t, "trajectory")) {
            src.error(
                &sp,
                "a KPI with a target needs a polarity",
                Some("set polarity = \"high-is-good\" or \"low-is-good\"".into()),
            );
        }
    }
    let mut params = BTreeMap::new();
    if let Some(pt) = get(t, "params").and_then(|pv| pv.get_ref().as_table()) {
        for (k, v) in pt.iter() {
            let text = match v.get_ref() {
                DeValue::String(s) => s.to_string(),
                DeValue::Integer(i) => i.as_str().to_string(),
                DeValue::Float(f) => f.as_str().to_string(),
                DeValue::Boolean(b) => b.to_string(),
                _ => {
                    src.error(
                        &v.span(),
                        format!(
                            "parameter `{}` must be a number, string or boolean",
                            k.get_ref()
                        ),
                        None,
                    );
                    continue;
                }
            };
            params.insert(k.get_ref().to_string(), text);
        }
    }
    let note = get(t, "note").and_then(|v| src.string(v, "note"));
    let commentary = get(t, "commentary")
        .map(|v| read_commentary(src, v))
        .unwrap_or_default();
    let annotations = get(t, "annotation")
        .map(|v| read_annotations(src, v, "in [[kpi.annotation]]"))
        .unwrap_or_default();
    let spc = match get(t, "spc") {
        Some(v) => read_spc(src, v),
        None => Some(KpiSpc::default()),
    };
    let default_lag = match measure {
        Measure::BuiltIn { def, .. } => def.max_lag_months,
        Measure::Local => 0,
    };
    let max_lag_months = match get(t, "max_lag_months") {
        Some(v) => match src.integer(v, "max_lag_months") {
            Some(n) if (0..=24).contains(&n) => Some(n as u32),
            Some(_) => {
                src.error(
                    &v.span(),
                    "`max_lag_months` must be from 0 to 24",
                    Some("months the latest figure may lag the pack month".into()),
                );
                None
            }
            None => None,
        },
        None => Some(default_lag),
    };
    Some(Kpi {
        metric: metric?,
        measure,
        label,
        headline,
        polarity: polarity?,
        polarity_from_metric,
        window: window?,
        frequency: frequency?,
        baseline,
        target,
        trajectory,
        ambition,
        tolerance: tolerance?,
        params,
        note,
        commentary,
        annotations,
        spc: spc?,
        max_lag_months: max_lag_months?,
    })
}

/// Reads and validates one scheme file. KPI references to local metrics declared in other
/// files are returned in `refs` for the caller to resolve once every file is read.
pub(super) fn read_scheme(
    src: &mut Source<'_>,
    settings: &Settings,
    root: &DeTable<'_>,
    root_span: &Span,
    refs: &mut Vec<MetricRef>,
) -> Option<Scheme> {
    src.check_keys(root, SCHEME_KEYS, "in a scheme file");
    let before = src.diags.len();
    let w = "in a scheme file";
    let reference = req_string(src, root, root_span, "reference", w);
    if let (Some(r), Some(v)) = (&reference, get(root, "reference")) {
        if r.is_empty()
            || !r
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            src.error(
                &v.span(),
                format!("`{r}` is not a usable scheme reference"),
                Some(
                    "letters, digits, `-` and `_`, e.g. \"S3PO2\" (it names the scheme's page)"
                        .into(),
                ),
            );
        }
    }
    let name = req_string(src, root, root_span, "name", w);
    let lead_commissioner = req_string(src, root, root_span, "lead_commissioner", w);
    if let (Some(l), Some(v)) = (&lead_commissioner, get(root, "lead_commissioner")) {
        if settings.partner(l).is_none() {
            unknown_partner(src, settings, &v.span(), l);
        }
    }
    let fund_manager = req_string(src, root, root_span, "fund_manager", w);
    let commencement = match get(root, "commencement") {
        Some(v) if matches!(v.get_ref(), DeValue::String(s) if s.eq_ignore_ascii_case("ongoing")) => {
            Some(Commencement::Ongoing)
        }
        Some(v) => parse_date(src, v, "commencement").map(Commencement::Date),
        None => {
            src.missing(
                root_span,
                "commencement",
                w,
                Some("\"ongoing\" or a date such as \"2015-04-01\"".into()),
            );
            None
        }
    };
    let delivery = match get(root, "delivery") {
        Some(v) => src.choice(v, "delivery", Delivery::ALL, Delivery::parse),
        None => {
            src.missing(
                root_span,
                "delivery",
                w,
                Some(format!("allowed values: {}", Delivery::ALL.join(", "))),
            );
            None
        }
    };
    let provider = req_string(src, root, root_span, "provider", w);
    let contract_term = req_string(src, root, root_span, "contract_term", w);
    let scheme_type = get(root, "scheme_type").and_then(|v| src.string(v, "scheme_type"));
    let governance = get(root, "governance")
        .map(|v| {
            src.strings(v, "governance")
                .into_iter()
                .map(|(s, _)| s)
                .collect()
        })
        .unwrap_or_default();
    let outline = req_string(src, root, root_span, "outline", w);

    let mut finance = Vec::new();
    match get(root, "finance") {
        Some(v) => {
            // `[finance]` for one year, or `[[finance]]` repeated for several.
            let tables: Vec<(&DeTable<'_>, Span)> = match v.get_ref() {
                DeValue::Table(t) => vec![(t, v.span())],
                _ => src.tables(v, "finance"),
            };
            for (t, span) in tables {
                if let Some(plan) = read_finance(src, settings, t, &span) {
                    if finance
                        .iter()
                        .any(|p: &FinancePlan| p.financial_year == plan.financial_year)
                    {
                        src.error(
                            &span,
                            format!("finance for {} is declared twice", plan.financial_year),
                            None,
                        );
                    }
                    finance.push(plan);
                }
            }
            finance.sort_by_key(|p| p.financial_year);
        }
        None => src.missing(
            root_span,
            "finance",
            w,
            Some("add [finance] with financial_year, value and [[finance.contribution]]".into()),
        ),
    }
    let joint_funding =
        get(root, "joint_funding").and_then(|v| read_joint_funding(src, settings, v));

    let mut metrics = Vec::new();
    if let Some(v) = get(root, "metric") {
        for (t, span) in src.tables(v, "metric") {
            if let Some(m) = read_local_metric(src, t, &span) {
                if metrics.iter().any(|x: &LocalMetric| x.id == m.id) {
                    src.error(
                        &span,
                        format!("local metric `{}` is declared twice", m.id),
                        None,
                    );
                }
                metrics.push(m);
            }
        }
    }
    let annotations = get(root, "annotation")
        .map(|v| read_annotations(src, v, "in [[annotation]]"))
        .unwrap_or_default();
    let mut kpis = Vec::new();
    let mut headline_spans = Vec::new();
    if let Some(v) = get(root, "kpi") {
        for (t, span) in src.tables(v, "kpi") {
            if let Some(k) = read_kpi(src, t, &span, &metrics, refs) {
                if k.headline {
                    headline_spans.push(span.clone());
                }
                kpis.push(k);
            }
        }
    }
    if let Some(second) = headline_spans.get(1) {
        src.error(
            second,
            "a scheme has one headline KPI; this is the second with headline = true",
            None,
        );
    }
    if src.diags.len() > before {
        return None;
    }
    Some(Scheme {
        file: src.path.clone(),
        reference: reference?,
        name: name?,
        lead_commissioner: lead_commissioner?,
        fund_manager: fund_manager?,
        commencement: commencement?,
        delivery: delivery?,
        provider: provider?,
        contract_term: contract_term?,
        scheme_type,
        governance,
        outline: outline?,
        finance,
        joint_funding,
        kpis,
        metrics,
        annotations,
    })
}
