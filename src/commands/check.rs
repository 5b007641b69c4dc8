//! `bcfmon check`: validate the programme and every scheme, print every problem or a summary.

use crate::config;
use crate::extract::Severity;
use crate::money::format_gbp;
use crate::programme::Programme;
use rust_decimal::Decimal;
use std::collections::BTreeMap;
use std::fmt::Write;
use std::path::Path;

pub(crate) fn run(root: &Path, strict: bool) -> Result<(), String> {
    match config::load(root) {
        Ok(programme) => {
            print!("{}", summary(&programme));
            check_extracts(root, &programme, strict)
        }
        Err(diags) => {
            let mut out = String::new();
            for d in &diags {
                let _ = writeln!(out, "{d}");
            }
            let n = diags.len();
            let _ = write!(
                out,
                "bcfmon check: {n} problem{} found",
                if n == 1 { "" } else { "s" }
            );
            Err(out)
        }
    }
}

/// Reads every extract and reports its rows and problems; any refused file or rejected row
/// fails the check.
fn check_extracts(root: &Path, programme: &Programme, strict: bool) -> Result<(), String> {
    let mut ledger = crate::extract::Ledger::default();
    let data = crate::extract::all::load_all(
        root,
        programme,
        &mut ledger,
        crate::metrics::catalogue::definition,
    )
    .map_err(|missing| crate::extract::all::not_found_message(&missing, "check"))?;
    for f in &ledger.files {
        match &f.refused {
            Some(why) => println!("  {}: refused: {why}", f.file),
            None => println!(
                "  {}: {} rows read, {} accepted, {} rejected, {} with warnings",
                f.file, f.read, f.accepted, f.rejected, f.warned
            ),
        }
    }
    for (name, why) in &data.missing {
        if !ledger.files.iter().any(|f| &f.extract == name) {
            println!("  {name}: {why}");
        }
    }
    // Every error and file problem by file:line; a rule that fires on many rows is shown
    // once with its count and first lines (data_quality.csv from `compute` lists them all).
    let mut problems = String::new();
    for g in ledger
        .groups()
        .into_iter()
        .filter(|g| g.severity != Severity::Info)
    {
        let (severity, rule) = (g.severity, g.rule);
        if g.issues.len() <= 5 {
            for i in &g.issues {
                let _ = writeln!(
                    problems,
                    "{}: {severity} {rule} ({}): {}",
                    i.place(),
                    i.column,
                    i.message
                );
            }
        } else {
            let first: Vec<String> = g.issues.iter().take(5).map(|i| i.loc.to_string()).collect();
            let i = g.issues[0];
            let _ = writeln!(
                problems,
                "{}: {severity} {rule} ({}) on {} rows, first at lines {}, …: {}",
                i.file,
                i.column,
                g.issues.len(),
                first.join(", "),
                i.message
            );
        }
    }
    let failures = ledger.failures(programme.settings.max_reject_rate, strict);
    if !failures.is_empty() {
        Err(format!(
            "{problems}bcfmon check: {}",
            failures.join("\nbcfmon check: ")
        ))
    } else {
        eprint!("{problems}");
        Ok(())
    }
}

/// The success summary: schemes, KPIs, and the pooled value by partner for each year.
pub(crate) fn summary(p: &Programme) -> String {
    let s = &p.settings;
    let kpis: usize = p.schemes.iter().map(|x| x.kpis.len()).sum();
    let headline = p
        .schemes
        .iter()
        .flat_map(|x| &x.kpis)
        .filter(|k| k.headline)
        .count();
    let locals = p.local_metrics().count();
    let mut out = String::new();
    let _ = writeln!(
        out,
        "bcfmon check: schemes ok — {} ({}, {})",
        s.title, s.area.name, s.area.code
    );
    let _ = writeln!(
        out,
        "  {} scheme{}, {kpis} KPI{} ({headline} headline), {locals} local metric{}",
        p.schemes.len(),
        plural(p.schemes.len()),
        plural(kpis),
        plural(locals)
    );
    let mut by_year: BTreeMap<String, BTreeMap<&str, Decimal>> = BTreeMap::new();
    for scheme in &p.schemes {
        for plan in &scheme.finance {
            let year = by_year.entry(plan.financial_year.to_string()).or_default();
            for c in &plan.contributions {
                *year.entry(c.partner.as_str()).or_default() += c.amount;
            }
        }
    }
    for (year, partners) in &by_year {
        let total: Decimal = partners.values().copied().sum();
        let _ = writeln!(out, "  pooled budget {year}: {}", format_gbp(total));
        for partner in &s.partners {
            if let Some(amount) = partners.get(partner.id.as_str()) {
                let _ = writeln!(
                    out,
                    "    {:<8} {:<45} {:>14}",
                    partner.id,
                    partner.name,
                    format_gbp(*amount)
                );
            }
        }
    }
    out
}

fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}
