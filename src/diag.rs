//! Diagnostics: one problem in one input file, located by line and column, with a hint.
//!
//! Every stage that reads user input reports through `Diagnostic` so that `check`,
//! `compute` and the board pack all speak the same `path:line:column: message` language.

use std::fmt;
use std::path::{Path, PathBuf};

/// One problem found in an input file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Diagnostic {
    /// The file, as the user named it (relative to the root where possible).
    pub path: PathBuf,
    /// 1-based line; 0 when the problem concerns the whole file.
    pub line: usize,
    /// 1-based column in characters; 0 when the problem concerns the whole line or file.
    pub column: usize,
    pub message: String,
    pub hint: Option<String>,
}

impl Diagnostic {
    pub(crate) fn file(path: &Path, message: impl Into<String>) -> Self {
        Diagnostic {
            path: path.to_path_buf(),
            line: 0,
            column: 0,
            message: message.into(),
            hint: None,
        }
    }

    /// A problem with the file's content as a whole (empty, unreadable): placed at its start,
    /// 1:1, so every message about a file's content has the same `path:line:column` form.
    pub(crate) fn at_start(path: &Path, message: impl Into<String>) -> Self {
        Diagnostic {
            line: 1,
            column: 1,
            ..Diagnostic::file(path, message)
        }
    }

    pub(crate) fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let path = self.path.display().to_string().replace('\\', "/");
        match (self.line, self.column) {
            (0, _) => write!(f, "{path}: {}", self.message)?,
            (l, 0) => write!(f, "{path}:{l}: {}", self.message)?,
            (l, c) => write!(f, "{path}:{l}:{c}: {}", self.message)?,
        }
        if let Some(h) = &self.hint {
            write!(f, "\n  hint: {h}")?;
        }
        Ok(())
    }
}

/// Maps byte offsets in a source text to 1-based line and column (columns count characters,
/// not bytes, so a `£` before the error does not shift the caret).
pub(crate) struct LineIndex<'a> {
    text: &'a str,
    starts: Vec<usize>,
}

impl<'a> LineIndex<'a> {
    pub(crate) fn new(text: &'a str) -> Self {
        let mut starts = vec![0];
        starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        LineIndex { text, starts }
    }

    pub(crate) fn locate(&self, offset: usize) -> (usize, usize) {
        let offset = offset.min(self.text.len());
        let line = match self.starts.binary_search(&offset) {
            Ok(i) => i,
            Err(i) => i - 1,
        };
        let start = self.starts[line];
        let mut end = offset;
        while !self.text.is_char_boundary(end) {
            end -= 1;
        }
        let column = self.text[start..end].chars().count() + 1;
        (line + 1, column)
    }
}

/// The known word closest to `word`, if it is close enough to be a plausible typo.
pub(crate) fn nearest<'a>(
    word: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    let lower = word.to_lowercase();
    candidates
        .into_iter()
        .map(|c| (edit_distance(&lower, &c.to_lowercase()), c))
        .filter(|(d, c)| *d <= (c.chars().count() / 3).max(2))
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

/// Levenshtein distance over characters.
pub(crate) fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            cur[j + 1] = (prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locates_lines_and_character_columns() {
        let idx = LineIndex::new("a = 1\nb = \"£x\"\n");
        assert_eq!(idx.locate(0), (1, 1));
        assert_eq!(idx.locate(6), (2, 1));
        // byte 13 is the `x` after the two-byte `£`: the 7th character of line 2.
        assert_eq!(idx.locate(13), (2, 7));
    }

    #[test]
    fn suggests_close_words_only() {
        let keys = ["fund_manager", "name", "reference"];
        assert_eq!(nearest("fund_manger", keys), Some("fund_manager"));
        assert_eq!(nearest("colour", keys), None);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
    }

    #[test]
    fn displays_path_line_column_and_hint() {
        let d = Diagnostic {
            path: "schemes/A.toml".into(),
            line: 3,
            column: 5,
            message: "unknown key `nme`".into(),
            hint: Some("did you mean `name`?".into()),
        };
        assert_eq!(
            d.to_string(),
            "schemes/A.toml:3:5: unknown key `nme`\n  hint: did you mean `name`?"
        );
    }
}
