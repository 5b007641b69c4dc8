//! A reader over a parsed TOML document that keeps every value's position, so that
//! validation can report *all* problems as `path:line:column` rather than stopping at the first.

use crate::diag::{nearest, Diagnostic, LineIndex};
use std::ops::Range;
use std::path::{Path, PathBuf};
use toml::de::{DeTable, DeValue};
use toml::Spanned;

pub(super) type Span = Range<usize>;
pub(super) type Value<'i> = Spanned<DeValue<'i>>;

/// One TOML file being validated: its path, text positions, and the problems found so far.
pub(crate) struct Source<'t> {
    pub path: PathBuf,
    index: LineIndex<'t>,
    pub diags: Vec<Diagnostic>,
}

impl<'t> Source<'t> {
    pub(crate) fn new(path: &Path, text: &'t str) -> Self {
        Source {
            path: path.to_path_buf(),
            index: LineIndex::new(text),
            diags: Vec::new(),
        }
    }

    pub(crate) fn locate(&self, span: &Span) -> (usize, usize) {
        self.index.locate(span.start)
    }

    pub(crate) fn error(&mut self, span: &Span, message: impl Into<String>, hint: Option<String>) {
        let (line, column) = self.index.locate(span.start);
        self.diags.push(Diagnostic {
            path: self.path.clone(),
            line,
            column,
            message: message.into(),
            hint,
        });
    }

    /// Refuses keys that are not in `allowed`, suggesting the nearest allowed key.
    pub(crate) fn check_keys(&mut self, table: &DeTable<'_>, allowed: &[&str], where_: &str) {
        for (key, _) in table.iter() {
            let k: &str = key.get_ref();
            if !allowed.contains(&k) {
                let hint = match nearest(k, allowed.iter().copied()) {
                    Some(n) => format!("did you mean `{n}`?"),
                    None => format!("the keys allowed {where_} are: {}", allowed.join(", ")),
                };
                self.error(
                    &key.span(),
                    format!("unknown key `{k}` {where_}"),
                    Some(hint),
                );
            }
        }
    }

    pub(crate) fn missing(&mut self, span: &Span, key: &str, where_: &str, hint: Option<String>) {
        self.error(span, format!("missing required key `{key}` {where_}"), hint);
    }

    fn wrong_type(&mut self, v: &Value<'_>, key: &str, expected: &str) {
        self.error(
            &v.span(),
            format!(
                "`{key}` must be {expected}, found {}",
                describe(v.get_ref())
            ),
            None,
        );
    }

    /// A string value, or a type error.
    pub(crate) fn string(&mut self, v: &Value<'_>, key: &str) -> Option<String> {
        match v.get_ref() {
            // The scaffold's "<...>" placeholders must be filled in before a scheme is valid.
            DeValue::String(s) if s.trim().starts_with('<') && s.trim().ends_with('>') => {
                self.error(
                    &v.span(),
                    format!("`{key}` still holds the placeholder \"{s}\""),
                    Some("replace it with the real value".into()),
                );
                None
            }
            DeValue::String(s) => Some(s.to_string()),
            _ => {
                self.wrong_type(v, key, "a string");
                None
            }
        }
    }

    pub(crate) fn boolean(&mut self, v: &Value<'_>, key: &str) -> Option<bool> {
        match v.get_ref() {
            DeValue::Boolean(b) => Some(*b),
            _ => {
                self.wrong_type(v, key, "true or false");
                None
            }
        }
    }

    /// A number: a TOML integer or float (KPI values are measurements, not money).
    pub(crate) fn number(&mut self, v: &Value<'_>, key: &str) -> Option<f64> {
        let parsed = match v.get_ref() {
            DeValue::Integer(i) => i64::from_str_radix(i.as_str(), i.radix())
                .ok()
                .map(|n| n as f64),
            DeValue::Float(f) => f.as_str().parse::<f64>().ok().filter(|x| x.is_finite()),
            _ => {
                self.wrong_type(v, key, "a number");
                return None;
            }
        };
        if parsed.is_none() {
            self.error(&v.span(), format!("`{key}` must be a finite number"), None);
        }
        parsed
    }

    /// A whole number.
    pub(crate) fn integer(&mut self, v: &Value<'_>, key: &str) -> Option<i64> {
        match v.get_ref() {
            DeValue::Integer(i) => {
                let n = i64::from_str_radix(i.as_str(), i.radix()).ok();
                if n.is_none() {
                    self.error(&v.span(), format!("`{key}` is too large"), None);
                }
                n
            }
            _ => {
                self.wrong_type(v, key, "a whole number");
                None
            }
        }
    }

    pub(crate) fn table<'a, 'i>(&mut self, v: &'a Value<'i>, key: &str) -> Option<&'a DeTable<'i>> {
        match v.get_ref() {
            DeValue::Table(t) => Some(t),
            _ => {
                self.wrong_type(v, key, "a table");
                None
            }
        }
    }

    pub(crate) fn array<'a, 'i>(&mut self, v: &'a Value<'i>, key: &str) -> Option<&'a [Value<'i>]> {
        match v.get_ref() {
            DeValue::Array(a) => Some(a),
            _ => {
                self.wrong_type(v, key, "an array");
                None
            }
        }
    }

    /// A list of tables, written either as `[[key]]` sections or as an inline array.
    pub(crate) fn tables<'a, 'i>(
        &mut self,
        v: &'a Value<'i>,
        key: &str,
    ) -> Vec<(&'a DeTable<'i>, Span)> {
        let Some(items) = self.array(v, key) else {
            return Vec::new();
        };
        items
            .iter()
            .filter_map(|item| self.table(item, key).map(|t| (t, item.span())))
            .collect()
    }

    pub(crate) fn strings(&mut self, v: &Value<'_>, key: &str) -> Vec<(String, Span)> {
        let Some(items) = self.array(v, key) else {
            return Vec::new();
        };
        items
            .iter()
            .filter_map(|item| self.string(item, key).map(|s| (s, item.span())))
            .collect()
    }

    /// A string from a closed vocabulary, with the allowed values as the hint.
    pub(crate) fn choice<T>(
        &mut self,
        v: &Value<'_>,
        key: &str,
        allowed: &[&str],
        parse: impl Fn(&str) -> Option<T>,
    ) -> Option<T> {
        let s = self.string(v, key)?;
        match parse(&s) {
            Some(t) => Some(t),
            None => {
                let mut hint = format!("allowed values: {}", allowed.join(", "));
                if let Some(n) = nearest(&s, allowed.iter().copied()) {
                    hint = format!("did you mean `{n}`? ({hint})");
                }
                self.error(
                    &v.span(),
                    format!("`{s}` is not a valid `{key}`"),
                    Some(hint),
                );
                None
            }
        }
    }
}

/// Looks a key up in a table.
pub(super) fn get<'a, 'i>(table: &'a DeTable<'i>, key: &str) -> Option<&'a Value<'i>> {
    table
        .iter()
        .find(|(k, _)| k.get_ref() == key)
        .map(|(_, v)| v)
}

/// The span of a key within its table, for "missing key" messages that point at the table.
pub(super) fn key_span(table: &DeTable<'_>, key: &str) -> Option<Span> {
    table
        .iter()
        .find(|(k, _)| k.get_ref() == key)
        .map(|(k, _)| k.span())
}

fn describe(v: &DeValue<'_>) -> String {
    match v {
        DeValue::String(s) => format!("the string \"{}\"", truncate(s, 40)),
        DeValue::Integer(i) => format!("the integer {i}"),
        DeValue::Float(f) => format!("the float {f}"),
        DeValue::Boolean(b) => format!("the boolean {b}"),
        DeValue::Datetime(d) => format!("the date {d}"),
        DeValue::Array(_) => "an array".to_string(),
        DeValue::Table(_) => "a table".to_string(),
    }
}

pub(super) fn truncate(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        format!("{}…", s.chars().take(n).collect::<String>())
    }
}
