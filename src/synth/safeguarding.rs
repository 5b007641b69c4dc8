//! synth: safeguarding concerns and enquiries.

use super::*;

/// Safeguarding concerns and enquiries.
pub(super) fn safeguarding(cx: &Context<'_>, rng: &mut Rng) -> Result<(PathBuf, usize), String> {
    let area = cx.opts.area.as_str();
    let (from, to, span) = (cx.opts.from, cx.opts.to, cx.span());
    let opts = cx.opts;
    let day = |rng: &mut Rng, lo: i64, hi: i64| cx.day(rng, lo, hi);
    let add = |x: NaiveDate, n: i64| x + chrono::Duration::days(n);
    // The date of the deliberate bad rows, as the events' (mid-span).
    let mid = d(add(from, span / 2));
    // Safeguarding concerns and enquiries.
    let mut sg = Table::create(&opts.out, "safeguarding", &["Person_ID"], opts.parquet)?;
    for i in 0..(opts.people / 15).max(20) {
        let row_area = cx.area(i);
        let area = row_area.as_str();
        let r = day(rng, 0, span);
        let decided = (rng.chance(0.95)).then(|| {
            add(
                r,
                rng.weighted(&[(0, 3), (1, 4), (2, 3), (3, 2), (5, 1), (9, 1)]),
            )
        });
        let decided = decided.filter(|x| *x <= to);
        let decision = decided.map(|_| {
            rng.weighted(&[
                ("Section 42 enquiry", 30),
                ("Other safeguarding enquiry", 10),
                ("No enquiry", 60),
            ])
        });
        let concluded = match (decided, decision) {
            (Some(dd), Some(dec)) if dec != "No enquiry" && rng.chance(0.85) => {
                Some(add(dd, rng.range(7, 80))).filter(|x| *x <= to)
            }
            _ => None,
        };
        let outcome = concluded
            .map(|_| {
                rng.weighted(&[
                    ("Risk removed", 3),
                    ("Risk reduced", 5),
                    ("Risk remains", 2),
                    ("No risk identified", 2),
                ])
            })
            .unwrap_or("");
        sg.row(vec![
            area.into(),
            format!("SG-{i}"),
            d(r),
            decided.map(d).unwrap_or_default(),
            decision.unwrap_or("").into(),
            concluded.map(d).unwrap_or_default(),
            outcome.into(),
        ])?;
    }
    sg.row(vec![
        area.into(),
        "SG-BAD-1".into(),
        "2015-13-01".into(),
        String::new(),
        String::new(),
        String::new(),
        String::new(),
    ])?; // S02
    sg.row(vec![
        area.into(),
        "SG-0".into(),
        mid.clone(),
        String::new(),
        String::new(),
        String::new(),
        String::new(),
    ])?; // S01 (repeats SG-0)
    sg.finish()
}
