//! `bcfmon check`: validate the programme and every scheme, print every problem or a summary.

use crate::config::{self, Programme};
use crate::money::format_gbp;
use rust_decimal::Decimal;
use std::collections::BTreeMap;
use std::fmt::Write;
use std::path::Path;

pub fn run(root: &Path) -> Result<(), String> {
    match config::load(root) {
        Ok(programme) => {
            print!("{}", summary(&programme));
            check_extracts(root, &programme)
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
fn check_extracts(root: &Path, programme: &Programme) -> Result<(), String> {
    let mut ledger = crate::extract::Ledger::default();
    let data = crate::metrics::load(root, programme, &mut ledger);
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
    let mut problems = String::new();
    for i in &ledger.issues {
        if i.severity == crate::extract::Severity::Info {
            continue;
        }
        let at = match i.loc {
            crate::extract::Loc::Line(n) => format!("{}:{n}", i.file),
            crate::extract::Loc::Row(n) => format!("{} row {n}", i.file),
            crate::extract::Loc::File => i.file.clone(),
        };
        let _ = writeln!(
            problems,
            "{at}: {} {} ({}): {}",
            i.severity, i.rule, i.column, i.message
        );
    }
    let failed = ledger
        .files
        .iter()
        .any(|f| f.refused.is_some() || f.rejected > 0);
    if failed {
        Err(format!(
            "{problems}bcfmon check: the extracts have rejected rows or refused files"
        ))
    } else {
        eprint!("{problems}");
        Ok(())
    }
}

/// The success summary: schemes, KPIs, and the pooled value by partner for each year.
pub fn summary(p: &Programme) -> String {
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
