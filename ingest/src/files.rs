//! Reading delivered files into Arrow batches.
//!
//! Chinese government departments still deliver many files in GBK or GB18030. The file is
//! decoded to UTF-8 first — strictly, so that a byte sequence that is not valid in the declared
//! encoding is an error naming the line, never a silent replacement character — and then parsed
//! with the schema of the target resource.

use arrow::array::RecordBatch;
use arrow::datatypes::SchemaRef;
use serde::{Deserialize, Serialize};
use std::io::{Cursor, Read};
use std::path::{Path, PathBuf};

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
    /// Apache Parquet (typed; values are checked against the target like text).
    Parquet,
}

/// What to read and how.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileSpec {
    /// The file.
    pub path: PathBuf,
    /// Its format.
    pub format: FileFormat,
    /// Its encoding.
    pub encoding: Encoding,
}

/// Why a file could not be read.
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    /// The file could not be opened.
    #[error("{file}: {source}")]
    Io {
        /// The file.
        file: String,
        /// The cause.
        source: std::io::Error,
    },
    /// Bytes not valid in the declared encoding.
    #[error(
        "{file}:{line}: bytes are not valid {encoding} (rule: encoding); declare the file's real encoding or re-export it"
    )]
    Encoding {
        /// The file.
        file: String,
        /// First line with an invalid sequence.
        line: usize,
        /// The declared encoding.
        encoding: &'static str,
    },
    /// The header does not match the target's columns.
    #[error("{file}:1: header {problem} (rule: schema); expected columns {expected}")]
    Header {
        /// The file.
        file: String,
        /// What is wrong.
        problem: String,
        /// The columns the target declares.
        expected: String,
    },
    /// A value could not be parsed as its column's type.
    #[error("{file}: {message} (rule: type)")]
    Parse {
        /// The file.
        file: String,
        /// Arrow's message, which names the line and column.
        message: String,
    },
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

/// Decodes a file's bytes to text in the declared encoding, strictly.
pub fn decode(file: &str, bytes: &[u8], encoding: Encoding) -> Result<String, IngestError> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let (codec, name) = match encoding {
        Encoding::Utf8 => (encoding_rs::UTF_8, "UTF-8"),
        Encoding::Gbk => (encoding_rs::GBK, "GBK"),
        Encoding::Gb18030 => (encoding_rs::GB18030, "GB18030"),
        Encoding::Detect => {
            if let Ok(text) = std::str::from_utf8(bytes) {
                return Ok(text.to_owned());
            }
            (encoding_rs::GB18030, "GB18030")
        }
    };
    match codec.decode_without_bom_handling_and_without_replacement(bytes) {
        Some(text) => Ok(text.into_owned()),
        None => {
            // Find the first bad line to name it.
            let line = bytes
                .split(|b| *b == b'\n')
                .position(|l| {
                    codec
                        .decode_without_bom_handling_and_without_replacement(l)
                        .is_none()
                })
                .map_or(1, |i| i + 1);
            Err(IngestError::Encoding {
                file: file.to_owned(),
                line,
                encoding: name,
            })
        }
    }
}

fn check_header(
    file: &str,
    text: &str,
    delimiter: u8,
    schema: &SchemaRef,
) -> Result<(), IngestError> {
    let header = text.lines().next().unwrap_or_default();
    let found: Vec<&str> = header
        .split(delimiter as char)
        .map(|h| h.trim().trim_matches('"'))
        .collect();
    let expected: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
    if found != expected {
        let missing: Vec<&str> = expected
            .iter()
            .filter(|e| !found.contains(e))
            .copied()
            .collect();
        let extra: Vec<&str> = found
            .iter()
            .filter(|f| !expected.contains(f))
            .copied()
            .collect();
        let problem = if missing.is_empty() && extra.is_empty() {
            "has the right columns in the wrong order".to_owned()
        } else {
            format!(
                "is missing [{}] and has unexpected [{}]",
                missing.join(", "),
                extra.join(", ")
            )
        };
        return Err(IngestError::Header {
            file: file.to_owned(),
            problem,
            expected: expected.join(", "),
        });
    }
    Ok(())
}

/// Reads a whole file into batches of `schema`.
pub fn read_file(spec: &FileSpec, schema: SchemaRef) -> Result<Vec<RecordBatch>, IngestError> {
    let name = spec.path.display().to_string();
    let bytes = std::fs::read(&spec.path).map_err(|source| IngestError::Io {
        file: name.clone(),
        source,
    })?;
    read_bytes(&name, &bytes, spec.format, spec.encoding, schema)
}

/// Reads bytes already in memory; `name` is used in errors.
pub fn read_bytes(
    name: &str,
    bytes: &[u8],
    format: FileFormat,
    encoding: Encoding,
    schema: SchemaRef,
) -> Result<Vec<RecordBatch>, IngestError> {
    if format == FileFormat::Parquet {
        return Err(IngestError::Parse {
            file: name.to_owned(),
            message: "binary formats are read by ingest jobs".into(),
        });
    }
    let text = decode(name, bytes, encoding)?;
    let parse_err = |e: arrow::error::ArrowError| IngestError::Parse {
        file: name.to_owned(),
        message: e.to_string(),
    };
    match format {
        FileFormat::Csv | FileFormat::Tsv => {
            let delimiter = if format == FileFormat::Csv {
                b','
            } else {
                b'\t'
            };
            check_header(name, &text, delimiter, &schema)?;
            let format = arrow::csv::reader::Format::default()
                .with_header(true)
                .with_delimiter(delimiter);
            let reader = arrow::csv::ReaderBuilder::new(schema)
                .with_format(format)
                .with_batch_size(64 * 1024)
                .build(Cursor::new(text.as_bytes()))
                .map_err(parse_err)?;
            reader.collect::<Result<Vec<_>, _>>().map_err(parse_err)
        }
        FileFormat::Parquet => Err(IngestError::Parse {
            file: name.to_owned(),
            message: "binary formats are read by ingest jobs, not as text".into(),
        }),
        FileFormat::JsonLines => {
            let reader = arrow::json::ReaderBuilder::new(schema)
                .with_batch_size(64 * 1024)
                .build(Cursor::new(text.as_bytes()))
                .map_err(parse_err)?;
            reader.collect::<Result<Vec<_>, _>>().map_err(parse_err)
        }
    }
}

/// The file name for messages.
pub fn display_name(path: &Path) -> String {
    path.display().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{Array, AsArray};
    use arrow::datatypes::{DataType, Field, Int64Type, Schema};
    use std::sync::Arc;

    fn schema() -> SchemaRef {
        Arc::new(Schema::new(vec![
            Field::new("name", DataType::Utf8, true),
            Field::new("age", DataType::Int64, true),
        ]))
    }

    #[test]
    fn reads_gbk_csv() {
        let (bytes, _, _) = encoding_rs::GBK.encode("name,age\n张三,30\n李四,\n");
        let batches = read_bytes(
            "people.csv",
            &bytes,
            FileFormat::Csv,
            Encoding::Gbk,
            schema(),
        )
        .unwrap();
        let b = &batches[0];
        assert_eq!(b.num_rows(), 2);
        assert_eq!(b.column(0).as_string::<i32>().value(0), "张三");
        assert_eq!(b.column(1).as_primitive::<Int64Type>().value(0), 30);
        assert!(b.column(1).is_null(1));
    }

    #[test]
    fn detects_gbk_and_rejects_bad_bytes() {
        let (bytes, _, _) = encoding_rs::GBK.encode("name,age\n王五,41\n");
        let batches =
            read_bytes("p.csv", &bytes, FileFormat::Csv, Encoding::Detect, schema()).unwrap();
        assert_eq!(batches[0].column(0).as_string::<i32>().value(0), "王五");

        let err = read_bytes(
            "p.csv",
            b"name,age\nok,1\n\xff\xfe,2\n",
            FileFormat::Csv,
            Encoding::Utf8,
            schema(),
        )
        .unwrap_err();
        assert!(err.to_string().starts_with("p.csv:3:"), "{err}");
    }

    #[test]
    fn names_header_and_type_problems() {
        let err = read_bytes(
            "p.csv",
            b"name,years\nx,1\n",
            FileFormat::Csv,
            Encoding::Utf8,
            schema(),
        )
        .unwrap_err();
        assert!(err.to_string().contains("missing [age]"), "{err}");
        let err = read_bytes(
            "p.csv",
            b"name,age\nx,abc\n",
            FileFormat::Csv,
            Encoding::Utf8,
            schema(),
        )
        .unwrap_err();
        assert!(err.to_string().contains("p.csv"), "{err}");
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
        assert!(err.to_string().starts_with("bad.csv:3:"), "{err}");
    }

    #[test]
    fn reads_json_lines() {
        let text = "{\"name\":\"赵六\",\"age\":5}\n{\"name\":\"钱七\"}\n";
        let batches = read_bytes(
            "p.jsonl",
            text.as_bytes(),
            FileFormat::JsonLines,
            Encoding::Utf8,
            schema(),
        )
        .unwrap();
        assert_eq!(batches[0].num_rows(), 2);
    }
}
