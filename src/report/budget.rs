//! The pooled budget's rows and chart on the summary and scheme pages.

use super::*;

#[derive(Serialize, Clone)]
pub(super) struct MoneyRow {
    pub(super) label: String,
    pub(super) href: String,
    pub(super) plan: String,
    pub(super) actual: String,
    pub(super) forecast: String,
    pub(super) variance: String,
    pub(super) variance_pct: String,
    pub(super) basis: String,
    pub(super) status: Status,
    /// Plan, forecast and variance in £k or £m, for sentences and summaries.
    pub(super) plan_short: String,
    pub(super) forecast_short: String,
    pub(super) variance_short: String,
}

/// `+£27.1k` for an overspend, `−£27.1k` for an underspend.
fn signed_short(x: Decimal) -> String {
    let s = crate::money::format_gbp_short(x);
    if x > Decimal::ZERO {
        format!("+{s}")
    } else {
        s
    }
}

pub(super) fn money_row(
    label: String,
    href: String,
    l: &finance::Line,
    settings: &Settings,
) -> MoneyRow {
    MoneyRow {
        label,
        href,
        plan: format_gbp(l.plan),
        actual: format_gbp(l.actual_to_date),
        forecast: format_gbp(l.forecast_outturn),
        variance: signed_gbp(l.variance),
        variance_pct: pct1(l.variance_pct),
        basis: l.basis.words().into(),
        status: finance_status_view(l.status, settings),
        plan_short: crate::money::format_gbp_short(l.plan),
        forecast_short: crate::money::format_gbp_short(l.forecast_outturn),
        variance_short: signed_short(l.variance),
    }
}

pub(super) fn totals_row(
    label: String,
    t: &finance::Totals,
    st: &Statement,
    settings: &Settings,
) -> MoneyRow {
    MoneyRow {
        label,
        href: String::new(),
        plan: format_gbp(t.plan),
        actual: format_gbp(t.actual_to_date),
        forecast: format_gbp(t.forecast_outturn),
        variance: signed_gbp(t.variance),
        variance_pct: pct1(t.variance_pct),
        basis: String::new(),
        status: finance_status_view(
            finance::status(t.variance_pct, st.on_track_pct, st.not_on_track_pct),
            settings,
        ),
        plan_short: crate::money::format_gbp_short(t.plan),
        forecast_short: crate::money::format_gbp_short(t.forecast_outturn),
        variance_short: signed_short(t.variance),
    }
}

/// Plan against actual per scheme, as a chart and its table.
pub(super) fn finance_chart(st: &Statement, schemes: &[finance::SchemeFinance], id: &str) -> Value {
    use rust_decimal::prelude::ToPrimitive;
    // Drawing needs screen coordinates; the figures themselves stay Decimal in the table.
    let rows: Vec<(String, f64, f64, f64)> = schemes
        .iter()
        .map(|s| {
            let t = s.total();
            (
                s.reference.clone(),
                t.plan.to_f64().unwrap_or(0.0),
                t.actual_to_date.to_f64().unwrap_or(0.0),
                t.forecast_outturn.to_f64().unwrap_or(0.0),
            )
        })
        .collect();
    Value::from_safe_string(chart::finance(
        id,
        &format!(
            "Plan, forecast outturn and actual to date by scheme, {} to {}",
            st.financial_year,
            month_words(st.as_at)
        ),
        &rows,
    ))
}
