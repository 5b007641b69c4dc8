//! `bcfmon metrics [ID]`: the catalogue as a table, or one metric's rule explained.

use crate::metrics::catalogue::{lookup, Metric, CATALOGUE};
use std::fmt::Write;

pub(crate) fn run(id: Option<&str>) -> Result<(), String> {
    match id {
        None => {
            print!("{}", table());
            Ok(())
        }
        Some(id) => match lookup(crate::catalogue::split_breakdown(id).0) {
            Some(def) => {
                print!("{}", explain(def));
                Ok(())
            }
            None => {
                let ids = CATALOGUE.iter().map(|m| m.id);
                let hint = crate::diag::nearest(id, ids)
                    .map(|n| format!("did you mean `{n}`?"))
                    .unwrap_or_else(|| "run `bcfmon metrics` for the list".into());
                Err(format!(
                    "bcfmon metrics: no metric `{id}` in the catalogue\n  hint: {hint}"
                ))
            }
        },
    }
}

pub(crate) fn table() -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:<36} {:<28} {:<11} {:<13} title",
        "id", "codes", "unit", "polarity"
    );
    for m in CATALOGUE {
        let _ = writeln!(
            out,
            "{:<36} {:<28} {:<11} {:<13} {}",
            m.id,
            m.codes.join(", "),
            m.unit.as_str(),
            m.polarity.as_str(),
            m.title
        );
    }
    out
}

pub(crate) fn explain(m: &Metric) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{} — {}", m.id, m.title);
    if !m.codes.is_empty() {
        let _ = writeln!(out, "  codes:      {}", m.codes.join(", "));
    }
    let _ = writeln!(out, "  unit:       {}", m.unit);
    let how = if m.polarity_official {
        "official"
    } else {
        "inferred"
    };
    let _ = writeln!(out, "  polarity:   {} ({how})", m.polarity);
    let _ = writeln!(out, "  source:     {}", m.sources.join(", "));
    if m.snapshot {
        let _ = writeln!(
            out,
            "  snapshot:   yes (counts at the window end, whatever the window)"
        );
    }
    if !m.breakdowns.is_empty() {
        let _ = writeln!(
            out,
            "  breakdowns: {}",
            m.breakdowns
                .iter()
                .map(|b| format!("{}/{b}", m.id))
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    for p in m.params {
        let _ = writeln!(
            out,
            "  parameter:  {} = {} — {}",
            p.name, p.default, p.about
        );
    }
    let _ = writeln!(out, "  defined in: {}", m.section);
    let _ = writeln!(out);
    let _ = writeln!(out, "{}", wrap(m.rule, 88));
    out
}

fn wrap(text: &str, width: usize) -> String {
    let mut out = String::new();
    let mut line = String::new();
    for word in text.split_whitespace() {
        if !line.is_empty() && line.chars().count() + 1 + word.chars().count() > width {
            out.push_str(&line);
            out.push('\n');
            line.clear();
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    out.push_str(&line);
    out
}
