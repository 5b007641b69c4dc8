//! synth: ONS-style mid-year population by single year of age.

use super::*;

/// ONS-style mid-year population by single year of age.
pub(super) fn population(cx: &Context<'_>) -> Result<(PathBuf, usize), String> {
    let area = cx.opts.area.as_str();
    let (from, to) = (cx.opts.from, cx.opts.to);
    let opts = cx.opts;
    // ONS-style population, single years of age, for each mid-year the windows use.
    let mut pop = Table::create(&opts.out, "population", &[], opts.parquet)?;
    // About one person in fifteen of the population uses social care in a year; each area
    // has its share of the people.
    let scale = (opts.people as f64 / opts.areas.max(1) as f64 * 15.0).max(1000.0);
    for area in &cx.areas() {
        for year in (from.year() - 1)..=to.year() {
            for age in 0..=90 {
                let shape = if age < 65 {
                    1.0
                } else {
                    (1.0 - (age - 65) as f64 / 30.0).max(0.15)
                };
                let count = (scale / 80.0 * shape * (1.0 + 0.01 * (year - from.year()) as f64))
                    .round() as u64;
                let label = if age == 90 {
                    "90+".to_string()
                } else {
                    age.to_string()
                };
                pop.row(vec![
                    area.into(),
                    "Synthetic area".into(),
                    year.to_string(),
                    "Persons".into(),
                    label,
                    count.to_string(),
                ])?;
            }
        }
    }
    pop.row(vec![
        area.into(),
        "Synthetic area".into(),
        to.year().to_string(),
        "Persons".into(),
        "ninety".into(),
        "10".into(),
    ])?; // P02
    pop.finish()
}
