//! Rows partitioned by area: held in memory up to a budget, then appended to one temporary
//! file per area, so a national extract is validated in one streaming pass and computed a
//! batch of areas at a time with memory bounded by the batch, not the file (every metric is
//! area-local: the person key includes `LA_Code`). The events and the discharges, the
//! extracts that grow with the population, are partitioned.

use super::events::{CLOSED, OPEN};
use super::Loc;
use std::io::{Read, Write};

/// A row as its extract's partitions store it.
pub(crate) trait Record: Sized {
    fn write(&self, out: &mut Vec<u8>);
    /// Reads one record from the front of `b`, advancing it.
    fn read(b: &mut &[u8]) -> Self;
}

/// Takes `n` bytes from the front of `b`.
pub(crate) fn take<'a>(b: &mut &'a [u8], n: usize) -> &'a [u8] {
    let (head, rest) = b.split_at(n);
    *b = rest;
    head
}

/// Writes optional text: its length (`u16::MAX` for none), then its bytes.
pub(crate) fn write_text(out: &mut Vec<u8>, v: Option<&str>) {
    match v {
        Some(v) => {
            // Codes and identifiers are short; a longer value is cut at a character
            // boundary within the limit rather than corrupting the record.
            let mut end = v.len().min(u16::MAX as usize - 1);
            while !v.is_char_boundary(end) {
                end -= 1;
            }
            out.extend_from_slice(&(end as u16).to_le_bytes());
            out.extend_from_slice(&v.as_bytes()[..end]);
        }
        None => out.extend_from_slice(&u16::MAX.to_le_bytes()),
    }
}

/// Reads what `write_text` wrote.
pub(crate) fn read_text(b: &mut &[u8]) -> Option<String> {
    let n = u16::from_le_bytes(take(b, 2).try_into().expect("2 bytes"));
    (n != u16::MAX).then(|| String::from_utf8_lossy(take(b, n as usize)).into_owned())
}

/// A location as 8 bytes (`Loc::to_bits`).
pub(crate) fn write_loc(out: &mut Vec<u8>, loc: Loc) {
    out.extend_from_slice(&loc.to_bits().to_le_bytes());
}

/// Reads what `write_loc` wrote.
pub(crate) fn read_loc(b: &mut &[u8]) -> Loc {
    Loc::from_bits(u64::from_le_bytes(take(b, 8).try_into().expect("8 bytes")))
}

/// Writes an optional day number (`i32::MIN` for none).
pub(crate) fn write_day(out: &mut Vec<u8>, d: Option<i32>) {
    out.extend_from_slice(&d.unwrap_or(i32::MIN).to_le_bytes());
}

/// Reads what `write_day` wrote.
pub(crate) fn read_day(b: &mut &[u8]) -> Option<i32> {
    Some(i32::from_le_bytes(take(b, 4).try_into().expect("4 bytes"))).filter(|d| *d != i32::MIN)
}

/// One accepted event row as the row pass leaves it: typed, before duplicates (W03) and
/// person details (W07) are settled, which need all of an area's rows.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Row {
    /// Where the row is (its file among the extract's files, then its line or row).
    pub loc: Loc,
    /// `events::person_key` of the row.
    pub key: u128,
    pub has_nhs_number: bool,
    pub birth: Option<i32>,
    pub death: Option<i32>,
    pub start: Option<i32>,
    pub end: Option<i32>,
    pub closed: [u8; CLOSED.len()],
    pub open: [u32; OPEN.len()],
    /// The fingerprint of every field, for W03.
    pub hash: u64,
}

impl Record for Row {
    fn write(&self, out: &mut Vec<u8>) {
        write_loc(out, self.loc);
        out.extend_from_slice(&self.key.to_le_bytes());
        out.push(u8::from(self.has_nhs_number));
        for d in [self.birth, self.death, self.start, self.end] {
            write_day(out, d);
        }
        out.extend_from_slice(&self.closed);
        for k in self.open {
            out.extend_from_slice(&k.to_le_bytes());
        }
        out.extend_from_slice(&self.hash.to_le_bytes());
    }

    fn read(b: &mut &[u8]) -> Row {
        let loc = read_loc(b);
        let key = u128::from_le_bytes(take(b, 16).try_into().expect("16 bytes"));
        let has_nhs_number = take(b, 1)[0] != 0;
        let (birth, death, start, end) = (read_day(b), read_day(b), read_day(b), read_day(b));
        let closed = take(b, CLOSED.len()).try_into().expect("closed codes");
        let mut open = [0; OPEN.len()];
        for k in &mut open {
            *k = u32::from_le_bytes(take(b, 4).try_into().expect("4 bytes"));
        }
        let hash = u64::from_le_bytes(take(b, 8).try_into().expect("8 bytes"));
        Row {
            loc,
            key,
            has_nhs_number,
            birth,
            death,
            start,
            end,
            closed,
            open,
            hash,
        }
    }
}

/// How many bytes of an extract's rows are held in memory before they are written out
/// (about 850,000 event rows; more saves no time, the files being appended in large
/// writes).
/// `BCFMON_SPILL_BYTES` sets another budget (the tests force the files with a small one).
fn budget() -> usize {
    std::env::var("BCFMON_SPILL_BYTES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(64 << 20)
}

/// Rows by area (the area's key, from 0, in order of first appearance), in file order
/// within each area.
pub(crate) struct Partitions<R> {
    held: Vec<Vec<u8>>,
    held_bytes: usize,
    budget: usize,
    /// The folder of the spilled rows (removed when the partitions are dropped) and each
    /// area's file, once the budget has been passed.
    spilled: Option<(tempfile::TempDir, Vec<Option<std::fs::File>>)>,
    rows: Vec<usize>,
    record: std::marker::PhantomData<R>,
}

impl<R: Record> Partitions<R> {
    pub(crate) fn new() -> Partitions<R> {
        Partitions {
            held: Vec::new(),
            held_bytes: 0,
            budget: budget(),
            spilled: None,
            rows: Vec::new(),
            record: std::marker::PhantomData,
        }
    }

    /// Rows of each area.
    pub(crate) fn rows(&self) -> &[usize] {
        &self.rows
    }

    /// Adds a row to an area's partition, writing every area's held rows out when the
    /// budget is passed.
    pub(crate) fn push(&mut self, area: usize, row: &R) -> Result<(), String> {
        if self.held.len() <= area {
            self.held.resize_with(area + 1, Vec::new);
            self.rows.resize(area + 1, 0);
        }
        let before = self.held[area].len();
        row.write(&mut self.held[area]);
        self.rows[area] += 1;
        self.held_bytes += self.held[area].len() - before;
        if self.held_bytes > self.budget {
            self.spill()?;
        }
        Ok(())
    }

    fn spill(&mut self) -> Result<(), String> {
        let why = |e: std::io::Error| format!("cannot write the partitioned rows: {e}");
        if self.spilled.is_none() {
            let dir = tempfile::Builder::new()
                .prefix("bcfmon-events-")
                .tempdir()
                .map_err(why)?;
            self.spilled = Some((dir, Vec::new()));
        }
        let (dir, files) = self.spilled.as_mut().expect("made above");
        files.resize_with(self.held.len(), || None);
        for (area, held) in self.held.iter_mut().enumerate() {
            if held.is_empty() {
                continue;
            }
            if files[area].is_none() {
                files[area] = Some(
                    std::fs::File::create(dir.path().join(format!("{area}.rows"))).map_err(why)?,
                );
            }
            files[area]
                .as_mut()
                .expect("opened above")
                .write_all(held)
                .map_err(why)?;
            held.clear();
            held.shrink_to_fit();
        }
        self.held_bytes = 0;
        Ok(())
    }

    /// Every row of an area, in file order.
    pub(crate) fn area(&self, area: usize) -> Result<Vec<R>, String> {
        let mut bytes = Vec::new();
        if let Some((dir, files)) = &self.spilled {
            if files.get(area).is_some_and(Option::is_some) {
                std::fs::File::open(dir.path().join(format!("{area}.rows")))
                    .and_then(|mut f| f.read_to_end(&mut bytes))
                    .map_err(|e| format!("cannot read the partitioned rows back: {e}"))?;
            }
        }
        if let Some(held) = self.held.get(area) {
            bytes.extend_from_slice(held);
        }
        let mut rows = Vec::with_capacity(self.rows.get(area).copied().unwrap_or(0));
        let mut rest = &bytes[..];
        while !rest.is_empty() {
            rows.push(R::read(&mut rest));
        }
        Ok(rows)
    }

    /// Whether rows went to files (the budget was passed).
    #[cfg(test)]
    fn spilled(&self) -> bool {
        self.spilled.is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(n: u64) -> Row {
        Row {
            loc: if n.is_multiple_of(2) {
                Loc::Line(n)
            } else {
                Loc::Row(n)
            },
            key: (n as u128) << 70 | 7,
            has_nhs_number: n.is_multiple_of(3),
            birth: Some(-3000),
            death: None,
            start: Some(19_000 + n as i32),
            end: n.is_multiple_of(2).then_some(19_500),
            closed: [1, 2, 3, 4, 255, 0],
            open: [0, 9, 70_000, 1, n as u32],
            hash: u64::MAX - n,
        }
    }

    #[test]
    fn rows_read_back_as_written_in_memory_and_spilled() {
        let mut bytes = Vec::new();
        row(5).write(&mut bytes);
        let record = bytes.len();
        assert_eq!(Row::read(&mut &bytes[..]), row(5));
        // A budget of three records spills on the fourth push; the rest stay held.
        let mut p = Partitions::new();
        p.budget = 3 * record;
        for n in 0..10 {
            p.push((n % 2) as usize, &row(n)).expect("pushed");
        }
        assert!(p.spilled());
        assert_eq!(p.rows(), &[5, 5]);
        let odd: Vec<Row> = (0..10).filter(|n| n % 2 == 1).map(row).collect();
        assert_eq!(p.area(1).expect("read"), odd);
    }
}
