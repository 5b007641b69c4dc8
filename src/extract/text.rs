//! The text of a CSV extract: which encoding it is in (a byte-order mark, else the one
//! declared in programme.toml), decoded to UTF-8 as it streams, and the first byte that is
//! not valid in that encoding located by line and file offset.

use crate::programme::Encoding;
use std::io::{self, Read};

/// How a file's bytes are to be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Detected {
    /// The encoding the bytes are decoded with.
    pub encoding: &'static encoding_rs::Encoding,
    /// Length of the byte-order mark at the start of the file (0 when there is none).
    pub bom: usize,
    /// The byte-order mark overrode a different declared encoding.
    pub overrode: bool,
}

impl Detected {
    /// UTF-8 bytes go to the CSV reader as they are (the reader checks them): the fast path
    /// of every extract written to the contract.
    pub(crate) fn is_utf8(&self) -> bool {
        self.encoding == encoding_rs::UTF_8
    }

    /// The encoding's name as programme.toml spells it.
    pub(crate) fn name(&self) -> &'static str {
        if self.encoding == encoding_rs::UTF_8 {
            "utf-8"
        } else if self.encoding == encoding_rs::WINDOWS_1252 {
            "windows-1252"
        } else if self.encoding == encoding_rs::UTF_16BE {
            "utf-16 (big-endian)"
        } else {
            "utf-16"
        }
    }
}

/// Decides the encoding from the file's first bytes: a UTF-8 or UTF-16 byte-order mark wins
/// whatever is declared; otherwise the declared encoding (UTF-16 without a mark is taken as
/// little-endian, as Windows and SQL Server write it).
pub(crate) fn detect(first: &[u8], declared: Encoding) -> Detected {
    let declared_enc = match declared {
        Encoding::Utf8 => encoding_rs::UTF_8,
        Encoding::Windows1252 => encoding_rs::WINDOWS_1252,
        Encoding::Utf16 => encoding_rs::UTF_16LE,
    };
    match encoding_rs::Encoding::for_bom(first) {
        Some((enc, bom)) => {
            let declared_utf16 = declared == Encoding::Utf16;
            let bom_utf16 = enc == encoding_rs::UTF_16LE || enc == encoding_rs::UTF_16BE;
            Detected {
                encoding: enc,
                bom,
                overrode: if bom_utf16 {
                    !declared_utf16
                } else {
                    enc != declared_enc
                },
            }
        }
        None => Detected {
            encoding: declared_enc,
            bom: 0,
            overrode: false,
        },
    }
}

/// True when bytes read as UTF-8 look like UTF-16 text without a byte-order mark: every
/// other byte of the first line NUL, which no CSV written as UTF-8 has.
pub(crate) fn looks_like_utf16(first: &[u8]) -> bool {
    let sample = &first[..first.len().min(64)];
    if sample.len() < 4 {
        return false;
    }
    let zeros_at = |parity: usize| {
        sample
            .iter()
            .enumerate()
            .filter(|(i, b)| i % 2 == parity && **b == 0)
            .count()
    };
    let half = sample.len() / 2;
    zeros_at(0) * 4 >= half * 3 || zeros_at(1) * 4 >= half * 3
}

/// The first byte (or byte sequence) that is not valid in the file's encoding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct BadByte {
    /// 1-based line of the decoded text on which the bad bytes stand.
    pub line: u64,
    /// 0-based offset of the first bad byte in the file (as a hex editor shows it).
    pub offset: u64,
    /// The first bad byte, when it was still in the buffer.
    pub byte: Option<u8>,
}

impl BadByte {
    /// Where the byte is in the file, and what it is: `byte 41 of the file (0x96)`.
    pub(crate) fn place(&self) -> String {
        match self.byte {
            Some(b) => format!("byte {} of the file (0x{b:02X})", self.offset),
            None => format!("byte {} of the file", self.offset),
        }
    }
}

impl std::fmt::Display for BadByte {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "line {}: {}", self.line, self.place())
    }
}

impl std::error::Error for BadByte {}

/// A reader that decodes its bytes to UTF-8 as they are read, and fails with a `BadByte`
/// (inside an `io::Error` of kind `InvalidData`) at the first byte invalid in the encoding.
pub(crate) struct Decoded<R> {
    inner: R,
    decoder: encoding_rs::Decoder,
    input: Vec<u8>,
    start: usize,
    end: usize,
    eof: bool,
    output: Vec<u8>,
    out_start: usize,
    /// File offset of `input[0]`.
    offset: u64,
    /// Line breaks decoded so far.
    newlines: u64,
    done: bool,
}

impl<R: Read> Decoded<R> {
    /// `inner` must stand just after the byte-order mark (`detected.bom` bytes in).
    pub(crate) fn new(inner: R, detected: Detected) -> Self {
        Decoded {
            inner,
            decoder: detected.encoding.new_decoder_without_bom_handling(),
            input: vec![0; 64 * 1024],
            start: 0,
            end: 0,
            eof: false,
            output: Vec::with_capacity(3 * 64 * 1024 + 16),
            out_start: 0,
            offset: detected.bom as u64,
            newlines: 0,
            done: false,
        }
    }

    /// Decodes the next stretch of input into `output`.
    fn fill(&mut self) -> io::Result<()> {
        if self.start == self.end && !self.eof {
            self.offset += self.end as u64;
            self.start = 0;
            self.end = 0;
            while self.end < self.input.len() {
                match self.inner.read(&mut self.input[self.end..]) {
                    Ok(0) => {
                        self.eof = true;
                        break;
                    }
                    Ok(n) => self.end += n,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => return Err(e),
                }
            }
        }
        let capacity = self
            .decoder
            .max_utf8_buffer_length_without_replacement(self.end - self.start)
            .unwrap_or(self.input.len() * 3)
            .max(16);
        self.output.clear();
        self.output.resize(capacity, 0);
        self.out_start = 0;
        let (result, read, written) = self.decoder.decode_to_utf8_without_replacement(
            &self.input[self.start..self.end],
            &mut self.output,
            self.eof,
        );
        self.output.truncate(written);
        self.newlines += self.output.iter().filter(|b| **b == b'\n').count() as u64;
        let bad_end = self.start + read;
        self.start += read;
        match result {
            encoding_rs::DecoderResult::InputEmpty => {
                if self.eof {
                    self.done = true;
                }
                Ok(())
            }
            encoding_rs::DecoderResult::OutputFull => Ok(()),
            encoding_rs::DecoderResult::Malformed(bad, extra) => {
                // The bad bytes end `extra` bytes before the read position; a sequence begun
                // in an earlier buffer starts before `input[0]`, so count in signed offsets.
                let first = bad_end as i64 - i64::from(extra) - i64::from(bad);
                let byte = usize::try_from(first)
                    .ok()
                    .and_then(|i| self.input.get(i).copied());
                Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    BadByte {
                        line: self.newlines + 1,
                        offset: (self.offset as i64 + first).max(0) as u64,
                        byte,
                    },
                ))
            }
        }
    }
}

impl<R: Read> Read for Decoded<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            if self.out_start < self.output.len() {
                let n = buf.len().min(self.output.len() - self.out_start);
                buf[..n].copy_from_slice(&self.output[self.out_start..self.out_start + n]);
                self.out_start += n;
                return Ok(n);
            }
            if self.done || buf.is_empty() {
                return Ok(0);
            }
            self.fill()?;
        }
    }
}

/// The first invalid byte of a file in `detected`'s encoding, if any: read to the end.
pub(crate) fn first_bad_byte(path: &std::path::Path, detected: Detected) -> Option<BadByte> {
    let mut file = std::fs::File::open(path).ok()?;
    let mut skip = vec![0; detected.bom];
    file.read_exact(&mut skip).ok()?;
    let mut reader = Decoded::new(io::BufReader::new(file), detected);
    let mut sink = vec![0; 64 * 1024];
    loop {
        match reader.read(&mut sink) {
            Ok(0) => return None,
            Ok(_) => {}
            Err(e) => return bad_byte_of(&e),
        }
    }
}

/// The `BadByte` an I/O error carries, if it is one of ours.
pub(crate) fn bad_byte_of(e: &io::Error) -> Option<BadByte> {
    e.get_ref()
        .and_then(|inner| inner.downcast_ref::<BadByte>())
        .copied()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(bytes: &[u8], declared: Encoding) -> Result<String, BadByte> {
        let d = detect(bytes, declared);
        let mut out = String::new();
        Decoded::new(&bytes[d.bom..], d)
            .read_to_string(&mut out)
            .map(|_| out)
            .map_err(|e| bad_byte_of(&e).expect("a bad byte"))
    }

    #[test]
    fn windows_1252_and_utf16_decode_to_the_same_text() {
        // "£5,café\n" — £ is 0xA3 and é 0xE9 in Windows-1252.
        let cp1252 = b"\xA35,caf\xE9\n";
        assert_eq!(decode(cp1252, Encoding::Windows1252).unwrap(), "£5,café\n");
        // UTF-16LE with its mark FF FE.
        let mut le = vec![0xFF, 0xFE];
        for u in "£5,café\n".encode_utf16() {
            le.extend(u.to_le_bytes());
        }
        assert_eq!(decode(&le, Encoding::Utf8).unwrap(), "£5,café\n");
        assert!(detect(&le, Encoding::Utf8).overrode);
        assert!(!detect(&le, Encoding::Utf16).overrode);
        // Big-endian with its mark FE FF, declared utf-16: no warning.
        let mut be = vec![0xFE, 0xFF];
        for u in "a,b\n".encode_utf16() {
            be.extend(u.to_be_bytes());
        }
        assert_eq!(decode(&be, Encoding::Utf16).unwrap(), "a,b\n");
        // No mark, declared utf-16: little-endian.
        assert_eq!(decode(&le[2..], Encoding::Utf16).unwrap(), "£5,café\n");
        assert!(looks_like_utf16(&le[2..]));
        assert!(!looks_like_utf16(b"LA_Code,NHS_Number\n"));
    }

    #[test]
    fn the_first_bad_byte_is_located() {
        // Line 1 "a,b\n" (bytes 0-3), line 2 "x,\xFF\n": the bad byte is at offset 6.
        let bad = decode(b"a,b\nx,\xFFy\n", Encoding::Utf8).unwrap_err();
        assert_eq!(
            bad,
            BadByte {
                line: 2,
                offset: 6,
                byte: Some(0xFF)
            }
        );
        // With a UTF-8 mark (3 bytes) in front, the offset counts the mark.
        let bad = decode(b"\xEF\xBB\xBFa,b\nx,\xFFy\n", Encoding::Utf8).unwrap_err();
        assert_eq!(bad.offset, 9);
        // An unpaired UTF-16 surrogate (D800 then 'a') on line 1: offset of the surrogate.
        let bytes = [0xFF, 0xFE, b'x', 0, 0x00, 0xD8, b'a', 0];
        let bad = decode(&bytes, Encoding::Utf16).unwrap_err();
        assert_eq!((bad.line, bad.offset), (1, 4));
    }
}
