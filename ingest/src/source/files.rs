//! Delivered files in a directory, picked by a glob; each file lands once, remembered by path,
//! size and SHA-256 in the job's ledger.

use super::{PlanContext, Source, SourceColumn};
use crate::error::{InputError, RunError};
use crate::files::{DecodingReader, Encoding, FileFormat};
use crate::lander::{BATCH_ROWS, Lander};
use arrow::record_batch::RecordBatchReader;
use sha2::{Digest, Sha256};
use std::collections::HashSet;
use std::io::{BufRead, Read};
use std::path::{Path, PathBuf};
use zhongshu_catalog::RunInput;

/// See the module documentation.
pub struct FileSource {
    pub dir: PathBuf,
    pub glob: String,
    pub format: FileFormat,
    pub encoding: Encoding,
    pub sheet: Option<String>,
}

/// Size and SHA-256 (hex) of a file.
pub fn sha256_file(path: &Path) -> Result<(u64, String), RunError> {
    let unreadable = |e: std::io::Error| RunError::from(InputError::new(path.display(), e));
    let mut file = std::fs::File::open(path).map_err(unreadable)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut size = 0u64;
    loop {
        let n = file.read(&mut buf).map_err(unreadable)?;
        if n == 0 {
            break;
        }
        size += n as u64;
        hasher.update(&buf[..n]);
    }
    Ok((size, hex::encode(hasher.finalize())))
}

fn file_input(path: &Path, size: u64, checksum: String) -> RunInput {
    RunInput {
        kind: "file".into(),
        name: path.display().to_string(),
        size,
        checksum,
        rows: 0,
    }
}

fn open(name: &str) -> Result<std::fs::File, RunError> {
    std::fs::File::open(name).map_err(|e| InputError::new(name, e).into())
}

impl FileSource {
    fn text_reader(&self, name: &str) -> Result<impl Read + use<>, RunError> {
        DecodingReader::new(
            std::io::BufReader::with_capacity(1 << 20, open(name)?),
            self.encoding,
            name,
        )
        // The decoder's errors carry where and why.
        .map_err(|e| InputError::from_io(&e, name).into())
    }

    fn csv_reader(&self, name: &str) -> Result<csv::Reader<impl Read + use<>>, RunError> {
        let delimiter = if self.format == FileFormat::Tsv {
            b'\t'
        } else {
            b','
        };
        Ok(csv::ReaderBuilder::new()
            .delimiter(delimiter)
            .flexible(true)
            .from_reader(self.text_reader(name)?))
    }

    fn parquet_reader(
        &self,
        name: &str,
    ) -> Result<parquet::arrow::arrow_reader::ParquetRecordBatchReader, RunError> {
        parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(open(name)?)
            .and_then(|b| b.with_batch_size(BATCH_ROWS).build())
            .map_err(|e| {
                InputError::new(name, format!("not a readable Parquet file: {e}"))
                    .rule("parquet")
                    .into()
            })
    }

    fn sheet(&self, name: &str) -> Result<calamine::Range<calamine::Data>, RunError> {
        use calamine::Reader;
        let bad = |e: String| {
            RunError::from(
                InputError::new(name, format!("not a readable XLSX workbook: {e}")).rule("xlsx"),
            )
        };
        let mut book: calamine::Xlsx<_> =
            calamine::open_workbook(name).map_err(|e: calamine::XlsxError| bad(e.to_string()))?;
        let sheet = match &self.sheet {
            Some(sheet) => sheet.clone(),
            None => book
                .sheet_names()
                .first()
                .cloned()
                .ok_or_else(|| bad("it has no worksheet".into()))?,
        };
        book.worksheet_range(&sheet)
            .map_err(|e| bad(format!("sheet `{sheet}`: {e}")))
    }

    async fn read_csv(&self, name: &str, lander: &mut Lander<'_>) -> Result<u64, RunError> {
        let mut reader = self.csv_reader(name)?;
        let header: Vec<String> = reader
            .headers()
            .map_err(|e| header_error(name, e))?
            .iter()
            .map(str::to_owned)
            .collect();
        lander.begin(name, &header)?;
        let separator = if self.format == FileFormat::Tsv {
            "\t"
        } else {
            ","
        };
        let mut record = csv::StringRecord::new();
        let mut rows = 0u64;
        loop {
            let line = reader.position().line();
            match reader.read_record(&mut record) {
                Ok(false) => break,
                Ok(true) => {
                    rows += 1;
                    let raw = || record.iter().collect::<Vec<_>>().join(separator);
                    if record.len() != header.len() {
                        let reason = format!(
                            "{} fields where the header has {}",
                            record.len(),
                            header.len()
                        );
                        lander.reject(line, &raw(), "shape", reason);
                        continue;
                    }
                    lander.record(line, |i| record.get(i), raw).await?;
                }
                // An undecodable file is wrong as a whole: fail the run, naming the line.
                Err(e) if e.is_io_error() => return Err(csv_io_error(name, e)),
                Err(e) => {
                    rows += 1;
                    lander.reject(line, "", "csv", e.to_string());
                }
            }
        }
        Ok(rows)
    }

    async fn read_json_lines(&self, name: &str, lander: &mut Lander<'_>) -> Result<u64, RunError> {
        let mut rows = 0u64;
        let mut begun = false;
        for (i, text) in std::io::BufReader::new(self.text_reader(name)?)
            .lines()
            .enumerate()
        {
            let text = text.map_err(|e| RunError::from(InputError::from_io(&e, name)))?;
            if text.trim().is_empty() {
                continue;
            }
            rows += 1;
            let line = i as u64 + 1;
            match serde_json::from_str::<serde_json::Value>(&text) {
                Ok(serde_json::Value::Object(object)) => {
                    if !begun {
                        lander.begin(name, &object.keys().cloned().collect::<Vec<_>>())?;
                        begun = true;
                    }
                    lander.object(line, &text, &object).await?;
                }
                Ok(_) | Err(_) => lander.reject(line, &text, "json", "not a JSON object".into()),
            }
        }
        Ok(rows)
    }

    /// A JSON array, parsed element by element on a blocking thread so that memory stays at
    /// one element whatever the file size; `line` is the line where an element ends.
    async fn read_json_array(&self, name: &str, lander: &mut Lander<'_>) -> Result<u64, RunError> {
        let reader = self.text_reader(name)?;
        let (tx, mut rx) = tokio::sync::mpsc::channel::<(u64, serde_json::Value)>(1024);
        let file = name.to_owned();
        let parser = tokio::task::spawn_blocking(move || parse_json_array(reader, &file, tx));
        let mut rows = 0u64;
        let mut begun = false;
        let mut landed = Ok(());
        while let Some((line, value)) = rx.recv().await {
            rows += 1;
            let raw = value.to_string();
            match value {
                serde_json::Value::Object(object) => {
                    if !begun {
                        if let Err(e) =
                            lander.begin(name, &object.keys().cloned().collect::<Vec<_>>())
                        {
                            landed = Err(e);
                            break;
                        }
                        begun = true;
                    }
                    if let Err(e) = lander.object(line, &raw, &object).await {
                        landed = Err(e);
                        break;
                    }
                }
                _ => lander.reject(line, &raw, "json", "array element is not an object".into()),
            }
        }
        drop(rx);
        let parsed = parser
            .await
            .map_err(|e| RunError::Internal(format!("{name}: the JSON reader task failed: {e}")))?;
        landed?;
        parsed?;
        Ok(rows)
    }

    async fn read_parquet(&self, name: &str, lander: &mut Lander<'_>) -> Result<u64, RunError> {
        let reader = self.parquet_reader(name)?;
        let header: Vec<String> = reader
            .schema()
            .fields()
            .iter()
            .map(|f| f.name().clone())
            .collect();
        lander.begin(name, &header)?;
        let mut rows = 0u64;
        for batch in reader {
            let batch = batch?;
            lander.batch(&batch, rows).await?;
            rows += batch.num_rows() as u64;
        }
        Ok(rows)
    }

    async fn read_xlsx(&self, name: &str, lander: &mut Lander<'_>) -> Result<u64, RunError> {
        let range = self.sheet(name)?;
        let first_row = range.start().map_or(0, |(r, _)| r as u64);
        let mut rows_iter = range.rows();
        let Some(header) = rows_iter.next() else {
            return Err(InputError::new(name, "the sheet is empty")
                .rule("xlsx")
                .into());
        };
        let header: Vec<String> = header
            .iter()
            .map(cell_text)
            .map(Result::unwrap_or_default)
            .collect();
        lander.begin(name, &header)?;
        let mut rows = 0u64;
        for (i, row) in rows_iter.enumerate() {
            // Spreadsheet row numbers: the header is on the range's first row.
            let line = first_row + i as u64 + 2;
            let texts: Vec<Result<String, String>> = row.iter().map(cell_text).collect();
            if texts.iter().all(|t| t.as_deref().is_ok_and(str::is_empty)) {
                continue;
            }
            rows += 1;
            let raw = || {
                texts
                    .iter()
                    .map(|t| t.clone().unwrap_or_else(|e| e))
                    .collect::<Vec<_>>()
                    .join(",")
            };
            if let Some((col, Err(why))) = texts.iter().enumerate().find(|(_, t)| t.is_err()) {
                let reason = format!(
                    "column {}: cell error {why}",
                    header.get(col).map_or("?", |h| h.as_str())
                );
                lander.reject(line, &raw(), "xlsx", reason);
                continue;
            }
            lander
                .record(line, |i| texts.get(i).and_then(|t| t.as_deref().ok()), raw)
                .await?;
        }
        Ok(rows)
    }
}

/// A CSV header that cannot be read: the decoder's own message for an undecodable file (it
/// names file, line and encoding), the parser's otherwise.
fn header_error(name: &str, e: csv::Error) -> RunError {
    if e.is_io_error() {
        csv_io_error(name, e)
    } else {
        InputError::new(name, e).at_line(1).rule("csv").into()
    }
}

/// A CSV reader's I/O error: the input error the decoder put in it (naming line and encoding),
/// or the error itself.
fn csv_io_error(name: &str, e: csv::Error) -> RunError {
    match e.into_kind() {
        csv::ErrorKind::Io(io) => InputError::from_io(&io, name).into(),
        other => InputError::new(name, format!("{other:?}")).into(),
    }
}

/// The text of a spreadsheet cell: integers without a fraction, dates in ISO form; an error
/// cell (`#DIV/0!`) is `Err`.
fn cell_text(cell: &calamine::Data) -> Result<String, String> {
    use calamine::Data;
    Ok(match cell {
        Data::Empty => String::new(),
        Data::String(s) | Data::DateTimeIso(s) | Data::DurationIso(s) => s.clone(),
        Data::Int(i) => i.to_string(),
        Data::Float(f) if f.fract() == 0.0 && f.abs() < 1e15 => format!("{}", *f as i64),
        Data::Float(f) => f.to_string(),
        Data::Bool(b) => b.to_string(),
        Data::DateTime(dt) => match dt.as_datetime() {
            Some(t) if t.time() == chrono::NaiveTime::MIN => t.format("%Y-%m-%d").to_string(),
            Some(t) => t.format("%Y-%m-%d %H:%M:%S").to_string(),
            None => dt.as_f64().to_string(),
        },
        Data::Error(e) => return Err(e.to_string()),
    })
}

/// Counts lines in what passes through, so a streaming parser can say where it is.
struct LineCounter<R> {
    inner: R,
    lines: std::sync::Arc<std::sync::atomic::AtomicU64>,
}

impl<R: Read> Read for LineCounter<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        let newlines = buf[..n].iter().filter(|b| **b == b'\n').count() as u64;
        self.lines
            .fetch_add(newlines, std::sync::atomic::Ordering::Relaxed);
        Ok(n)
    }
}

/// Streams the elements of a top-level JSON array into `tx`, each with its line.
fn parse_json_array(
    reader: impl Read,
    file: &str,
    tx: tokio::sync::mpsc::Sender<(u64, serde_json::Value)>,
) -> Result<(), RunError> {
    use serde::de::{Deserializer, SeqAccess, Visitor};
    let lines = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(1));
    // serde_json reads its input byte by byte from a reader, so the count is exact when an
    // element ends.
    let counter = LineCounter {
        inner: std::io::BufReader::new(reader),
        lines: lines.clone(),
    };
    struct Elements<'a> {
        lines: &'a std::sync::atomic::AtomicU64,
        tx: tokio::sync::mpsc::Sender<(u64, serde_json::Value)>,
    }
    impl<'de> Visitor<'de> for Elements<'_> {
        type Value = ();
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("a JSON array of objects")
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
            while let Some(value) = seq.next_element::<serde_json::Value>()? {
                let line = self.lines.load(std::sync::atomic::Ordering::Relaxed);
                if self.tx.blocking_send((line, value)).is_err() {
                    // The lander stopped (its error is reported); stop reading.
                    return Ok(());
                }
            }
            Ok(())
        }
    }
    let mut de = serde_json::Deserializer::from_reader(counter);
    de.deserialize_seq(Elements { lines: &lines, tx })
        .map_err(|e| {
            if e.is_io() {
                // An undecodable file: the decoder's error names line and encoding.
                return InputError::from_io(&std::io::Error::from(e), file).into();
            }
            let at = format!("column {}: {e}", e.column());
            InputError::new(file, at)
                .at_line(e.line() as u64)
                .rule("json")
                .into()
        })
}

#[async_trait::async_trait]
impl Source for FileSource {
    async fn plan(&self, cx: &PlanContext<'_>) -> Result<Vec<RunInput>, RunError> {
        let landed: HashSet<(&str, &str)> = cx
            .landed
            .iter()
            .map(|(p, _, c)| (p.as_str(), c.as_str()))
            .collect();
        if let Some(explicit) = cx.explicit {
            let mut out = Vec::new();
            for path in explicit {
                let path = std::fs::canonicalize(path)
                    .map_err(|e| RunError::from(InputError::new(path.display(), e)))?;
                let (size, checksum) = sha256_file(&path)?;
                if landed.contains(&(path.display().to_string().as_str(), checksum.as_str())) {
                    return Err(InputError::new(
                        path.display(),
                        "this exact file has already landed",
                    )
                    .rule("ledger")
                    .into());
                }
                out.push(file_input(&path, size, checksum));
            }
            return Ok(out);
        }
        let pattern = self.dir.join(&self.glob);
        let pattern = pattern.to_string_lossy();
        let mut paths: Vec<PathBuf> = glob::glob(&pattern)
            .map_err(|e| RunError::from(InputError::new(format!("glob `{pattern}`"), e)))?
            .filter_map(Result::ok)
            .filter(|p| p.is_file())
            .collect();
        paths.sort();
        let mut out = Vec::new();
        for path in paths {
            let (size, checksum) = sha256_file(&path)?;
            if !landed.contains(&(path.display().to_string().as_str(), checksum.as_str())) {
                out.push(file_input(&path, size, checksum));
            }
        }
        Ok(out)
    }

    async fn verify(&self, inputs: &[RunInput]) -> Result<(), RunError> {
        for input in inputs {
            let (_, checksum) = sha256_file(Path::new(&input.name))?;
            if checksum != input.checksum {
                return Err(InputError::new(
                    &input.name,
                    "changed since the interrupted run read it; restore the file",
                )
                .rule("ledger")
                .into());
            }
        }
        Ok(())
    }

    async fn columns(&self, input: &RunInput) -> Result<Vec<SourceColumn>, RunError> {
        let name = input.name.as_str();
        Ok(match self.format {
            FileFormat::Csv | FileFormat::Tsv => self
                .csv_reader(name)?
                .headers()
                .map_err(|e| header_error(name, e))?
                .iter()
                .map(SourceColumn::text)
                .collect(),
            FileFormat::JsonLines => {
                let mut first = String::new();
                let mut reader = std::io::BufReader::new(self.text_reader(name)?);
                while first.trim().is_empty() {
                    first.clear();
                    if reader
                        .read_line(&mut first)
                        .map_err(|e| RunError::from(InputError::from_io(&e, name)))?
                        == 0
                    {
                        break;
                    }
                }
                match serde_json::from_str::<serde_json::Value>(&first) {
                    Ok(serde_json::Value::Object(o)) => o.keys().map(SourceColumn::text).collect(),
                    _ => Vec::new(),
                }
            }
            // Keys are seen per element as the array streams by; the lander checks them on
            // the first element.
            FileFormat::Json => Vec::new(),
            FileFormat::Parquet => self
                .parquet_reader(name)?
                .schema()
                .fields()
                .iter()
                .map(|f| SourceColumn {
                    name: f.name().clone(),
                    data_type: Some(f.data_type().clone()),
                })
                .collect(),
            FileFormat::Xlsx => self
                .sheet(name)?
                .rows()
                .next()
                .map(|row| {
                    row.iter()
                        .map(|c| SourceColumn::text(cell_text(c).unwrap_or_default()))
                        .collect()
                })
                .unwrap_or_default(),
        })
    }

    async fn read(&self, input: &RunInput, lander: &mut Lander<'_>) -> Result<u64, RunError> {
        let name = input.name.as_str();
        match self.format {
            FileFormat::Csv | FileFormat::Tsv => self.read_csv(name, lander).await,
            FileFormat::JsonLines => self.read_json_lines(name, lander).await,
            FileFormat::Json => self.read_json_array(name, lander).await,
            FileFormat::Parquet => self.read_parquet(name, lander).await,
            FileFormat::Xlsx => self.read_xlsx(name, lander).await,
        }
    }
}
