//! `schemes/programme.toml`: what every scheme shares — the area, the partners, where the
//! extracts are, benchmarking peers, disclosure control, the board's status wording,
//! finance thresholds, the bank holidays used for working-day timescales and the ASCOF method.

use super::reader::{get, Source};
use crate::contract;
use crate::programme::{
    Area, DataSource, DateFormat, Disclosure, Encoding, FinanceThresholds, Format, Partner,
    PartnerKind, Peer, Settings, Wording,
};
use chrono::NaiveDate;
use std::collections::BTreeMap;
use std::path::PathBuf;
use toml::de::DeTable;

pub(crate) const PROGRAMME_KEYS: &[&str] = &[
    "title",
    "area",
    "partner",
    "data",
    "benchmarking",
    "disclosure",
    "wording",
    "finance",
    "bank_holidays",
    "max_reject_rate",
    "metrics",
];

/// `^[EWSN][0-9]{8}$` (data-contract.md §0.5).
pub(crate) fn is_gss_code(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 9 && b"EWSN".contains(&b[0]) && b[1..].iter().all(u8::is_ascii_digit)
}

pub(crate) fn parse_date(
    src: &mut Source<'_>,
    v: &super::reader::Value<'_>,
    key: &str,
) -> Option<NaiveDate> {
    let text = match v.get_ref() {
        toml::de::DeValue::Datetime(d) => d.to_string(),
        _ => src.string(v, key)?,
    };
    match NaiveDate::parse_from_str(&text, "%Y-%m-%d") {
        Ok(d) => Some(d),
        Err(_) => {
            src.error(
                &v.span(),
                format!("`{key}` must be a date written as yyyy-mm-dd, found `{text}`"),
                None,
            );
            None
        }
    }
}

pub(super) fn read_settings(
    src: &mut Source<'_>,
    root: &DeTable<'_>,
    root_span: &super::reader::Span,
) -> Option<Settings> {
    src.check_keys(root, PROGRAMME_KEYS, "in programme.toml");
    let errors_before = src.diags.len();

    let title = match get(root, "title") {
        Some(v) => src.string(v, "title"),
        None => {
            src.missing(
                root_span,
                "title",
                "in programme.toml",
                Some("the report title, e.g. title = \"Better Care Fund programme board\"".into()),
            );
            None
        }
    };

    let area = match get(root, "area") {
        Some(v) => src.table(v, "area").and_then(|t| {
            src.check_keys(t, &["name", "code"], "in [area]");
            let name = req_string(src, t, &v.span(), "name", "in [area]");
            let code = get(t, "code").and_then(|c| {
                let s = src.string(c, "code")?;
                if is_gss_code(&s) {
                    Some(s)
                } else {
                    src.error(
                        &c.span(),
                        format!("`{s}` is not an ONS GSS area code"),
                        Some(
                            "nine characters: E, W, S or N then eight digits, e.g. E08000033"
                                .into(),
                        ),
                    );
                    None
                }
            });
            if get(t, "code").is_none() {
                src.missing(
                    &v.span(),
                    "code",
                    "in [area]",
                    Some("the ONS GSS code of the area, e.g. code = \"E08000033\"".into()),
                );
            }
            Some(Area {
                name: name?,
                code: code?,
            })
        }),
        None => {
            src.missing(
                root_span,
                "area",
                "in programme.toml",
                Some("add [area] with name and code".into()),
            );
            None
        }
    };

    let mut partners: Vec<Partner> = Vec::new();
    match get(root, "partner") {
        Some(v) => {
            for (t, span) in src.tables(v, "partner") {
                src.check_keys(t, &["id", "name", "kind"], "in [[partner]]");
                let id = req_string(src, t, &span, "id", "in [[partner]]");
                let name = req_string(src, t, &span, "name", "in [[partner]]");
                let kind = match get(t, "kind") {
                    Some(k) => src.choice(k, "kind", PartnerKind::ALL, PartnerKind::parse),
                    None => {
                        src.missing(
                            &span,
                            "kind",
                            "in [[partner]]",
                            Some(format!("allowed values: {}", PartnerKind::ALL.join(", "))),
                        );
                        None
                    }
                };
                if let (Some(id), Some(idv)) = (&id, get(t, "id")) {
                    if partners.iter().any(|p| &p.id == id) {
                        src.error(
                            &idv.span(),
                            format!("partner `{id}` is declared twice"),
                            None,
                        );
                    }
                }
                if let (Some(id), Some(name), Some(kind)) = (id, name, kind) {
                    partners.push(Partner { id, name, kind });
                }
            }
        }
        None => src.missing(
            root_span,
            "partner",
            "in programme.toml",
            Some("declare each partner as [[partner]] with id, name and kind".into()),
        ),
    }

    let mut data = BTreeMap::new();
    if let Some(v) = get(root, "data") {
        if let Some(t) = src.table(v, "data") {
            let names = contract::extract_names();
            src.check_keys(t, &names, "in [data] (extract names)");
            for (name, ev) in t.iter() {
                let name: &str = name.get_ref();
                if !names.contains(&name) {
                    continue;
                }
                let where_ = format!("in [data.{name}]");
                let Some(et) = src.table(ev, name) else {
                    continue;
                };
                src.check_keys(
                    et,
                    &[
                        "path",
                        "format",
                        "date_format",
                        "encoding",
                        "coverage_start",
                        "coverage_end",
                    ],
                    &where_,
                );
                let path = req_string(src, et, &ev.span(), "path", &where_);
                let format = get(et, "format")
                    .and_then(|f| src.choice(f, "format", Format::ALL, Format::parse));
                let date_format = get(et, "date_format")
                    .map(|f| src.choice(f, "date_format", DateFormat::ALL, DateFormat::parse))
                    .unwrap_or(Some(DateFormat::Iso));
                let encoding = get(et, "encoding")
                    .map(|f| src.choice(f, "encoding", Encoding::ALL, Encoding::parse))
                    .unwrap_or(Some(Encoding::Utf8));
                let path_at = get(et, "path").map_or((0, 0), |p| src.locate(&p.span()));
                let coverage_start =
                    get(et, "coverage_start").and_then(|d| parse_date(src, d, "coverage_start"));
                let coverage_end =
                    get(et, "coverage_end").and_then(|d| parse_date(src, d, "coverage_end"));
                if let (Some(s), Some(e), Some(ev2)) =
                    (coverage_start, coverage_end, get(et, "coverage_end"))
                {
                    if e < s {
                        src.error(
                            &ev2.span(),
                            "`coverage_end` is before `coverage_start`",
                            None,
                        );
                    }
                }
                if let (Some(path), Some(date_format), Some(encoding)) =
                    (path, date_format, encoding)
                {
                    data.insert(
                        name.to_string(),
                        DataSource {
                            path: PathBuf::from(path),
                            format,
                            date_format,
                            encoding,
                            path_at,
                            coverage_start,
                            coverage_end,
                        },
                    );
                }
            }
        }
    }

    let mut peers = Vec::new();
    if let Some(v) = get(root, "benchmarking") {
        if let Some(t) = src.table(v, "benchmarking") {
            src.check_keys(t, &["peers"], "in [benchmarking]");
            if let Some(pv) = get(t, "peers") {
                // Each peer a code, or { code, name } to give the name the board reads.
                for item in src.array(pv, "peers").unwrap_or_default() {
                    let (code, name) = match item.get_ref() {
                        toml::de::DeValue::Table(pt) => {
                            src.check_keys(pt, &["code", "name"], "in a peer of [benchmarking]");
                            let code = req_string(src, pt, &item.span(), "code", "in a peer");
                            let name = get(pt, "name").and_then(|v| src.string(v, "name"));
                            (code, name)
                        }
                        _ => (src.string(item, "peers"), None),
                    };
                    let Some(code) = code else { continue };
                    if is_gss_code(&code) {
                        peers.push(Peer { code, name });
                    } else {
                        src.error(
                            &item.span(),
                            format!("peer `{code}` is not an ONS GSS area code"),
                            Some("e.g. \"E08000032\", or { code = \"E08000032\", name = \"Bradford\" }".into()),
                        );
                    }
                }
            }
        }
    }

    let mut disclosure = Disclosure {
        max_count: 7,
        marker: "*".into(),
    };
    if let Some(v) = get(root, "disclosure") {
        if let Some(t) = src.table(v, "disclosure") {
            src.check_keys(t, &["max_count", "marker"], "in [disclosure]");
            if let Some(m) = get(t, "max_count") {
                match src.integer(m, "max_count") {
                    Some(n) if (0..=1000).contains(&n) => disclosure.max_count = n as u32,
                    Some(_) => src.error(
                        &m.span(),
                        "`max_count` must be between 0 (no suppression) and 1000",
                        None,
                    ),
                    None => {}
                }
            }
            if let Some(m) = get(t, "marker").and_then(|m| src.string(m, "marker")) {
                disclosure.marker = m;
            }
        }
    }

    let mut wording = Wording {
        on_track: "On track to meet target".into(),
        at_risk: "At risk".into(),
        not_on_track: "Not on track".into(),
        no_data: "Data not available".into(),
    };
    if let Some(v) = get(root, "wording") {
        if let Some(t) = src.table(v, "wording") {
            src.check_keys(
                t,
                &["on_track", "at_risk", "not_on_track", "no_data"],
                "in [wording]",
            );
            for (key, slot) in [
                ("on_track", &mut wording.on_track),
                ("at_risk", &mut wording.at_risk),
                ("not_on_track", &mut wording.not_on_track),
                ("no_data", &mut wording.no_data),
            ] {
                if let Some(s) = get(t, key).and_then(|w| src.string(w, key)) {
                    *slot = s;
                }
            }
        }
    }

    let mut finance = FinanceThresholds {
        on_track_pct: rust_decimal::Decimal::TWO,
        not_on_track_pct: rust_decimal::Decimal::from(5),
    };
    if let Some(v) = get(root, "finance") {
        if let Some(t) = src.table(v, "finance") {
            src.check_keys(t, &["on_track_pct", "not_on_track_pct"], "in [finance]");
            // Percents, read once into Decimal so that comparisons with money are exact.
            let mut pct = |key: &str| {
                get(t, key)
                    .and_then(|x| src.number(x, key))
                    .and_then(|x| rust_decimal::Decimal::try_from(x).ok())
                    .map(|d| d.normalize())
            };
            if let Some(x) = pct("on_track_pct") {
                finance.on_track_pct = x;
            }
            if let Some(x) = pct("not_on_track_pct") {
                finance.not_on_track_pct = x;
            }
            if finance.on_track_pct.is_sign_negative()
                || finance.not_on_track_pct < finance.on_track_pct
            {
                src.error(
                    &v.span(),
                    "finance thresholds must satisfy 0 ≤ on_track_pct ≤ not_on_track_pct",
                    None,
                );
            }
        }
    }

    let mut bank_holidays = Vec::new();
    if let Some(v) = get(root, "bank_holidays") {
        if let Some(items) = src.array(v, "bank_holidays") {
            for item in items {
                if let Some(d) = parse_date(src, item, "bank_holidays") {
                    bank_holidays.push(d);
                }
            }
        }
    }
    bank_holidays.sort();
    bank_holidays.dedup();

    let mut max_reject_rate = 0.05;
    if let Some(v) = get(root, "max_reject_rate") {
        match src.number(v, "max_reject_rate") {
            Some(x) if (0.0..=1.0).contains(&x) => max_reject_rate = x,
            Some(_) => src.error(
                &v.span(),
                "`max_reject_rate` is a fraction between 0 and 1 (e.g. 0.05)",
                None,
            ),
            None => {}
        }
    }

    // `[metrics] method`: which ASCOF method the figures follow (metrics.md §16).
    let mut method = crate::method::Method::Bcfmon;
    if let Some(v) = get(root, "metrics") {
        if let Some(t) = src.table(v, "metrics") {
            src.check_keys(t, &["method"], "in [metrics]");
            if let Some(m) = get(t, "method") {
                let allowed = crate::method::Method::ALL;
                if let Some(m) = src.choice(m, "method", allowed, crate::method::Method::parse) {
                    method = m;
                }
            }
        }
    }

    if src.diags.len() > errors_before {
        return None;
    }
    Some(Settings {
        title: title?,
        area: area?,
        partners,
        data,
        peers,
        disclosure,
        wording,
        finance,
        bank_holidays,
        max_reject_rate,
        method,
    })
}

/// A required string key: its value, or a "missing" / "wrong type" diagnostic.
pub(super) fn req_string(
    src: &mut Source<'_>,
    t: &DeTable<'_>,
    span: &super::reader::Span,
    key: &str,
    where_: &str,
) -> Option<String> {
    match get(t, key) {
        Some(v) => src.string(v, key),
        None => {
            src.missing(span, key, where_, None);
            None
        }
    }
}
