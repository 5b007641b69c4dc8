//! synth: NHS Continuing Healthcare referrals.

use super::*;

/// NHS Continuing Healthcare referrals.
pub(super) fn chc(cx: &Context<'_>, rng: &mut Rng) -> Result<(PathBuf, usize), String> {
    let area = cx.opts.area.as_str();
    let (from, to, span) = (cx.opts.from, cx.opts.to, cx.span());
    let opts = cx.opts;
    let day = |rng: &mut Rng, lo: i64, hi: i64| cx.day(rng, lo, hi);
    let add = |x: NaiveDate, n: i64| x + chrono::Duration::days(n);
    // The dates of the deliberate bad rows, as the events' (mid-span, and ten days on).
    let (mid, later) = (d(add(from, span / 2)), d(add(from, span / 2 + 10)));
    // NHS Continuing Healthcare referrals.
    let mut chc = Table::create(&opts.out, "chc", &[], opts.parquet)?;
    for i in 0..(opts.people / 40).max(10) {
        let row_area = cx.area(i);
        let area = row_area.as_str();
        let r = day(rng, 0, span);
        let fate = rng.weighted(&[("decided", 70), ("withdrawn", 10), ("pending", 20)]);
        let when = add(r, rng.range(10, 60));
        let (dec, wd) = match fate {
            "decided" if when <= to => (Some(when), None),
            "withdrawn" if when <= to => (None, Some(when)),
            _ => (None, None),
        };
        chc.row(vec![
            area.into(),
            format!("CHC-{i}"),
            d(r),
            if rng.chance(0.2) { "Y" } else { "N" }.into(),
            dec.map(d).unwrap_or_default(),
            wd.map(d).unwrap_or_default(),
            dec.map(|_| {
                if rng.chance(0.3) {
                    "Eligible"
                } else {
                    "Not eligible"
                }
            })
            .unwrap_or("")
            .into(),
        ])?;
    }
    chc.row(vec![
        area.into(),
        "CHC-BAD-1".into(),
        mid.clone(),
        "N".into(),
        later.clone(),
        later.clone(),
        String::new(),
    ])?; // C04
    chc.finish()
}
