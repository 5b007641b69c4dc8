//! Pooled budget monitoring: plan, actual to date, forecast outturn and variance per scheme
//! and partner, joint funding splits and savings, all in `Decimal` pounds and pence.
//!
//! Rules (design.md "finance", issue 6):
//! - `actual_to_date` sums the finance extract's spend rows from the start of the financial
//!   year to the pack's month inclusive. Rows whose `Funding_Stream` is `Savings` record
//!   savings achieved, not spend (our convention; data-contract.md §5 has no savings column).
//! - `forecast_outturn` is the fund manager's forecast when the scheme TOML gives one;
//!   otherwise the straight-line run rate `actual × months in year ÷ months elapsed`, where
//!   the year starts at the later of 1 April and the scheme's commencement; once the year is
//!   over it is the actual; while the scheme has no spend recorded in the year it is the plan.
//! - `variance = forecast_outturn − plan` (positive = overspend), `variance_pct` its percent
//!   of plan to 1 place, half away from zero; the status compares |variance_pct| with the
//!   programme's thresholds.
//! - Money is rounded to pennies half away from zero, and wherever a total is shared out
//!   (joint funding, an apportioned forecast) the largest remainder method makes the parts
//!   sum exactly to the total.

use crate::extract::finance::Actual;
use crate::period::{FinancialYear, Month};
use crate::programme::scheme::{Commencement, FinancePlan, Scheme};
use crate::programme::Programme;
use rust_decimal::{Decimal, RoundingStrategy};
use std::collections::BTreeMap;

use crate::contract::SAVINGS_STREAM;

/// `finance.csv`'s header, exactly.
/// The columns of finance.csv.
pub(crate) const FINANCE_COLUMNS: &[crate::table::Column] = {
    use crate::table::{float, text};
    &[
        text("scheme"),
        text("partner"),
        text("financial_year"),
        float("plan"),
        float("actual_to_date"),
        float("forecast_outturn"),
        float("variance"),
        float("variance_pct"),
        text("forecast_basis"),
    ]
};

crate::period::vocabulary! {
    /// Where a forecast outturn came from (the pack says which was used).
    pub(crate) ForecastBasis {
        RunRate = "run-rate",
        FundManager = "fund-manager",
        Plan = "plan",
        Actual = "actual",
    }
}

impl ForecastBasis {
    /// The words the board pack uses.
    pub(crate) fn words(self) -> &'static str {
        match self {
            ForecastBasis::RunRate => "run rate of actuals to date",
            ForecastBasis::FundManager => "fund manager's forecast",
            ForecastBasis::Plan => "plan (no actuals yet)",
            ForecastBasis::Actual => "actual (year complete)",
        }
    }
}

crate::period::vocabulary! {
    /// A budget line judged against the programme's variance thresholds.
    pub(crate) FinanceStatus {
        OnTrack = "on-track",
        AtRisk = "at-risk",
        NotOnTrack = "not-on-track",
        NoPlan = "no-plan",
    }
}

/// Pennies, half away from zero.
pub(crate) fn pennies(x: Decimal) -> Decimal {
    x.round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero)
}

/// Shares `total` out in proportion to `weights`, in whole pennies that sum exactly to
/// `total` rounded to pennies (largest remainder; ties go to the part declared first).
/// With no positive weight everything goes to the first part.
pub(crate) fn apportion(total: Decimal, weights: &[Decimal]) -> Vec<Decimal> {
    if weights.is_empty() {
        return Vec::new();
    }
    let total = pennies(total);
    let negative = total.is_sign_negative();
    let pence = (total.abs() * Decimal::ONE_HUNDRED).trunc();
    let sum: Decimal = weights.iter().filter(|w| **w > Decimal::ZERO).sum();
    let mut parts = vec![Decimal::ZERO; weights.len()];
    if sum.is_zero() {
        parts[0] = pence;
    } else {
        let mut rems = Vec::with_capacity(weights.len());
        for (i, w) in weights.iter().enumerate() {
            let raw = pence * (*w).max(Decimal::ZERO) / sum;
            parts[i] = raw.floor();
            rems.push((raw - raw.floor(), i));
        }
        let mut left = pence - parts.iter().copied().sum::<Decimal>();
        // Largest remainder first; the stable sort keeps declaration order among ties.
        rems.sort_by_key(|r| std::cmp::Reverse(r.0));
        for (_, i) in rems {
            if left <= Decimal::ZERO {
                break;
            }
            parts[i] += Decimal::ONE;
            left -= Decimal::ONE;
        }
    }
    parts
        .into_iter()
        .map(|p| {
            let pounds = p / Decimal::ONE_HUNDRED;
            let pounds = if negative { -pounds } else { pounds };
            pounds.round_dp(2)
        })
        .collect()
}

/// Variance as a percent of plan, to 1 place; `None` when the plan is zero.
pub(crate) fn variance_pct(variance: Decimal, plan: Decimal) -> Option<Decimal> {
    (!plan.is_zero()).then(|| {
        (variance * Decimal::ONE_HUNDRED / plan)
            .round_dp_with_strategy(1, RoundingStrategy::MidpointAwayFromZero)
    })
}

/// The status of a line from its variance percent and the programme's thresholds.
pub(crate) fn status(
    pct: Option<Decimal>,
    on_track: Decimal,
    not_on_track: Decimal,
) -> FinanceStatus {
    match pct {
        None => FinanceStatus::NoPlan,
        Some(p) if p.abs() <= on_track => FinanceStatus::OnTrack,
        Some(p) if p.abs() > not_on_track => FinanceStatus::NotOnTrack,
        Some(_) => FinanceStatus::AtRisk,
    }
}

/// The months of the year a scheme runs: from the later of 1 April and its commencement.
fn year_months(fy: FinancialYear, scheme: &Scheme) -> (Month, u32) {
    let first = Month::of(fy.start());
    let start = match scheme.commencement {
        Commencement::Date(d) if d > fy.start() && d <= fy.end() => Month::of(d),
        _ => first,
    };
    (start, months_from(start, Month::of(fy.end())))
}

/// Months from `a` to `b` inclusive (0 when `b` is before `a`).
fn months_from(a: Month, b: Month) -> u32 {
    let n = (b.year - a.year) * 12 + b.month as i32 - a.month as i32 + 1;
    n.max(0) as u32
}

/// A run-rate forecast: `actual × months ÷ elapsed`, and its basis.
fn run_rate(actual: Decimal, elapsed: u32, months: u32) -> (Decimal, ForecastBasis) {
    if elapsed >= months {
        (actual, ForecastBasis::Actual)
    } else if elapsed == 0 {
        (Decimal::ZERO, ForecastBasis::Plan)
    } else {
        (
            pennies(actual * Decimal::from(months) / Decimal::from(elapsed)),
            ForecastBasis::RunRate,
        )
    }
}

/// One row of `finance.csv`: a partner's line of a scheme, or the scheme's total (`ALL`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Line {
    pub scheme: String,
    pub partner: String,
    pub financial_year: FinancialYear,
    pub plan: Decimal,
    pub actual_to_date: Decimal,
    pub forecast_outturn: Decimal,
    pub variance: Decimal,
    pub variance_pct: Option<Decimal>,
    pub basis: ForecastBasis,
    pub status: FinanceStatus,
}

impl Line {
    /// The cells of `finance.csv`, money as plain decimals with 2 places.
    pub(crate) fn cells(&self) -> Vec<String> {
        let m = crate::money::plain_2dp;
        vec![
            self.scheme.clone(),
            self.partner.clone(),
            self.financial_year.to_string(),
            m(self.plan),
            m(self.actual_to_date),
            m(self.forecast_outturn),
            m(self.variance),
            self.variance_pct
                .map(|p| format!("{:.1}", p))
                .unwrap_or_default(),
            self.basis.to_string(),
        ]
    }
}

/// A partner's part of a joint funding agreement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct JointShare {
    pub partner: String,
    pub percent: Decimal,
    /// The partner's share of the actual cost to date.
    pub share_of_actual: Decimal,
    /// What the partner actually paid to date (its finance rows).
    pub paid: Decimal,
    /// `share_of_actual − paid`: positive means the partner owes the pool.
    pub balance: Decimal,
    pub share_of_forecast: Decimal,
}

/// The joint funding split of a scheme's cost.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct JointSplit {
    pub description: Option<String>,
    pub people: Option<u32>,
    pub people_as_at: Option<chrono::NaiveDate>,
    pub shares: Vec<JointShare>,
}

/// Savings achieved against the scheme's target (seed 002).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Savings {
    pub target: Option<Decimal>,
    pub full_year_effect_target: Option<Decimal>,
    pub achieved_to_date: Decimal,
    /// Achieved to date run on to the end of the year.
    pub forecast_in_year: Decimal,
    /// The monthly rate achieved so far, over twelve months.
    pub full_year_effect_forecast: Decimal,
    pub months_elapsed: u32,
}

/// A scheme's money for the pack's financial year.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SchemeFinance {
    pub reference: String,
    pub name: String,
    pub scheme_type: String,
    pub months_elapsed: u32,
    pub months_in_year: u32,
    /// Partner lines (declared contributions first), then the `ALL` total.
    pub lines: Vec<Line>,
    /// Spend per month of the year to date (all partners).
    pub monthly: Vec<(Month, Decimal)>,
    pub joint: Option<JointSplit>,
    pub savings: Option<Savings>,
}

impl SchemeFinance {
    pub(crate) fn total(&self) -> &Line {
        self.lines.last().expect("every scheme has a total line")
    }
}

/// Plan, actual, forecast and variance summed over a group of lines.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct Totals {
    pub plan: Decimal,
    pub actual_to_date: Decimal,
    pub forecast_outturn: Decimal,
    pub variance: Decimal,
    pub variance_pct: Option<Decimal>,
}

impl Totals {
    fn add(&mut self, l: &Line) {
        self.plan += l.plan;
        self.actual_to_date += l.actual_to_date;
        self.forecast_outturn += l.forecast_outturn;
        self.variance += l.variance;
        self.variance_pct = variance_pct(self.variance, self.plan);
    }
}

/// The pooled budget for one financial year up to the pack's month.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Statement {
    pub financial_year: FinancialYear,
    pub as_at: Month,
    pub schemes: Vec<SchemeFinance>,
    /// Totals by partner id, in programme order.
    pub by_partner: Vec<(String, Totals)>,
    /// Totals by scheme type, alphabetically.
    pub by_type: Vec<(String, Totals)>,
    pub total: Totals,
    pub on_track_pct: Decimal,
    pub not_on_track_pct: Decimal,
}

impl Statement {
    /// `finance.csv`: a line per scheme and partner, then the scheme's `ALL` line.
    pub(crate) fn to_csv(&self) -> String {
        let mut table = crate::table::Table::new(FINANCE_COLUMNS);
        for s in &self.schemes {
            for l in &s.lines {
                table.push(l.cells());
            }
        }
        table.to_csv()
    }
}

/// Builds the statement for the financial year containing `as_at`, from the scheme plans
/// and the accepted finance rows.
pub(crate) fn statement(programme: &Programme, actuals: &[Actual], as_at: Month) -> Statement {
    let fy = FinancialYear::containing(as_at.start());
    let settings = &programme.settings;
    let (on, off) = (
        settings.finance.on_track_pct,
        settings.finance.not_on_track_pct,
    );
    let mut schemes = Vec::new();
    for scheme in &programme.schemes {
        let Some(plan) = scheme.finance.iter().find(|p| p.financial_year == fy) else {
            continue;
        };
        schemes.push(scheme_finance(scheme, plan, actuals, as_at, on, off));
    }
    let mut by_partner: Vec<(String, Totals)> = Vec::new();
    for p in &settings.partners {
        let mut t = Totals::default();
        for s in &schemes {
            for l in s.lines.iter().filter(|l| l.partner == p.id) {
                t.add(l);
            }
        }
        by_partner.push((p.id.clone(), t));
    }
    let mut by_type: BTreeMap<String, Totals> = BTreeMap::new();
    let mut total = Totals::default();
    for s in &schemes {
        by_type
            .entry(s.scheme_type.clone())
            .or_default()
            .add(s.total());
        total.add(s.total());
    }
    Statement {
        financial_year: fy,
        as_at,
        schemes,
        by_partner,
        by_type: by_type.into_iter().collect(),
        total,
        on_track_pct: on,
        not_on_track_pct: off,
    }
}

fn scheme_finance(
    scheme: &Scheme,
    plan: &FinancePlan,
    actuals: &[Actual],
    as_at: Month,
    on: Decimal,
    off: Decimal,
) -> SchemeFinance {
    let fy = plan.financial_year;
    let (start, months) = year_months(fy, scheme);
    let elapsed = months_from(start, as_at).min(months);
    let rows: Vec<&Actual> = actuals
        .iter()
        .filter(|a| a.scheme == scheme.reference)
        .filter(|a| FinancialYear::containing(a.month.start()) == fy && a.month <= as_at)
        .collect();
    let is_saving = |a: &&&Actual| {
        a.stream
            .as_deref()
            .is_some_and(|s| s.eq_ignore_ascii_case(SAVINGS_STREAM))
    };
    let spend: Vec<&Actual> = rows.iter().filter(|a| !is_saving(a)).copied().collect();

    // Partners: declared contributions first, then anyone else who spent.
    let mut partners: Vec<(String, Decimal)> = plan
        .contributions
        .iter()
        .map(|c| (c.partner.clone(), c.amount))
        .collect();
    for a in &spend {
        if !partners.iter().any(|(p, _)| p == &a.partner) {
            partners.push((a.partner.clone(), Decimal::ZERO));
        }
    }
    let actual_of = |p: &str| -> Decimal {
        spend
            .iter()
            .filter(|a| a.partner == p)
            .map(|a| a.amount)
            .sum()
    };
    let actual: Vec<Decimal> = partners.iter().map(|(p, _)| actual_of(p)).collect();
    let (forecasts, basis): (Vec<Decimal>, ForecastBasis) = match plan.forecast_outturn {
        Some(f) => {
            let weights: Vec<Decimal> = partners.iter().map(|(_, a)| *a).collect();
            (apportion(f, &weights), ForecastBasis::FundManager)
        }
        // No spend recorded this year yet: the plan is the best forecast there is.
        None if spend.is_empty() => (
            partners.iter().map(|(_, planned)| *planned).collect(),
            ForecastBasis::Plan,
        ),
        None => {
            // The basis depends on the months only, so it is the same for every partner.
            let basis = run_rate(Decimal::ZERO, elapsed, months).1;
            let f = partners
                .iter()
                .zip(&actual)
                .map(|((_, planned), a)| match basis {
                    ForecastBasis::Plan => *planned,
                    _ => run_rate(*a, elapsed, months).0,
                })
                .collect();
            (f, basis)
        }
    };
    let line = |partner: &str, plan_v: Decimal, act: Decimal, fc: Decimal| {
        let variance = fc - plan_v;
        let pct = variance_pct(variance, plan_v);
        Line {
            scheme: scheme.reference.clone(),
            partner: partner.to_string(),
            financial_year: fy,
            plan: plan_v,
            actual_to_date: act,
            forecast_outturn: fc,
            variance,
            variance_pct: pct,
            basis,
            status: status(pct, on, off),
        }
    };
    let mut lines: Vec<Line> = partners
        .iter()
        .zip(actual.iter().zip(&forecasts))
        .map(|((p, planned), (a, f))| line(p, *planned, *a, *f))
        .collect();
    let total_actual: Decimal = actual.iter().copied().sum();
    let total_forecast: Decimal = forecasts.iter().copied().sum();
    lines.push(line("ALL", plan.value, total_actual, total_forecast));

    let mut by_month: BTreeMap<Month, Decimal> = BTreeMap::new();
    for a in &spend {
        *by_month.entry(a.month).or_default() += a.amount;
    }
    let joint = scheme.joint_funding.as_ref().map(|j| {
        let weights: Vec<Decimal> = j.shares.iter().map(|(_, w)| *w).collect();
        let of_actual = apportion(total_actual, &weights);
        let of_forecast = apportion(total_forecast, &weights);
        JointSplit {
            description: j.description.clone(),
            people: j.people,
            people_as_at: j.people_as_at,
            shares: j
                .shares
                .iter()
                .zip(of_actual.iter().zip(&of_forecast))
                .map(|((p, pct), (sa, sf))| {
                    let paid = actual_of(p);
                    JointShare {
                        partner: p.clone(),
                        percent: *pct,
                        share_of_actual: *sa,
                        paid,
                        balance: *sa - paid,
                        share_of_forecast: *sf,
                    }
                })
                .collect(),
        }
    });
    let saved: Decimal = rows.iter().filter(is_saving).map(|a| a.amount).sum();
    let savings = (plan.savings_target.is_some()
        || plan.savings_full_year_effect.is_some()
        || rows.iter().any(|a| is_saving(&a)))
    .then(|| {
        let (forecast_in_year, _) = run_rate(saved, elapsed, months);
        let fye = if elapsed == 0 {
            Decimal::ZERO
        } else {
            pennies(saved * Decimal::from(12) / Decimal::from(elapsed))
        };
        Savings {
            target: plan.savings_target,
            full_year_effect_target: plan.savings_full_year_effect,
            achieved_to_date: saved,
            forecast_in_year,
            full_year_effect_forecast: fye,
            months_elapsed: elapsed,
        }
    });
    SchemeFinance {
        reference: scheme.reference.clone(),
        name: scheme.name.clone(),
        scheme_type: scheme.scheme_type.clone().unwrap_or_else(|| "Other".into()),
        months_elapsed: elapsed,
        months_in_year: months,
        lines,
        monthly: by_month.into_iter().collect(),
        joint,
        savings,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Decimal {
        s.parse().unwrap()
    }

    #[test]
    fn largest_remainder_sums_exactly() {
        // 100.01 at 46:54 → 4600.46p and 5400.54p: floors 4600 + 5400 = 10000, one penny
        // left goes to the larger remainder (.54) → 46.00 and 54.01.
        assert_eq!(
            apportion(d("100.01"), &[d("46"), d("54")]),
            vec![d("46.00"), d("54.01")]
        );
        // £100 in thirds: 3333.33p each, one penny left goes to the first (ties by order).
        assert_eq!(
            apportion(d("100"), &[d("1"), d("1"), d("1")]),
            vec![d("33.34"), d("33.33"), d("33.33")]
        );
        // A credit splits the same way, negated.
        assert_eq!(
            apportion(d("-0.05"), &[d("33"), d("67")]),
            vec![d("-0.02"), d("-0.03")]
        );
        // Nothing to weigh by: all to the first part.
        assert_eq!(
            apportion(d("10"), &[d("0"), d("0")]),
            vec![d("10.00"), d("0.00")]
        );
    }

    #[test]
    fn variance_percent_and_status() {
        // 2% on track, 5% not on track.
        let (on, off) = (d("2"), d("5"));
        assert_eq!(variance_pct(d("1000"), d("40000")), Some(d("2.5")));
        assert_eq!(variance_pct(d("-1"), d("0")), None);
        assert_eq!(status(Some(d("2.0")), on, off), FinanceStatus::OnTrack);
        assert_eq!(status(Some(d("-2.5")), on, off), FinanceStatus::AtRisk);
        assert_eq!(status(Some(d("5.0")), on, off), FinanceStatus::AtRisk);
        assert_eq!(status(Some(d("5.1")), on, off), FinanceStatus::NotOnTrack);
        // 1/3 of a percent rounds to 0.3; 0.05 rounds away from zero to 0.1.
        assert_eq!(variance_pct(d("1"), d("300")), Some(d("0.3")));
        assert_eq!(variance_pct(d("1"), d("2000")), Some(d("0.1")));
    }

    #[test]
    fn run_rate_forecasts() {
        // £30,000 in 3 of 12 months runs on to £120,000.
        assert_eq!(
            run_rate(d("30000"), 3, 12),
            (d("120000"), ForecastBasis::RunRate)
        );
        // £100 in 7 of 12 months: 171.428571… → £171.43.
        assert_eq!(
            run_rate(d("100"), 7, 12),
            (d("171.43"), ForecastBasis::RunRate)
        );
        assert_eq!(run_rate(d("5"), 12, 12), (d("5"), ForecastBasis::Actual));
        assert_eq!(run_rate(d("0"), 0, 12).1, ForecastBasis::Plan);
        let m = |y, m| Month { year: y, month: m };
        assert_eq!(months_from(m(2015, 4), m(2016, 3)), 12);
        assert_eq!(months_from(m(2015, 10), m(2015, 9)), 0);
    }
}
