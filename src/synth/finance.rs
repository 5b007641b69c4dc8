//! synth: monthly finance actuals for every scheme and contributing partner.

use super::*;

/// Monthly finance actuals for every scheme and contributing partner.
pub(super) fn finance(cx: &Context<'_>, rng: &mut Rng) -> Result<(PathBuf, usize), String> {
    let to = cx.opts.to;
    let (opts, programme) = (cx.opts, cx.programme);
    // Monthly finance actuals for every scheme and contributing partner in the programme.
    let mut fin = Table::create(&opts.out, "finance", &[], opts.parquet)?;
    if let Some(p) = programme {
        for scheme in &p.schemes {
            for plan in &scheme.finance {
                let fy: FinancialYear = plan.financial_year;
                for c in &plan.contributions {
                    // The plan is spread over the months the scheme runs in the year.
                    let running = (0..12)
                        .scan(crate::period::Month::of(fy.start()), |m, _| {
                            let this = *m;
                            *m = m.next();
                            Some(this)
                        })
                        .filter(|m| match scheme.commencement {
                            crate::programme::scheme::Commencement::Date(d) => m.end() >= d,
                            _ => true,
                        })
                        .count()
                        .max(1);
                    let monthly = (c.amount / Decimal::from(running)).round_dp(2);
                    let mut m = crate::period::Month::of(fy.start());
                    for k in 0..12 {
                        if m.end() > to {
                            break;
                        }
                        // Spending runs a little over or under plan, month by month.
                        let drift = Decimal::new(rng.range(-300, 500), 4);
                        let amount = (monthly + monthly * drift).round_dp(2);
                        let note = if k == 11 { "year-end accrual" } else { "" };
                        // No spend before a scheme commences (the draw is still made, so
                        // the rest of the data does not depend on commencement dates).
                        let started = match scheme.commencement {
                            crate::programme::scheme::Commencement::Date(d) => m.end() >= d,
                            _ => true,
                        };
                        if started {
                            fin.row(vec![
                                scheme.reference.clone(),
                                m.to_string(),
                                c.partner.clone(),
                                crate::money::plain_2dp(amount),
                                c.funding_stream.clone().unwrap_or("Pooled fund".into()),
                                note.into(),
                            ])?;
                        }
                        m = m.next();
                    }
                }
                // Savings achieved, month by month from commencement, toward the target.
                if let Some(target) = plan.savings_full_year_effect.or(plan.savings_target) {
                    let partner = plan.contributions.first().map(|c| c.partner.clone());
                    let mut m = crate::period::Month::of(fy.start());
                    for k in 0..12i64 {
                        let started = match scheme.commencement {
                            crate::programme::scheme::Commencement::Date(d) => m.end() >= d,
                            _ => true,
                        };
                        if started && m.end() <= to {
                            // Running at 90% of the full-year rate, a little more each month.
                            let monthly = target * Decimal::new(9 + k % 2, 1) / Decimal::from(12);
                            fin.row(vec![
                                scheme.reference.clone(),
                                m.to_string(),
                                partner.clone().unwrap_or_default(),
                                crate::money::plain_2dp(monthly.round_dp(2)),
                                crate::contract::SAVINGS_STREAM.into(),
                                "savings achieved".into(),
                            ])?;
                        }
                        m = m.next();
                    }
                }
            }
            // A refund as a line of its own. A scheme that names its funding streams has one
            // row per month, partner and stream (N03, N05), so its refunds are netted into
            // the month's row by the ledger that produces the extract: no extra line.
            let first = scheme.finance.first().and_then(|p| p.contributions.first());
            if let Some(first) = first.filter(|_| scheme.funding_streams().is_empty()) {
                let m = crate::period::Month::of(scheme.finance[0].financial_year.start()).next();
                fin.row(vec![
                    scheme.reference.clone(),
                    m.to_string(),
                    first.partner.clone(),
                    "-350.25".into(),
                    "Adjustment".into(),
                    "refund of an overpayment".into(),
                ])?;
            }
        }
        if let (Some(s), Some(partner)) = (p.schemes.first(), p.settings.partners.first()) {
            if let Some(plan) = s.finance.first() {
                let month = crate::period::Month::of(plan.financial_year.start()).to_string();
                fin.row(vec![
                    s.reference.clone(),
                    month.clone(),
                    partner.id.clone(),
                    "£1,000".into(),
                    // Only the amount is wrong (N04): the stream is one the scheme declares.
                    s.funding_streams()
                        .first()
                        .map_or("Adjustment".into(), |f| f.to_string()),
                    "typed with a pound sign".into(),
                ])?; // N04
                     // More bad rows only where there are enough good ones to stay under the
                     // programme's reject rate.
                let spend_rows: usize = p
                    .schemes
                    .iter()
                    .flat_map(|s| &s.finance)
                    .map(|f| 12 * f.contributions.len())
                    .sum();
                let copies = if spend_rows >= 100 { 2 } else { 0 };
                for _ in 0..copies {
                    fin.row(vec![
                        s.reference.clone(),
                        crate::period::Month::of(plan.financial_year.start())
                            .next()
                            .next()
                            .to_string(),
                        partner.id.clone(),
                        "120.00".into(),
                        "Adjustment".into(),
                        "keyed twice".into(),
                    ])?; // N05, both copies
                }
                if copies > 0 {
                    fin.row(vec![
                        "S99XX".into(),
                        month,
                        partner.id.clone(),
                        "10.00".into(),
                        "".into(),
                        "a scheme not in the plan".into(),
                    ])?; // N01
                }
            }
        }
    }
    fin.finish()
}
