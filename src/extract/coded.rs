//! A Parquet file of text columns read as codes: each distinct value of a column chunk's
//! dictionary is decoded once, and each row is a number into the values, so that a loader can
//! judge a value once per spelling instead of once per row.
//!
//! polars' reader turns every dictionary code back into its text (a view per cell), and the
//! loaders then looked each cell's text up again to validate it: on a 4.1M-row events file
//! that was most of the load. Files this reader does not take (a typed or nested column, an
//! encoding other than plain or dictionary, anything it cannot decode) are read by polars as
//! before, slice by slice; both give each row the same texts.

use polars_buffer::Buffer;
use polars_parquet::parquet::encoding::hybrid_rle::{HybridRleChunk, HybridRleDecoder};
use polars_parquet::parquet::encoding::Encoding;
use polars_parquet::parquet::metadata::{ColumnChunkMetadata, FileMetadata};
use polars_parquet::parquet::page::{split_buffer, DataPageHeader};
use polars_parquet::parquet::read::{BasicDecompressor, PageReader};
use polars_parquet::parquet::schema::types::{
    PhysicalType, PrimitiveConvertedType, PrimitiveLogicalType,
};
use std::io::{Read, Seek, SeekFrom};
use std::ops::Range;

/// What each value of a coded column (`Chunk::coded`) reads as, judged the first time a
/// loader's share of a chunk meets it: a column's values repeat on almost every row. A column
/// not read as codes, or with more values than a quarter of the rows (identifiers), is judged
/// on every row.
pub(crate) struct Seen<T>(Vec<Option<T>>);

impl<T: Copy> Seen<T> {
    pub(crate) fn new(distinct: Option<usize>, rows: usize) -> Self {
        Seen(match distinct {
            Some(d) if d <= rows / 4 => vec![None; d],
            _ => Vec::new(),
        })
    }

    pub(crate) fn get(&mut self, code: Option<u32>, judge: impl FnOnce() -> T) -> T {
        match code.and_then(|c| self.0.get_mut(c as usize)) {
            Some(Some(t)) => *t,
            Some(slot) => *slot.insert(judge()),
            None => judge(),
        }
    }
}

/// A date field as a memo (`Seen`) holds it: the error's message is made again when it is
/// needed (rarely), so a memo of dates stays small and copyable.
#[derive(Clone, Copy)]
pub(crate) enum DateRead {
    Null,
    Day(chrono::NaiveDate),
    Bad,
}

impl Seen<DateRead> {
    /// A date field's value as `parse_date` reads its `text` (`None` when null), judged once
    /// per code. The text is looked up only when the code is not yet judged: on most rows
    /// every date is a repeat, and six lookups a row were a tenth of the events' row pass.
    pub(crate) fn date<'t>(
        &mut self,
        code: Option<u32>,
        text: impl Fn() -> &'t str,
        format: crate::programme::DateFormat,
    ) -> Option<Result<chrono::NaiveDate, String>> {
        use super::values::{null, parse_date};
        let parse = || null(text()).map(|v| parse_date(v, format));
        let read = || match parse() {
            None => DateRead::Null,
            Some(Ok(d)) => DateRead::Day(d),
            Some(Err(_)) => DateRead::Bad,
        };
        match self.get(code, read) {
            DateRead::Null => None,
            DateRead::Day(d) => Some(Ok(d)),
            DateRead::Bad => parse(),
        }
    }
}

/// One text column over a run of rows: its values, and each row's as a number into them.
/// Value 0 is a null (read as ""); the others are the column chunks' dictionary entries and
/// plain-encoded values, in file order (a value may appear more than once: each chunk has
/// its own dictionary).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Coded {
    text: String,
    /// Value `v` is `text[bounds[v]..bounds[v + 1]]`.
    bounds: Vec<usize>,
    ids: Vec<u32>,
}

impl Coded {
    fn new() -> Coded {
        Coded {
            text: String::new(),
            bounds: vec![0, 0],
            ids: Vec::new(),
        }
    }

    /// A column of one value on every row (a hive partition's `KEY=VALUE`).
    pub(crate) fn constant(value: &str, rows: usize) -> Coded {
        let mut c = Coded::new();
        c.text.push_str(value);
        c.bounds.push(c.text.len());
        c.ids = vec![1; rows];
        c
    }

    /// A column of these texts, as a Parquet column with one dictionary reads ("" a null).
    #[cfg(test)]
    pub(crate) fn of_texts(texts: &[&str]) -> Coded {
        let mut c = Coded::new();
        let mut codes = std::collections::HashMap::new();
        for t in texts {
            let code = match *t {
                "" => 0,
                t => *codes
                    .entry(t)
                    .or_insert_with(|| c.push(t.as_bytes()).expect("UTF-8")),
            };
            c.ids.push(code);
        }
        c
    }

    /// How many values the codes number (codes are below this).
    pub(crate) fn distinct(&self) -> usize {
        self.bounds.len() - 1
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.ids.len()
    }

    /// Row `row`'s code.
    pub(crate) fn code(&self, row: usize) -> u32 {
        self.ids[row]
    }

    /// Every row's code, in order.
    pub(crate) fn codes(&self) -> &[u32] {
        &self.ids
    }

    /// The text of a code.
    pub(crate) fn value(&self, code: u32) -> &str {
        let v = code as usize;
        &self.text[self.bounds[v]..self.bounds[v + 1]]
    }

    /// Row `row`'s text ("" for a null).
    pub(crate) fn text(&self, row: usize) -> &str {
        self.value(self.ids[row])
    }

    /// Adds a value; `None` when it is not UTF-8.
    fn push(&mut self, bytes: &[u8]) -> Option<u32> {
        self.text.push_str(std::str::from_utf8(bytes).ok()?);
        self.bounds.push(self.text.len());
        Some((self.bounds.len() - 2) as u32)
    }
}

/// Whether every column of the file is a top-level text column this reader can take.
pub(crate) fn readable(meta: &FileMetadata) -> bool {
    let columns = meta.schema().columns();
    columns.len() == meta.schema().fields().len()
        && columns.iter().all(|c| {
            let d = &c.descriptor;
            let t = &d.primitive_type;
            c.path_in_schema.len() == 1
                && d.max_rep_level == 0
                && d.max_def_level <= 1
                && t.physical_type == PhysicalType::ByteArray
                && (matches!(t.logical_type, Some(PrimitiveLogicalType::String))
                    || matches!(t.converted_type, Some(PrimitiveConvertedType::Utf8)))
        })
        && meta
            .row_groups
            .iter()
            .all(|g| g.parquet_columns().len() == columns.len())
}

/// The column names, in the file's order.
pub(crate) fn names(meta: &FileMetadata) -> Vec<String> {
    meta.schema()
        .columns()
        .iter()
        .map(|c| c.path_in_schema[0].to_string())
        .collect()
}

/// Every column of row groups `groups`, read as codes (side by side); `None` when this reader
/// cannot take them (the caller reads them with polars, which names any fault).
pub(crate) fn read(
    file: &mut std::fs::File,
    meta: &FileMetadata,
    groups: Range<usize>,
) -> Option<Vec<Coded>> {
    use rayon::prelude::*;
    let groups = &meta.row_groups[groups];
    // The groups' bytes in one read: the column chunks are sliced from it without a copy.
    let ranges = groups
        .iter()
        .flat_map(|g| g.parquet_columns().iter().map(|c| c.byte_range()));
    let (lo, hi) = ranges.fold((u64::MAX, 0), |(lo, hi), r| {
        (lo.min(r.start), hi.max(r.end))
    });
    let mut bytes = Vec::new();
    if lo < hi {
        file.seek(SeekFrom::Start(lo)).ok()?;
        bytes.resize((hi - lo) as usize, 0);
        file.read_exact(&mut bytes).ok()?;
    }
    let bytes = Buffer::from(bytes);
    let width = meta.schema().columns().len();
    (0..width)
        .into_par_iter()
        .map(|k| {
            let mut column = Coded::new();
            for g in groups {
                let chunk = &g.parquet_columns()[k];
                let r = chunk.byte_range();
                let part = bytes
                    .clone()
                    .sliced((r.start - lo) as usize..(r.end - lo) as usize);
                read_chunk(part, chunk, g.num_rows(), &mut column)?;
            }
            Some(column)
        })
        .collect()
}

/// Appends one column chunk of `rows` rows to `out`.
fn read_chunk(
    bytes: Buffer<u8>,
    meta: &ColumnChunkMetadata,
    rows: usize,
    out: &mut Coded,
) -> Option<()> {
    let reader = PageReader::new(std::io::Cursor::new(bytes), meta, Vec::new(), usize::MAX);
    let mut pages = BasicDecompressor::new(reader, Vec::new());
    let optional = meta.descriptor().descriptor.max_def_level == 1;
    // The chunk's dictionary entries are codes `first..first + size`.
    let first = out.bounds.len() as u32 - 1;
    let size = match pages.read_dict_page().ok()? {
        Some(dict) => {
            let mut values = &dict.buffer[..];
            for _ in 0..dict.num_values {
                out.push(plain_value(&mut values)?)?;
            }
            dict.num_values as u32
        }
        None => 0,
    };
    let start = out.ids.len();
    let mut valid: Vec<u32> = Vec::new();
    while let Some(item) = pages.next() {
        let page = item.ok()?.decompress(&mut pages).ok()?;
        let n = page.num_values();
        // A page of more values than the chunk has rows left is damaged (and is not
        // allocated for): polars reads the file and names the fault.
        if n > rows - (out.ids.len() - start) {
            return None;
        }
        if let DataPageHeader::V1(_) = page.header() {
            if optional && page.definition_level_encoding() != Encoding::Rle {
                return None;
            }
        }
        let split = split_buffer(&page).ok()?;
        let present = if optional {
            // The definition levels into the buffer of the page before.
            valid.clear();
            decode_onto(HybridRleDecoder::new(split.def, 1, n), &mut valid)?;
            if valid.len() != n {
                return None;
            }
            valid.iter().filter(|v| **v == 1).count()
        } else {
            n
        };
        // The page's values go straight onto the column's codes (the present ones first,
        // then spread to their rows below): a page was decoded into a buffer of its own and
        // copied on, a cell at a time, which was a tenth of reading the events.
        let at = out.ids.len();
        match page.encoding() {
            Encoding::PlainDictionary | Encoding::RleDictionary => {
                let (&width, indices) = split.values.split_first()?;
                let indices = HybridRleDecoder::new(indices, u32::from(width), present);
                decode_onto(indices, &mut out.ids)?;
                let codes = &mut out.ids[at..];
                if codes.len() != present || codes.iter().any(|c| *c >= size) {
                    return None;
                }
                codes.iter_mut().for_each(|c| *c += first);
            }
            Encoding::Plain => {
                let mut values = split.values;
                for _ in 0..present {
                    let code = out.push(plain_value(&mut values)?)?;
                    out.ids.push(code);
                }
            }
            _ => return None,
        }
        if present < n {
            // Each present value moved to its row, from the last back (a row is never
            // before its value, so nothing is overwritten before it is moved); a null is 0.
            out.ids.resize(at + n, 0);
            let mut next = at + present;
            for (row, v) in valid.iter().enumerate().rev() {
                out.ids[at + row] = if *v == 1 {
                    next -= 1;
                    out.ids[next]
                } else {
                    0
                };
            }
        }
        pages.reuse_page_buffer(page);
    }
    (out.ids.len() - start == rows).then_some(())
}

/// Appends what `decoder` holds to `out`, run by run, as polars' `collect` decodes it but
/// onto a Vec already there (a page's codes onto their column, its levels into the buffer
/// of the page before) instead of a new one per page; `None` where the data is damaged.
fn decode_onto(mut decoder: HybridRleDecoder<'_>, out: &mut Vec<u32>) -> Option<()> {
    while let Some(chunk) = decoder.next_chunk().ok()? {
        match chunk {
            HybridRleChunk::Rle(value, length) => out.resize(out.len() + length, value),
            HybridRleChunk::Bitpacked(values) => values.collect_into(out),
        }
    }
    Some(())
}

/// The next plain-encoded byte array: a 4-byte little-endian length, then the bytes.
fn plain_value<'b>(values: &mut &'b [u8]) -> Option<&'b [u8]> {
    let (len, rest) = values.split_first_chunk::<4>()?;
    let (value, rest) = rest.split_at_checked(u32::from_le_bytes(*len) as usize)?;
    *values = rest;
    Some(value)
}

#[cfg(test)]
mod tests {
    use super::*;
    use polars::prelude::*;

    /// A file written by polars (dictionary pages, nulls, several row groups) reads as the
    /// same texts as polars reads it.
    #[test]
    fn codes_read_as_the_texts_polars_reads() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.parquet");
        let n = 10_000;
        let mut df = df!(
            "few" => (0..n).map(|i| ["Service", "Review", "Assessment"][i % 3]).collect::<Vec<_>>(),
            "many" => (0..n).map(|i| if i % 7 == 0 { None } else { Some(format!("person {i}")) }).collect::<Vec<_>>(),
            "empty" => (0..n).map(|i| if i % 2 == 0 { Some("") } else { None }).collect::<Vec<_>>(),
        )
        .unwrap();
        let file = std::fs::File::create(&path).unwrap();
        ParquetWriter::new(file)
            .with_row_group_size(Some(3_000))
            .finish(&mut df)
            .unwrap();
        let mut file = std::fs::File::open(&path).unwrap();
        let meta = polars_parquet::parquet::read::read_metadata(&mut file).unwrap();
        assert!(readable(&meta));
        assert_eq!(names(&meta), ["few", "many", "empty"]);
        assert!(meta.row_groups.len() >= 2, "several row groups");
        let columns = read(&mut file, &meta, 0..meta.row_groups.len()).unwrap();
        for (k, name) in ["few", "many", "empty"].iter().enumerate() {
            let ca = df.column(name).unwrap().str().unwrap().clone();
            assert_eq!(columns[k].len(), n);
            for (i, v) in ca.iter().enumerate() {
                assert_eq!(columns[k].text(i), v.unwrap_or(""), "{name} row {i}");
            }
        }
        // Three spellings in each row group's dictionary (and the null), not one per row.
        assert_eq!(columns[0].distinct(), 1 + 3 * meta.row_groups.len());
    }

    /// A typed column is left to polars.
    #[test]
    fn a_typed_column_is_not_read_as_codes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.parquet");
        let mut df = df!("a" => ["x", "y"], "b" => [1i64, 2]).unwrap();
        ParquetWriter::new(std::fs::File::create(&path).unwrap())
            .finish(&mut df)
            .unwrap();
        let mut file = std::fs::File::open(&path).unwrap();
        let meta = polars_parquet::parquet::read::read_metadata(&mut file).unwrap();
        assert!(!readable(&meta));
    }
}
