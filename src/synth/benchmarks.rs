//! synth: published-style benchmarks for the peers and England.

use super::*;

/// Published-style benchmarks for the peers and England.
pub(super) fn benchmarks(cx: &Context<'_>, rng: &mut Rng) -> Result<(PathBuf, usize), String> {
    let (from, to) = (cx.opts.from, cx.opts.to);
    let (opts, programme) = (cx.opts, cx.programme);
    // Published-style benchmarks for the peers and England.
    let mut bm = Table::create(&opts.out, "benchmarks", &[], opts.parquet)?;
    // Each area's code, name and level: the peers under the names programme.toml gives them
    // (else their code), and England.
    let mut areas: Vec<(String, String, &str)> = programme
        .map(|p| {
            p.settings
                .peers
                .iter()
                .map(|c| {
                    let name = c.name.clone().unwrap_or_else(|| c.code.clone());
                    (c.code.clone(), name, "Local authority")
                })
                .collect()
        })
        .unwrap_or_default();
    areas.push(("E92000001".into(), "England".into(), "National"));
    // Published-style measures, some by their published codes (metrics.md Appendix A).
    let measures: [(&str, &str, f64, f64); 5] = [
        ("ASCOF 2C", "65+", 560.0, 150.0),
        ("2A(1)", "18-64", 14.0, 5.0),
        ("ascof-2a", "Total", 75.0, 8.0),
        ("ASCOF 2E", "Total", 80.0, 6.0),
        ("1C(1A)", "Total", 90.0, 5.0),
    ];
    for (code, name, level) in &areas {
        for fy in (from.year() - 2)..to.year() {
            let label = FinancialYear(fy).to_string();
            for (measure, breakdown, centre, spread) in measures {
                let v = centre + spread * (rng.unit() * 2.0 - 1.0);
                bm.row(vec![
                    code.clone(),
                    name.clone(),
                    level.to_string(),
                    label.clone(),
                    measure.into(),
                    breakdown.into(),
                    String::new(),
                    String::new(),
                    format!("{v:.1}"),
                    "synthetic".into(),
                ])?;
            }
        }
    }
    let last = FinancialYear(to.year() - 1).to_string();
    bm.row(vec![
        "E92000001".into(),
        "England".into(),
        "National".into(),
        last,
        "ASCOF 2B".into(),
        "Total".into(),
        String::new(),
        String::new(),
        "n/a".into(),
        "synthetic".into(),
    ])?; // B02
    bm.finish()
}
