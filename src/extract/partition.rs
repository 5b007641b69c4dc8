//! Rows partitioned by area: held in memory up to a budget, then appended to one temporary
//! file per area, so a national extract is validated in one streaming pass and computed a
//! batch of areas at a time with memory bounded by the batch, not the file (every metric is
//! area-local: the person key includes `LA_Code`). The events and the discharges, the
//! extracts that grow with the population, are partitioned; each defines its own record.

use super::Loc;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

/// A temporary folder of spilled rows (`bcfmon-rows-…` in `TMPDIR`), removed when dropped,
/// and known to the process while it lives (`remove_spill_folders`): a command that leaves
/// its run to the process's exit drops nothing, and the system would not remove them.
struct SpillFolder(tempfile::TempDir);

/// The spill folders alive in the process, whatever holds them.
static LIVE: std::sync::Mutex<Vec<PathBuf>> = std::sync::Mutex::new(Vec::new());

impl SpillFolder {
    fn new() -> std::io::Result<SpillFolder> {
        let dir = tempfile::Builder::new().prefix("bcfmon-rows-").tempdir()?;
        live().push(dir.path().to_path_buf());
        Ok(SpillFolder(dir))
    }

    fn path(&self) -> &Path {
        self.0.path()
    }
}

impl Drop for SpillFolder {
    /// No longer alive (the TempDir removes it next).
    fn drop(&mut self) {
        live().retain(|p| p != self.0.path());
    }
}

/// The live list (nothing panics while holding it, so a poisoned one is still whole).
fn live() -> std::sync::MutexGuard<'static, Vec<PathBuf>> {
    LIVE.lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Removes every spill folder alive in the process, for a command about to exit without
/// dropping what holds them; gives each folder that could not be removed, with why.
pub(crate) fn remove_spill_folders() -> Vec<(PathBuf, std::io::Error)> {
    live()
        .drain(..)
        .filter_map(|folder| std::fs::remove_dir_all(&folder).err().map(|e| (folder, e)))
        .collect()
}

/// A row as its extract's partitions store it. A record read may borrow its text from the
/// stored bytes (`'a`), so an area's rows become columns without a string made per field.
pub(crate) trait Record<'a>: Sized + Send {
    /// The size of every record, when all have one (no text): its fields then lie at fixed
    /// places, and a record can be read where it lies (`Stored::each`).
    const SIZE: Option<usize> = None;
    fn write(&self, out: &mut Vec<u8>);
    /// Reads one record from the front of `b`, advancing it.
    fn read(b: &mut &'a [u8]) -> Self;
}

/// Takes `n` bytes from the front of `b`.
pub(crate) fn take<'a>(b: &mut &'a [u8], n: usize) -> &'a [u8] {
    let (head, rest) = b.split_at(n);
    *b = rest;
    head
}

/// Writes optional text: its length (`u32::MAX` for none), then its bytes.
pub(crate) fn write_text(out: &mut Vec<u8>, v: Option<&str>) {
    match v {
        Some(v) => {
            out.extend_from_slice(&(v.len() as u32).to_le_bytes());
            out.extend_from_slice(v.as_bytes());
        }
        None => out.extend_from_slice(&u32::MAX.to_le_bytes()),
    }
}

/// Reads what `write_text` wrote, borrowed from the stored bytes (written from text, so
/// valid UTF-8; a damaged temporary file reads as an empty value, never a panic).
pub(crate) fn read_text<'a>(b: &mut &'a [u8]) -> Option<&'a str> {
    let n = read_u32(b);
    (n != u32::MAX).then(|| std::str::from_utf8(take(b, n as usize)).unwrap_or_default())
}

/// Reads a little-endian `u32`.
pub(crate) fn read_u32(b: &mut &[u8]) -> u32 {
    u32::from_le_bytes(take(b, 4).try_into().expect("4 bytes"))
}

/// Reads a little-endian `u128` (a person key).
pub(crate) fn read_u128(b: &mut &[u8]) -> u128 {
    u128::from_le_bytes(take(b, 16).try_into().expect("16 bytes"))
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
    out.extend_from_slice(&day_bytes(d));
}

/// The bytes `write_day` writes.
pub(crate) fn day_bytes(d: Option<i32>) -> [u8; 4] {
    d.unwrap_or(i32::MIN).to_le_bytes()
}

/// Reads what `write_day` wrote.
pub(crate) fn read_day(b: &mut &[u8]) -> Option<i32> {
    Some(read_u32(b) as i32).filter(|d| *d != i32::MIN)
}

/// Keys for the values of a column, numbered from 1 in order of first appearance (0 is the
/// empty value): the areas of a partitioned extract, and the events' open-list dictionaries.
pub(crate) struct Interner {
    map: foldhash::HashMap<String, u32>,
    pub values: Vec<String>,
}

impl Interner {
    pub(crate) fn new() -> Self {
        Interner {
            map: foldhash::HashMap::default(),
            values: Vec::new(),
        }
    }

    /// 0 for empty; otherwise 1 + the value's position.
    pub(crate) fn key(&mut self, v: Option<&str>) -> u32 {
        let Some(v) = v else { return 0 };
        if let Some(k) = self.map.get(v) {
            return *k;
        }
        self.values.push(v.to_string());
        let k = self.values.len() as u32;
        self.map.insert(v.to_string(), k);
        k
    }
}

/// How many bytes of rows every partition of the run holds in memory together before
/// they are written out: about the accepted rows of 4M events and 1.8M discharges, so a
/// run of that size (40 councils) never touches a file, while a national one holds about
/// this much whatever its size (one set of partitions up to all of it, the others a
/// quarter each). Measured on 4.1M events over 40 areas against a budget of
/// 64 MB per extract: in this machine's slow hours the files cost 0.9 s of a 5.9 s run
/// (system time writing them through the page cache and reading them back), in its fast
/// ones nothing; the peak is 200 MB higher (national: 2.0 GB against 1.9 GB).
/// `BCFMON_SPILL_BYTES` sets another budget (the tests force the files with a small one).
fn budget() -> usize {
    std::env::var("BCFMON_SPILL_BYTES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(768 << 20)
}

/// The bytes every partition of the process holds, against the budget they share.
static HELD: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// The largest block of an area's held rows. An area's rows are held in blocks, each
/// filled and never moved, rather than one buffer doubled as it fills: doubling copied every
/// row again (a sixth of the loading's CPU time on 4.1M events held in memory). Blocks start
/// small and double up to this size, so an area of a few rows (a mistyped code) holds little.
const BLOCK: usize = 1 << 20;

/// Room a block keeps for the record being written: a block with less is full. A longer
/// record (a very long identifier) grows its block, which is then copied once.
const RECORD_ROOM: usize = 512;

/// How many bytes a partition adds before it tells the run's count (`HELD`): a count shared
/// by every core, touched on every row, cost more than the rows' own writes.
const REPORT_STEP: usize = 1 << 20;

/// Rows by area (the area's key, from 0, in order of first appearance), in file order
/// within each area.
pub(crate) struct Partitions {
    /// Each area's held rows, in blocks of whole records.
    held: Vec<Vec<Vec<u8>>>,
    held_bytes: usize,
    /// Bytes held but not yet counted in `HELD`.
    unreported: usize,
    budget: usize,
    /// The folder of the spilled rows (removed when the partitions are dropped), once the
    /// budget has been passed, and which areas have a file in it. Files are opened for
    /// each spill, not held: an extract may name thousands of areas (mistyped codes too).
    spilled: Option<SpillFolder>,
    on_disk: Vec<bool>,
    rows: Vec<usize>,
}

/// An area's stored rows: runs of whole records in order (the file read back, then the
/// blocks held since), borrowed where they are held.
pub(crate) struct Stored<'p>(Vec<std::borrow::Cow<'p, [u8]>>);

impl Stored<'_> {
    /// The stored records of a fixed `size`, each as its bytes, in order.
    pub(crate) fn each(&self, size: usize) -> impl Iterator<Item = &[u8]> + Clone + '_ {
        self.0.iter().flat_map(move |run| run.chunks_exact(size))
    }

    /// The stored records one by one, in order, borrowing from them (no list of them made).
    pub(crate) fn read<'a, R: Record<'a>>(&'a self) -> impl Iterator<Item = R> + 'a {
        self.0.iter().flat_map(|run| {
            let mut b: &'a [u8] = run;
            std::iter::from_fn(move || (!b.is_empty()).then(|| R::read(&mut b)))
        })
    }
}

impl Partitions {
    pub(crate) fn new() -> Partitions {
        Partitions {
            held: Vec::new(),
            held_bytes: 0,
            unreported: 0,
            budget: budget(),
            spilled: None,
            on_disk: Vec::new(),
            rows: Vec::new(),
        }
    }

    /// Rows of each area.
    pub(crate) fn rows(&self) -> &[usize] {
        &self.rows
    }

    /// Adds a row to an area's partition, writing every area's held rows out when the
    /// budget is passed.
    pub(crate) fn push<'r>(&mut self, area: usize, row: &impl Record<'r>) -> Result<(), String> {
        let block = self.block_with_room(area, RECORD_ROOM);
        let before = block.len();
        row.write(block);
        let grew = block.len() - before;
        self.added(area, 1, grew)
    }

    /// Adds `rows` whole records already written (`Record::write`) to an area's partition
    /// as `push` adds them one by one: copied into the area's blocks.
    pub(crate) fn extend(
        &mut self,
        area: usize,
        records: &[u8],
        rows: usize,
    ) -> Result<(), String> {
        self.block_with_room(area, records.len())
            .extend_from_slice(records);
        self.added(area, rows, records.len())
    }

    /// An area's last block, or a new one when it has less than `room` bytes left: each new
    /// block twice the one before, up to `BLOCK`, and never less than `room`.
    fn block_with_room(&mut self, area: usize, room: usize) -> &mut Vec<u8> {
        let blocks = self.held_for(area);
        if blocks.last().is_none_or(|b| b.capacity() - b.len() < room) {
            let size = blocks
                .last()
                .map_or(4 * RECORD_ROOM, |b| (2 * b.capacity()).min(BLOCK))
                .max(room);
            blocks.push(Vec::with_capacity(size));
        }
        blocks.last_mut().expect("made above")
    }

    /// Adds `rows` records already written (`Record::write`) to an area's partition, as
    /// `push` adds one: the bytes become a block of their own, not copied.
    pub(crate) fn append(
        &mut self,
        area: usize,
        bytes: Vec<u8>,
        rows: usize,
    ) -> Result<(), String> {
        let n = bytes.len();
        if n > 0 {
            self.held_for(area).push(bytes);
        } else {
            self.held_for(area);
        }
        self.added(area, rows, n)
    }

    /// The blocks held for an area (an area met for the first time gets a place).
    fn held_for(&mut self, area: usize) -> &mut Vec<Vec<u8>> {
        if self.held.len() <= area {
            self.held.resize_with(area + 1, Vec::new);
            self.rows.resize(area + 1, 0);
        }
        &mut self.held[area]
    }

    /// Counts rows just added to an area, and writes every area's held rows out when the
    /// budget is passed: by these partitions alone, or by all the run's together once these
    /// hold a quarter of it (so that partitions filling while others are held, as the
    /// settled events fill while the accepted rows wait, spill in large writes, not a row
    /// at a time).
    fn added(&mut self, area: usize, rows: usize, bytes: usize) -> Result<(), String> {
        use std::sync::atomic::Ordering::Relaxed;
        self.rows[area] += rows;
        self.held_bytes += bytes;
        self.unreported += bytes;
        if self.unreported >= REPORT_STEP || self.held_bytes > self.budget {
            let all = HELD.fetch_add(self.unreported, Relaxed) + self.unreported;
            self.unreported = 0;
            if self.held_bytes > self.budget
                || (all > self.budget && self.held_bytes > self.budget / 4)
            {
                self.spill()?;
            }
        }
        Ok(())
    }

    /// Takes what these partitions hold out of the run's count.
    fn release(&mut self) {
        let reported = self.held_bytes - self.unreported;
        HELD.fetch_sub(reported, std::sync::atomic::Ordering::Relaxed);
        self.held_bytes = 0;
        self.unreported = 0;
    }

    fn file(dir: &SpillFolder, area: usize) -> PathBuf {
        dir.path().join(format!("{area}.rows"))
    }

    fn spill(&mut self) -> Result<(), String> {
        let why = |e: std::io::Error| format!("cannot write the partitioned rows: {e}");
        if self.spilled.is_none() {
            self.spilled = Some(SpillFolder::new().map_err(why)?);
        }
        let dir = self.spilled.as_ref().expect("made above");
        self.on_disk.resize(self.held.len(), false);
        for (area, blocks) in self.held.iter_mut().enumerate() {
            if blocks.iter().all(Vec::is_empty) {
                continue;
            }
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(Self::file(dir, area))
                .and_then(|mut f| blocks.iter().try_for_each(|b| f.write_all(b)))
                .map_err(why)?;
            self.on_disk[area] = true;
            // The last block emptied, not freed: the area fills it again before the next
            // spill, and making it from nothing each time cost the fill again. Not a block
            // appended whole (an area's settled rows, added once): nothing fills it again.
            let last = blocks.pop().filter(|b| b.capacity() <= BLOCK).map(|mut b| {
                b.clear();
                b
            });
            blocks.clear();
            blocks.extend(last);
        }
        // But the room kept is bounded: a file sorted by area (one council's file after
        // another) fills each area's block in turn, and keeping every one's room would
        // hold a block per area. Past the budget, all is freed.
        let room: usize = self.held.iter().flatten().map(Vec::capacity).sum();
        if room > self.budget {
            for blocks in &mut self.held {
                blocks.clear();
            }
        }
        self.release();
        Ok(())
    }

    /// An area's rows written out, read back.
    fn read_back(dir: &SpillFolder, area: usize) -> Result<Vec<u8>, String> {
        let why = |e: std::io::Error| format!("cannot read the partitioned rows back: {e}");
        let mut file = std::fs::File::open(Self::file(dir, area)).map_err(why)?;
        let len = file.metadata().map_err(why)?.len() as usize;
        let mut bytes = Vec::with_capacity(len);
        file.read_to_end(&mut bytes).map_err(why)?;
        Ok(bytes)
    }

    /// The stored bytes of an area's rows, in file order: the file read back when some
    /// were written out, then the blocks held since, borrowed.
    pub(crate) fn bytes(&self, area: usize) -> Result<Stored<'_>, String> {
        let mut runs: Vec<std::borrow::Cow<'_, [u8]>> = Vec::new();
        let on_disk = self.on_disk.get(area).copied().unwrap_or(false);
        if let Some(dir) = self.spilled.as_ref().filter(|_| on_disk) {
            runs.push(std::borrow::Cow::Owned(Self::read_back(dir, area)?));
        }
        let held = self.held.get(area).map_or(&[][..], Vec::as_slice);
        runs.extend(
            held.iter()
                .filter(|b| !b.is_empty())
                .map(|b| std::borrow::Cow::Borrowed(b.as_slice())),
        );
        Ok(Stored(runs))
    }

    /// The partitions to be read once, area by area (`Taken::take`): each area's held rows
    /// are freed as soon as its reader is done with them, not when the last area is.
    pub(crate) fn into_taken(mut self) -> Taken {
        // Every held byte counted in the run's count, to be taken out area by area.
        HELD.fetch_add(self.unreported, std::sync::atomic::Ordering::Relaxed);
        self.unreported = 0;
        self.held_bytes = 0;
        Taken {
            held: std::mem::take(&mut self.held)
                .into_iter()
                .map(std::sync::Mutex::new)
                .collect(),
            spilled: self.spilled.take(),
            on_disk: std::mem::take(&mut self.on_disk)
                .into_iter()
                .map(std::sync::atomic::AtomicBool::new)
                .collect(),
        }
    }

    /// Every row of an area, in file order.
    #[cfg(test)]
    pub(crate) fn area<R: for<'a> Record<'a>>(&self, area: usize) -> Result<Vec<R>, String> {
        let stored = self.bytes(area)?;
        Ok(stored.read().collect())
    }

    /// Whether rows went to files (the budget was passed).
    #[cfg(test)]
    fn spilled(&self) -> bool {
        self.spilled.is_some()
    }
}

/// Partitions read once, area by area (`Partitions::into_taken`).
pub(crate) struct Taken {
    held: Vec<std::sync::Mutex<Vec<Vec<u8>>>>,
    /// The spilled rows' folder, removed when these are dropped.
    spilled: Option<SpillFolder>,
    /// Whether an area has a file not yet taken.
    on_disk: Vec<std::sync::atomic::AtomicBool>,
}

impl Taken {
    /// An area's stored rows, as `Partitions::bytes` gives them, owned: the run's count of
    /// held bytes lets them go now, and their memory goes when the caller drops them. An
    /// area taken again has none.
    pub(crate) fn take(&self, area: usize) -> Result<Stored<'static>, String> {
        let mut runs: Vec<std::borrow::Cow<'static, [u8]>> = Vec::new();
        let on_disk = self
            .on_disk
            .get(area)
            .is_some_and(|d| d.swap(false, std::sync::atomic::Ordering::Relaxed));
        if let Some(dir) = self.spilled.as_ref().filter(|_| on_disk) {
            runs.push(std::borrow::Cow::Owned(Partitions::read_back(dir, area)?));
            // Its disk space goes now, not at the end of the run (the folder is removed
            // then in any case, so a file that cannot be removed now is left to it).
            let _ = std::fs::remove_file(Partitions::file(dir, area));
        }
        let blocks = match self.held.get(area) {
            Some(held) => std::mem::take(&mut *held.lock().map_err(|e| e.to_string())?),
            None => Vec::new(),
        };
        let bytes: usize = blocks.iter().map(Vec::len).sum();
        HELD.fetch_sub(bytes, std::sync::atomic::Ordering::Relaxed);
        runs.extend(
            blocks
                .into_iter()
                .filter(|b| !b.is_empty())
                .map(std::borrow::Cow::Owned),
        );
        Ok(Stored(runs))
    }
}

impl Drop for Taken {
    /// What was never taken is no longer held.
    fn drop(&mut self) {
        let left: usize = self
            .held
            .iter_mut()
            .filter_map(|h| h.get_mut().ok())
            .flatten()
            .map(|b| b.len())
            .sum();
        HELD.fetch_sub(left, std::sync::atomic::Ordering::Relaxed);
    }
}

impl Drop for Partitions {
    /// What these held is no longer held.
    fn drop(&mut self) {
        self.release();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A record of each kind of field.
    #[derive(Debug, Clone, PartialEq)]
    struct Spell {
        loc: Loc,
        id: Option<String>,
        day: Option<i32>,
    }

    impl Record<'_> for Spell {
        fn write(&self, out: &mut Vec<u8>) {
            write_loc(out, self.loc);
            write_text(out, self.id.as_deref());
            write_day(out, self.day);
        }
        fn read(b: &mut &[u8]) -> Spell {
            Spell {
                loc: read_loc(b),
                id: read_text(b).map(str::to_string),
                day: read_day(b),
            }
        }
    }

    fn spell(n: u64) -> Spell {
        Spell {
            loc: if n.is_multiple_of(2) {
                Loc::Line(n)
            } else {
                Loc::Row(n).in_file(3)
            },
            // An identifier longer than 65,535 bytes is kept whole.
            id: (n != 4).then(|| format!("SP-{n}-").repeat(if n == 7 { 20_000 } else { 1 })),
            day: (n != 6).then_some(19_000 - n as i32),
        }
    }

    #[test]
    fn rows_read_back_as_written_in_memory_and_spilled() {
        let mut bytes = Vec::new();
        spell(5).write(&mut bytes);
        let record = bytes.len();
        assert_eq!(Spell::read(&mut &bytes[..]), spell(5));
        // A budget of three records spills on the fourth push; the rest stay held.
        let mut p = Partitions::new();
        p.budget = 3 * record;
        for n in 0..10 {
            p.push((n % 2) as usize, &spell(n)).expect("pushed");
        }
        assert!(p.spilled());
        assert_eq!(p.rows(), &[5, 5]);
        // Rows sorted by area (one council's file after another), each area filling the
        // budget in turn: the room kept after a spill is at most the budget, and the rows
        // held since grow it by at most twice their bytes (under budget + a record) and a
        // first block for each area they fall in. Keeping every area's room would be at
        // least the budget for each of 20 areas.
        let mut sorted = Partitions::new();
        sorted.budget = 3 * record;
        for area in 0..20 {
            for n in 0..4 {
                sorted.push(area, &spell(5 + 2 * n)).expect("pushed");
            }
        }
        let room: usize = sorted.held.iter().flatten().map(Vec::capacity).sum();
        let touched = sorted.held.iter().filter(|b| !b.is_empty()).count();
        assert!(
            room <= 3 * sorted.budget + 2 * record + touched * 4 * RECORD_ROOM,
            "{room} bytes kept"
        );
        assert_eq!(sorted.area::<Spell>(19).expect("read").len(), 4);
        for area in 0..2 {
            let want: Vec<Spell> = (0..10).filter(|n| n % 2 == area).map(spell).collect();
            assert_eq!(p.area::<Spell>(area as usize).expect("read"), want);
        }
        assert_eq!(
            p.area::<Spell>(1).expect("read")[3]
                .id
                .as_ref()
                .map(String::len),
            Some(100_000)
        );
    }

    /// Partitions taken area by area give each area's rows as they were stored (the rows
    /// spilled, then those held since), once: an area taken again, or never filled, has none.
    #[test]
    fn partitions_taken_give_each_area_once() {
        let mut bytes = Vec::new();
        spell(5).write(&mut bytes);
        let mut p = Partitions::new();
        p.budget = 3 * bytes.len();
        for n in 0..10 {
            p.push((n % 2) as usize, &spell(n)).expect("pushed");
        }
        assert!(p.spilled());
        let taken = p.into_taken();
        for area in 0..2 {
            let want: Vec<Spell> = (0..10).filter(|n| n % 2 == area).map(spell).collect();
            let stored = taken.take(area as usize).expect("taken");
            assert_eq!(stored.read::<Spell>().collect::<Vec<_>>(), want);
        }
        for area in [0, 7] {
            let rows = taken.take(area).expect("taken again");
            assert_eq!(rows.read::<Spell>().count(), 0);
        }
    }
}
