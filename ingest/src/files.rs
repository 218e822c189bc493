//! Delivered files: their formats and encodings, and the strict streaming decoder.
//!
//! Chinese government departments still deliver many files in GBK or GB18030, and Excel's
//! "Unicode text" export is UTF-16LE with a byte-order mark. A file is decoded to UTF-8 as it
//! is read — strictly, so that a byte sequence that is not valid in the declared or detected
//! encoding is an error naming the file, line and byte offset, never a silent replacement
//! character.

use crate::error::InputError;
use serde::{Deserialize, Serialize};
use std::io::Read;

/// Text encoding of a delivered file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Encoding {
    /// UTF-8 (a UTF-8 byte-order mark is skipped).
    Utf8,
    /// GBK.
    Gbk,
    /// GB18030, the superset of GBK.
    Gb18030,
    /// The encoding named by the file's byte-order mark (UTF-8, UTF-16LE or UTF-16BE) if it
    /// has one; otherwise UTF-8 if the first 64 KiB are valid UTF-8, GB18030 if not. A file
    /// that looks like UTF-16 without a byte-order mark is refused (see
    /// [`DecodingReader::new`]).
    Detect,
}

impl Encoding {
    /// The decoder and name of a declared encoding; `None` for `Detect`.
    fn declared(self) -> Option<(&'static encoding_rs::Encoding, &'static str)> {
        match self {
            Encoding::Utf8 => Some((encoding_rs::UTF_8, "UTF-8")),
            Encoding::Gbk => Some((encoding_rs::GBK, "GBK")),
            Encoding::Gb18030 => Some((encoding_rs::GB18030, "GB18030")),
            Encoding::Detect => None,
        }
    }
}

/// Format of a delivered file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FileFormat {
    /// Comma-separated values with a header line.
    Csv,
    /// Tab-separated values with a header line.
    Tsv,
    /// One JSON object per line.
    JsonLines,
    /// A JSON array of objects (read as a stream, element by element).
    Json,
    /// Apache Parquet (typed; values are checked against the target like text).
    Parquet,
    /// An Excel workbook (first sheet, or `sheet`), header in the first row.
    Xlsx,
}

/// How much of a file is read before decoding to choose the decoder.
const SNIFF_BYTES: usize = 64 * 1024;

/// The decoder that a byte-order mark at the start of `sample` names, with how it was chosen
/// (for error messages).
fn byte_order_mark(sample: &[u8]) -> Option<(&'static encoding_rs::Encoding, &'static str)> {
    if sample.starts_with(b"\xEF\xBB\xBF") {
        Some((encoding_rs::UTF_8, "UTF-8 (from its byte-order mark)"))
    } else if sample.starts_with(b"\xFF\xFE") {
        Some((encoding_rs::UTF_16LE, "UTF-16LE (from its byte-order mark)"))
    } else if sample.starts_with(b"\xFE\xFF") {
        Some((encoding_rs::UTF_16BE, "UTF-16BE (from its byte-order mark)"))
    } else {
        None
    }
}

/// The byte order of a sample that looks like UTF-16 without a byte-order mark, with how many
/// of its byte pairs have a zero high byte and how many pairs it has.
///
/// ASCII characters (delimiters, digits, line ends) have a zero high byte in UTF-16, so
/// delimited UTF-16 text has NUL bytes at every other position; UTF-8, GBK and GB18030 text
/// has none. Such a file is refused rather than decoded as UTF-16: its byte order would be a
/// guess, and a UTF-16 decoder accepts almost any even-length byte sequence, so a wrong guess
/// would land garbage without an error. A byte-order mark makes it certain.
fn utf16_without_bom(sample: &[u8]) -> Option<(&'static str, usize, usize)> {
    let pairs = sample.len() / 2;
    let (mut first, mut second) = (0usize, 0usize);
    for pair in sample.chunks_exact(2) {
        first += usize::from(pair[0] == 0);
        second += usize::from(pair[1] == 0);
    }
    // At least one pair in eight with a zero high byte and few zeros in the other position
    // (a CJK character such as 一, U+4E00, has a zero low byte).
    let looks = |zeros: usize, other: usize| zeros > 0 && zeros * 8 >= pairs && other * 4 <= zeros;
    if looks(second, first) {
        Some(("UTF-16LE", second, pairs))
    } else if looks(first, second) {
        Some(("UTF-16BE", first, pairs))
    } else {
        None
    }
}

/// The decoder for a file that starts with `sample`, in `encoding`, with how it was chosen
/// (for error messages); `Err` says why the file is refused before any of it is decoded.
fn choose(
    sample: &[u8],
    encoding: Encoding,
) -> Result<(&'static encoding_rs::Encoding, &'static str), String> {
    let declared = encoding.declared();
    if let Some((found, how)) = byte_order_mark(sample) {
        return match declared {
            None => Ok((found, how)),
            Some((codec, name)) if codec == found => Ok((codec, name)),
            Some((_, name)) => Err(format!(
                "starts with a {} byte-order mark but is declared {name}; \
                 declare `encoding = \"detect\"`, which follows byte-order marks, or re-export \
                 the file in {name}",
                found.name()
            )),
        };
    }
    if let Some((order, zeros, pairs)) = utf16_without_bom(sample) {
        return Err(format!(
            "looks like {order} without a byte-order mark ({zeros} of its first {pairs} byte \
             pairs have a zero high byte); re-export it as UTF-8, or as UTF-16 \
             with a byte-order mark (Excel's \"Unicode text\" has one) read with \
             `encoding = \"detect\"`"
        ));
    }
    if let Some(declared) = declared {
        return Ok(declared);
    }
    Ok(match std::str::from_utf8(sample) {
        Ok(_) => (encoding_rs::UTF_8, "UTF-8 (detected from the first 64 KiB)"),
        // A multi-byte character cut at the sniffing boundary is still UTF-8.
        Err(e) if e.error_len().is_none() => {
            (encoding_rs::UTF_8, "UTF-8 (detected from the first 64 KiB)")
        }
        Err(_) => (
            encoding_rs::GB18030,
            "GB18030 (detected: the first 64 KiB are not UTF-8)",
        ),
    })
}

/// Decodes a stream of bytes in a declared encoding into UTF-8, strictly and incrementally,
/// so that files of any size are read in constant memory. A byte sequence that is not valid in
/// the encoding is an I/O error naming the file, line and byte offset; every error names the
/// file.
pub struct DecodingReader<R: Read> {
    inner: R,
    decoder: encoding_rs::Decoder,
    encoding: &'static str,
    file: String,
    input: Vec<u8>,
    input_len: usize,
    /// Bytes of the file passed to the decoder so far.
    offset: u64,
    output: String,
    output_pos: usize,
    line: usize,
    eof: bool,
}

impl<R: Read> DecodingReader<R> {
    /// Wraps `inner`, reading its first 64 KiB to choose the decoder.
    ///
    /// A byte-order mark decides first: with `Detect` it names the encoding (UTF-8, UTF-16LE,
    /// UTF-16BE) and is skipped; with a declared encoding, its own mark is skipped and another
    /// one refuses the file. Without a mark, `Detect` reads valid UTF-8 as UTF-8 and anything
    /// else as GB18030. A file that looks like UTF-16 without a mark (NUL bytes in every other
    /// position) is refused whatever the declaration, since no declarable encoding reads it.
    pub fn new(mut inner: R, encoding: Encoding, file: &str) -> std::io::Result<Self> {
        let mut input = vec![0u8; SNIFF_BYTES];
        let mut input_len = 0;
        while input_len < input.len() {
            let n = inner
                .read(&mut input[input_len..])
                .map_err(|e| named(file, e))?;
            if n == 0 {
                break;
            }
            input_len += n;
        }
        let (codec, how) = choose(&input[..input_len], encoding)
            .map_err(|why| InputError::new(file, why).rule("encoding").into_io())?;
        Ok(DecodingReader {
            inner,
            decoder: codec.new_decoder_with_bom_removal(),
            encoding: how,
            file: file.to_owned(),
            input,
            input_len,
            offset: 0,
            output: String::new(),
            output_pos: 0,
            line: 1,
            eof: false,
        })
    }

    fn fill(&mut self) -> std::io::Result<()> {
        self.output.clear();
        self.output_pos = 0;
        while self.output.is_empty() && !(self.eof && self.input_len == 0) {
            if self.input_len == 0 && !self.eof {
                let n = self
                    .inner
                    .read(&mut self.input)
                    .map_err(|e| named(&self.file, e))?;
                self.input_len = n;
                self.eof = n == 0;
            }
            let src = &self.input[..self.input_len];
            let needed = self
                .decoder
                .max_utf8_buffer_length_without_replacement(src.len())
                .unwrap_or(src.len() * 3 + 16);
            self.output.reserve(needed);
            let (result, read) =
                self.decoder
                    .decode_to_string_without_replacement(src, &mut self.output, self.eof);
            self.input.copy_within(read..self.input_len, 0);
            self.input_len -= read;
            self.offset += read as u64;
            if let encoding_rs::DecoderResult::Malformed(bad, after) = result {
                // The malformed bytes end `after` bytes before what was read (and may have
                // begun in an earlier buffer).
                let at = self
                    .offset
                    .saturating_sub(u64::from(after) + u64::from(bad));
                let line = self.line + self.output.matches('\n').count();
                return Err(InputError::new(
                    &self.file,
                    format!(
                        "bytes at offset {at} are not valid {}; declare the file's real encoding \
                         or re-export it",
                        self.encoding
                    ),
                )
                .at_line(line as u64)
                .rule("encoding")
                .into_io());
            }
            if self.eof && self.input_len == 0 {
                break;
            }
        }
        self.line += self.output.matches('\n').count();
        Ok(())
    }
}

/// An I/O error on the file's bytes, naming the file.
fn named(file: &str, e: std::io::Error) -> std::io::Error {
    std::io::Error::new(e.kind(), InputError::new(file, e))
}

impl<R: Read> Read for DecodingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.output_pos >= self.output.len() {
            self.fill()?;
        }
        let rest = &self.output.as_bytes()[self.output_pos..];
        let n = rest.len().min(buf.len());
        buf[..n].copy_from_slice(&rest[..n]);
        self.output_pos += n;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `text` in UTF-16, each code unit as `unit` lays it out (`u16::to_le_bytes`, …).
    fn utf16(text: &str, unit: fn(u16) -> [u8; 2]) -> Vec<u8> {
        text.encode_utf16().flat_map(unit).collect()
    }

    fn decode(bytes: &[u8], encoding: Encoding, file: &str) -> std::io::Result<String> {
        let mut out = String::new();
        DecodingReader::new(bytes, encoding, file)?.read_to_string(&mut out)?;
        Ok(out)
    }

    /// The error `DecodingReader::new` refuses `bytes` with.
    fn refusal(bytes: &[u8], encoding: Encoding, file: &str) -> String {
        match DecodingReader::new(bytes, encoding, file) {
            Ok(_) => panic!("{file} ({encoding:?}) was not refused"),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn streaming_decoder_matches_and_names_bad_lines() {
        let text = "姓名,年龄\n".to_owned() + &"张三,30\n".repeat(50_000);
        let (gbk, _, _) = encoding_rs::GBK.encode(&text);
        let mut out = String::new();
        DecodingReader::new(&gbk[..], Encoding::Gbk, "big.csv")
            .unwrap()
            .read_to_string(&mut out)
            .unwrap();
        assert_eq!(out, text);
        let mut out = String::new();
        DecodingReader::new(&gbk[..], Encoding::Detect, "big.csv")
            .unwrap()
            .read_to_string(&mut out)
            .unwrap();
        assert_eq!(out, text, "GBK is detected");

        let mut bad = b"a\nb\nc\xff\xff\n".to_vec();
        bad.splice(0..0, b"\xEF\xBB\xBF".iter().copied());
        let err = DecodingReader::new(&bad[..], Encoding::Utf8, "bad.csv")
            .unwrap()
            .read_to_string(&mut out)
            .unwrap_err();
        assert!(
            err.to_string().starts_with("bad.csv:3: bytes at offset 8 "),
            "{err}"
        );
    }

    #[test]
    fn byte_order_marks_choose_the_decoder() {
        // Large enough to cross buffer boundaries, one of them inside the surrogate pair of 𠮷.
        let text = "姓名,年龄,备注\n".to_owned() + &"张三,30,𠮷\n".repeat(50_000);
        let mut le = vec![0xFF, 0xFE];
        le.extend(utf16(&text, u16::to_le_bytes));
        assert_eq!(decode(&le, Encoding::Detect, "le.csv").unwrap(), text);
        let mut be = vec![0xFE, 0xFF];
        be.extend(utf16(&text, u16::to_be_bytes));
        assert_eq!(decode(&be, Encoding::Detect, "be.csv").unwrap(), text);

        let utf8 = [b"\xEF\xBB\xBF".as_slice(), text.as_bytes()].concat();
        for encoding in [Encoding::Detect, Encoding::Utf8] {
            assert_eq!(
                decode(&utf8, encoding, "bom.csv").unwrap(),
                text,
                "{encoding:?} skips the UTF-8 byte-order mark"
            );
        }
    }

    #[test]
    fn a_byte_order_mark_that_contradicts_the_declaration_is_refused() {
        let utf8 = [b"\xEF\xBB\xBF".as_slice(), "姓名\n张三\n".as_bytes()].concat();
        let err = refusal(&utf8, Encoding::Gbk, "gbk.csv");
        assert!(
            err.starts_with("gbk.csv: starts with a UTF-8 byte-order mark but is declared GBK"),
            "{err}"
        );
        let mut le = vec![0xFF, 0xFE];
        le.extend(utf16("姓名\n张三\n", u16::to_le_bytes));
        let err = refusal(&le, Encoding::Utf8, "utf8.csv");
        assert!(
            err.starts_with(
                "utf8.csv: starts with a UTF-16LE byte-order mark but is declared UTF-8"
            ),
            "{err}"
        );
    }

    #[test]
    fn utf16_without_a_byte_order_mark_is_refused() {
        let text = "SFZH,姓名\n110105194912310029,张三\n";
        for (bytes, order) in [
            (utf16(text, u16::to_le_bytes), "UTF-16LE"),
            (utf16(text, u16::to_be_bytes), "UTF-16BE"),
        ] {
            // As UTF-8 the little-endian bytes are valid (ASCII and NULs): refused all the same.
            for encoding in [Encoding::Detect, Encoding::Utf8, Encoding::Gb18030] {
                let err = refusal(&bytes, encoding, "nobom.csv");
                assert!(
                    err.starts_with(&format!(
                        "nobom.csv: looks like {order} without a byte-order mark"
                    )),
                    "{encoding:?}: {err}"
                );
            }
        }
        // Text without NUL bytes is not mistaken for UTF-16.
        assert_eq!(
            decode(text.as_bytes(), Encoding::Detect, "a.csv").unwrap(),
            text
        );
    }

    #[test]
    fn undecodable_utf16_is_refused_naming_file_line_and_offset() {
        // A lone high surrogate on line 3, at byte 10 (after the mark and "a\nb\n").
        let mut bad = vec![0xFF, 0xFE];
        bad.extend(utf16("a\nb\n", u16::to_le_bytes));
        bad.extend(0xD800u16.to_le_bytes());
        bad.extend(utf16("c\n", u16::to_le_bytes));
        let err = decode(&bad, Encoding::Detect, "bad16.csv")
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with(
                "bad16.csv:3: bytes at offset 10 are not valid UTF-16LE (from its byte-order mark)"
            ),
            "{err}"
        );
        // An odd byte at the end: half a code unit.
        let mut odd = vec![0xFE, 0xFF];
        odd.extend(utf16("a\n", u16::to_be_bytes));
        odd.push(b'b');
        let err = decode(&odd, Encoding::Detect, "odd.csv")
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("odd.csv:2: bytes at offset 6 are not valid UTF-16BE"),
            "{err}"
        );
    }
}
