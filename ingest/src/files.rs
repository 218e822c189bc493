//! Delivered files: their formats and encodings, and the strict streaming decoder.
//!
//! Chinese government departments still deliver many files in GBK or GB18030. A file is
//! decoded to UTF-8 as it is read — strictly, so that a byte sequence that is not valid in the
//! declared encoding is an error naming the line, never a silent replacement character.

use serde::{Deserialize, Serialize};
use std::io::Read;

/// Text encoding of a delivered file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Encoding {
    /// UTF-8 (a byte-order mark is skipped).
    Utf8,
    /// GBK.
    Gbk,
    /// GB18030, the superset of GBK.
    Gb18030,
    /// UTF-8 if the bytes are valid UTF-8, GB18030 otherwise.
    Detect,
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

/// Decodes a stream of bytes in a declared encoding into UTF-8, strictly and incrementally,
/// so that files of any size are read in constant memory. A byte sequence that is not valid in
/// the encoding is an I/O error naming the file and line.
pub struct DecodingReader<R: Read> {
    inner: R,
    decoder: encoding_rs::Decoder,
    encoding: &'static str,
    file: String,
    input: Vec<u8>,
    input_len: usize,
    output: String,
    output_pos: usize,
    line: usize,
    eof: bool,
}

impl<R: Read> DecodingReader<R> {
    /// Wraps `inner`; `Detect` looks at the first 64 KiB (valid UTF-8 → UTF-8, else GB18030).
    pub fn new(mut inner: R, encoding: Encoding, file: &str) -> std::io::Result<Self> {
        let mut input = vec![0u8; 64 * 1024];
        let mut input_len = 0;
        while input_len < input.len() {
            let n = inner.read(&mut input[input_len..])?;
            if n == 0 {
                break;
            }
            input_len += n;
        }
        let (codec, name) = match encoding {
            Encoding::Utf8 => (encoding_rs::UTF_8, "UTF-8"),
            Encoding::Gbk => (encoding_rs::GBK, "GBK"),
            Encoding::Gb18030 => (encoding_rs::GB18030, "GB18030"),
            Encoding::Detect => match std::str::from_utf8(&input[..input_len]) {
                Ok(_) => (encoding_rs::UTF_8, "UTF-8"),
                // A multi-byte character cut at the sniffing boundary is still UTF-8.
                Err(e) if e.error_len().is_none() => (encoding_rs::UTF_8, "UTF-8"),
                Err(_) => (encoding_rs::GB18030, "GB18030"),
            },
        };
        Ok(DecodingReader {
            inner,
            decoder: codec.new_decoder_with_bom_removal(),
            encoding: name,
            file: file.to_owned(),
            input,
            input_len,
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
                let n = self.inner.read(&mut self.input)?;
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
            if let encoding_rs::DecoderResult::Malformed(..) = result {
                let line = self.line + self.output.matches('\n').count();
                return Err(std::io::Error::new(
                    std::io::ErrorKind::InvalidData,
                    format!(
                        "{}:{line}: bytes are not valid {} (rule: encoding); declare the file's real encoding or re-export it",
                        self.file, self.encoding
                    ),
                ));
            }
            if self.eof && self.input_len == 0 {
                break;
            }
        }
        self.line += self.output.matches('\n').count();
        Ok(())
    }
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
        assert!(err.to_string().starts_with("bad.csv:3:"), "{err}");
    }
}
