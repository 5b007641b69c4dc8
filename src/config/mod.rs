//! Configuration: reads `schemes/programme.toml` and every `schemes/<REF>.toml`, validates
//! them together, and returns a `Programme` the rest of bcfmon trusts — or every problem found.

mod reader;
pub(crate) mod scheme;
mod settings;

use crate::programme::Programme;
use crate::programme::{LocalMetric, Scheme};

use crate::diag::{nearest, Diagnostic, LineIndex};
use reader::Source;
use std::path::{Path, PathBuf};
use toml::de::DeTable;

/// The name a file is reported under: relative to the root when the root is the current folder.
fn shown(root: &Path, rel: &str) -> PathBuf {
    if root == Path::new(".") || root.as_os_str().is_empty() {
        PathBuf::from(rel)
    } else {
        root.join(rel)
    }
}

/// A TOML file read and parsed, or the diagnostics that stopped it.
struct Parsed {
    path: PathBuf,
    text: String,
}

/// Reads a file as UTF-8 text, refusing empty files and invalid bytes with their position.
fn read_text(path: &Path, shown_path: &Path) -> Result<Parsed, Diagnostic> {
    let bytes = std::fs::read(path)
        .map_err(|e| Diagnostic::at_start(shown_path, format!("cannot read the file: {e}")))?;
    let text = match String::from_utf8(bytes) {
        Ok(t) => t,
        Err(e) => {
            let valid = e.utf8_error().valid_up_to();
            let prefix = String::from_utf8_lossy(&e.as_bytes()[..valid]).into_owned();
            let (line, column) = LineIndex::new(&prefix).locate(prefix.len());
            return Err(Diagnostic {
                path: shown_path.to_path_buf(),
                line,
                column,
                message: "the file is not valid UTF-8 text".into(),
                hint: Some(
                    "save it as UTF-8 (most editors offer this under 'Save as' / 'Encoding')"
                        .into(),
                ),
            });
        }
    };
    let text = text
        .strip_prefix('\u{feff}')
        .map(str::to_string)
        .unwrap_or(text);
    if text.trim().is_empty() {
        return Err(Diagnostic::at_start(shown_path, "the file is empty")
            .with_hint("a scheme file needs at least reference, name and finance; `bcfmon new scheme REF` writes a complete one"));
    }
    Ok(Parsed {
        path: shown_path.to_path_buf(),
        text,
    })
}

/// Parses TOML, turning every syntax error (including duplicate keys) into a diagnostic.
fn parse<'t>(src: &mut Source<'t>, text: &'t str) -> Option<toml::Spanned<DeTable<'t>>> {
    let (table, errors) = DeTable::parse_recoverable(text);
    if errors.is_empty() {
        return Some(table);
    }
    for e in errors {
        let span = e.span().unwrap_or(0..0);
        let message = e
            .message()
            .lines()
            .next()
            .unwrap_or("invalid TOML")
            .trim()
            .to_string();
        let mut message = if message.is_empty() {
            "invalid TOML".to_string()
        } else {
            message
        };
        if message == "duplicate key" {
            // Name the key: the span covers it.
            if let Some(key) = text
                .get(span.clone())
                .map(str::trim)
                .filter(|k| !k.is_empty())
            {
                message = format!("duplicate key `{key}`");
            }
        }
        src.error(&span, format!("TOML syntax: {message}"), None);
    }
    None
}

/// Loads and validates the programme under `root`. Returns every diagnostic on failure.
pub(crate) fn load(root: &Path) -> Result<Programme, Vec<Diagnostic>> {
    let dir = root.join("schemes");
    let programme_path = dir.join("programme.toml");
    let mut diags = Vec::new();
    if !dir.is_dir() {
        return Err(vec![Diagnostic::file(
            &shown(root, "schemes"),
            "there is no schemes/ folder here",
        )
        .with_hint(
            "run bcfmon from the folder that holds schemes/ and data/, or pass --root DIR",
        )]);
    }
    let mut scheme_files: Vec<PathBuf> = match std::fs::read_dir(&dir) {
        Ok(entries) => entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| {
                p.extension().is_some_and(|x| x == "toml")
                    && p.file_name().is_some_and(|n| n != "programme.toml")
            })
            .collect(),
        Err(e) => {
            return Err(vec![Diagnostic::file(
                &shown(root, "schemes"),
                format!("cannot list the folder: {e}"),
            )])
        }
    };
    scheme_files.sort();

    let settings = if programme_path.is_file() {
        match read_text(&programme_path, &shown(root, "schemes/programme.toml")) {
            Ok(p) => {
                let mut src = Source::new(&p.path, &p.text);
                let settings = parse(&mut src, &p.text).and_then(|t| {
                    let span = t.span();
                    settings::read_settings(&mut src, t.get_ref(), &span)
                });
                diags.append(&mut src.diags);
                settings
            }
            Err(d) => {
                diags.push(d);
                None
            }
        }
    } else {
        diags.push(
            Diagnostic::file(
                &shown(root, "schemes/programme.toml"),
                "programme.toml is missing",
            )
            .with_hint(
                "it declares the area, the partners and the data sources that every scheme shares",
            ),
        );
        None
    };

    let mut schemes: Vec<Scheme> = Vec::new();
    let mut refs = Vec::new();
    // Where each reference was first declared, for duplicate messages.
    let mut declared: Vec<(String, PathBuf, usize, usize)> = Vec::new();
    for file in &scheme_files {
        let rel = format!(
            "schemes/{}",
            file.file_name()
                .map(|n| n.to_string_lossy())
                .unwrap_or_default()
        );
        let p = match read_text(file, &shown(root, &rel)) {
            Ok(p) => p,
            Err(d) => {
                diags.push(d);
                continue;
            }
        };
        let mut src = Source::new(&p.path, &p.text);
        if let Some(table) = parse(&mut src, &p.text) {
            if let Some(settings) = &settings {
                let span = table.span();
                let mut file_refs = Vec::new();
                let scheme =
                    scheme::read_scheme(&mut src, settings, table.get_ref(), &span, &mut file_refs);
                if let Some(rv) = reader::get(table.get_ref(), "reference") {
                    if let Some(r) = rv.get_ref().as_str() {
                        let (line, column) = src.locate(&rv.span());
                        if let Some((_, first, l, c)) = declared.iter().find(|(d, ..)| d == r) {
                            let at = format!("{}:{l}:{c}", first.display());
                            src.error(
                                &rv.span(),
                                format!("scheme reference `{r}` is already used by {at}"),
                                Some("each scheme needs its own reference".into()),
                            );
                        } else {
                            declared.push((r.to_string(), p.path.clone(), line, column));
                        }
                    }
                }
                refs.extend(file_refs.into_iter().map(|r| (p.path.clone(), r)));
                if let Some(s) = scheme {
                    schemes.push(s);
                }
            }
        }
        diags.append(&mut src.diags);
    }

    // KPI metric ids that are neither built in nor local to their own file.
    let local_ids: Vec<&str> = schemes
        .iter()
        .flat_map(|s| s.metrics.iter().map(|m| m.id.as_str()))
        .collect();
    for (path, r) in &refs {
        if local_ids.contains(&r.metric.as_str()) {
            continue;
        }
        let mut known: Vec<&str> = crate::metrics::catalogue::CATALOGUE
            .iter()
            .map(|m| m.id)
            .collect();
        known.extend(local_ids.iter().copied());
        let hint = match crate::metrics::catalogue::lookup(&r.metric) {
            Some(def) => format!("`{}` is a published code: use the catalogue id `{}`", r.metric, def.id),
            None => match nearest(&r.metric, known.iter().copied()) {
                Some(n) => format!("did you mean `{n}`? `bcfmon metrics` lists the catalogue"),
                None => "`bcfmon metrics` lists the catalogue; a local metric is declared with [[metric]]".into(),
            },
        };
        diags.push(Diagnostic {
            path: path.clone(),
            line: r.line,
            column: r.column,
            message: format!("unknown metric `{}`", r.metric),
            hint: Some(hint),
        });
    }
    // KPIs that use a local metric of another file take its polarity, and need one for a target.
    let polarities: Vec<(String, crate::catalogue::Polarity)> = schemes
        .iter()
        .flat_map(|s| s.metrics.iter().map(|m| (m.id.clone(), m.polarity)))
        .collect();
    for s in &mut schemes {
        for k in &mut s.kpis {
            if !k.polarity_from_metric || s.metrics.iter().any(|m| m.id == k.metric) {
                continue;
            }
            if let Some((_, p)) = polarities.iter().find(|(id, _)| *id == k.metric) {
                k.polarity = *p;
                if *p == crate::catalogue::Polarity::Neutral
                    && (k.target.is_some() || !k.trajectory.is_empty())
                {
                    // The KPI's metric reference is where the file names it.
                    let (line, column) = refs
                        .iter()
                        .find(|(p, r)| *p == s.file && r.metric == k.metric)
                        .map_or((1, 1), |(_, r)| (r.line, r.column));
                    diags.push(Diagnostic {
                        path: s.file.clone(),
                        line,
                        column,
                        message: format!(
                            "the KPI for `{}` has a target but its metric is neutral",
                            k.metric
                        ),
                        hint: Some(
                            "set polarity = \"high-is-good\" or \"low-is-good\" on the KPI".into(),
                        ),
                    });
                }
            }
        }
    }
    // A local metric id declared in two files is ambiguous.
    let mut seen: Vec<(&Scheme, &LocalMetric)> = Vec::new();
    for s in &schemes {
        for m in &s.metrics {
            if let Some((first_scheme, first)) = seen.iter().find(|(_, f)| f.id == m.id) {
                diags.push(Diagnostic {
                    path: s.file.clone(),
                    line: m.at.0,
                    column: m.at.1,
                    message: format!(
                        "local metric `{}` is also declared in {}:{}:{}",
                        m.id,
                        first_scheme.file.display(),
                        first.at.0,
                        first.at.1
                    ),
                    hint: Some("give one of them another id".into()),
                });
            } else {
                seen.push((s, m));
            }
        }
    }

    // Reading order within a file; files in name order, programme.toml first.
    diags.sort_by(|a, b| {
        let rank = |d: &Diagnostic| {
            (
                !d.path.ends_with("programme.toml"),
                d.path.clone(),
                d.line,
                d.column,
            )
        };
        rank(a).cmp(&rank(b))
    });
    match settings {
        Some(settings) if diags.is_empty() => Ok(Programme {
            root: root.to_path_buf(),
            settings,
            schemes,
        }),
        _ => Err(diags),
    }
}
