//! The robot log as a text file with its errors and warnings first.
//!
//! Test Manager's `GET testcaselogs/{id}/logs` format is not documented, so the body is read
//! by its shape:
//!
//! - **JSON** (a `Content-Type` naming JSON, or a body starting with `[` or `{`, that turns
//!   out to be one well-formed JSON value): the entries are the elements of the first array
//!   holding objects (a bare array, or the `data` of an envelope), or of a top-level array
//!   of strings. Each becomes one line, `time LEVEL message`, read from the usual field
//!   names (`timeStamp`, `level`, `message`, any case); an entry without a message is
//!   written as its JSON. A body that is not one JSON value (text lines that start with
//!   `[`, JSON lines) is read again as text.
//! - **Text**: each line is an entry; its level is the first level word (`Info`, `Warn`,
//!   `Error`, …) in its first 80 bytes. The full log is kept exactly as received.
//!
//! Entries at `Warn`, `Warning`, `Error`, `Fatal` or `Critical` are listed first, then the
//! whole log in Test Manager's order. A text log with no such entry, and anything that is
//! not UTF-8 text, is attached unchanged.
//!
//! Memory stays flat: the body is read chunk by chunk into two anonymous temporary files
//! (in the system's temporary directory, `TMPDIR`; removed by the OS even if the process
//! dies), one entry is held at most (cut at [`MAX_ENTRY_BYTES`]), and the result streams
//! from the files. Hand-written because no maintained crate splits the elements of a JSON
//! array out of a byte stream without holding the array.

use crate::byte_stream::ByteStream;
use futures::StreamExt;
use std::io::SeekFrom;
use tokio::fs::File;
use tokio::io::{AsyncSeekExt, AsyncWriteExt, BufWriter};

/// Longest entry kept whole; longer ones are cut and marked.
pub const MAX_ENTRY_BYTES: usize = 256 * 1024;

/// Why the log could not be prepared.
#[derive(Debug, thiserror::Error)]
pub enum RobotLogError {
    /// Test Manager sent more than the limit.
    #[error("Test Manager's robot log is over {limit} bytes")]
    TooLarge {
        /// The limit, in bytes.
        limit: u64,
    },
    /// Reading from Test Manager or writing the temporary files failed.
    #[error("could not read the robot log: {0}")]
    Io(#[from] std::io::Error),
}

/// The prepared file, ready to stream.
pub struct PreparedLog {
    /// Its exact length, in bytes.
    pub length: u64,
    /// Entries at warning level or above.
    pub problems: u64,
    /// All entries read.
    pub entries: u64,
    parts: Vec<Part>,
}

enum Part {
    Text(bytes::Bytes),
    File(File),
}

impl PreparedLog {
    /// The file's bytes, streamed from the temporary files in bounded chunks.
    pub fn into_stream(self) -> ByteStream {
        let parts = self.parts.into_iter().map(|part| match part {
            Part::Text(text) => futures::stream::once(async move { Ok(text) }).boxed(),
            Part::File(file) => {
                tokio_util::io::ReaderStream::with_capacity(file, 64 * 1024).boxed()
            }
        });
        futures::stream::iter(parts).flatten().boxed()
    }
}

/// Reads `body` (at most `limit` bytes) and prepares the text file. `json` is whether the
/// `Content-Type` named JSON. When the reordered file would be longer than `fit` (the
/// room the mapping leaves), the log alone is attached: text as received, JSON as lines.
pub async fn prepare(
    body: ByteStream,
    json: bool,
    limit: u64,
    fit: u64,
) -> Result<PreparedLog, RobotLogError> {
    let mut reader = Reader::new(json, limit, fit).await?;
    let mut body = body;
    while let Some(chunk) = body.next().await {
        reader.feed(&chunk?).await?;
    }
    reader.finish().await
}

/// How the body is read, decided by its first non-blank byte.
enum Shape {
    Undecided,
    Json(JsonEntries),
    Text(TextLines),
}

struct Reader {
    shape: Shape,
    json_type: bool,
    limit: u64,
    fit: u64,
    received: u64,
    /// The whole log: raw bytes (text) or rendered lines (JSON).
    all: BufWriter<File>,
    /// Warnings and errors, rendered.
    problems: BufWriter<File>,
    /// A copy of the raw JSON body, used when no entry could be read from it.
    raw: Option<BufWriter<File>>,
    entries: u64,
    problem_count: u64,
    /// Whether every text line was UTF-8 (otherwise the file goes unchanged).
    text_ok: bool,
}

async fn spool() -> std::io::Result<BufWriter<File>> {
    let file = tokio::task::spawn_blocking(tempfile::tempfile)
        .await
        .map_err(std::io::Error::other)??;
    Ok(BufWriter::with_capacity(64 * 1024, File::from_std(file)))
}

impl Reader {
    async fn new(json_type: bool, limit: u64, fit: u64) -> std::io::Result<Self> {
        Ok(Self {
            shape: Shape::Undecided,
            json_type,
            limit,
            fit,
            received: 0,
            all: spool().await?,
            problems: spool().await?,
            raw: None,
            entries: 0,
            problem_count: 0,
            text_ok: true,
        })
    }

    async fn feed(&mut self, chunk: &[u8]) -> Result<(), RobotLogError> {
        self.received += chunk.len() as u64;
        if self.received > self.limit {
            return Err(RobotLogError::TooLarge { limit: self.limit });
        }
        if let Shape::Undecided = self.shape {
            // Blank bytes before the first entry are kept raw until the shape is known.
            let Some(first) = chunk.iter().find(|b| !b.is_ascii_whitespace()) else {
                self.all.write_all(chunk).await?;
                return Ok(());
            };
            if self.json_type || matches!(first, b'[' | b'{') {
                // What was kept raw so far starts the raw copy; the rendered log starts anew.
                self.raw = Some(std::mem::replace(&mut self.all, spool().await?));
                self.shape = Shape::Json(JsonEntries::default());
            } else {
                self.shape = Shape::Text(TextLines::default());
            }
        }
        match &mut self.shape {
            Shape::Json(json) => {
                let entries = json.feed(chunk);
                if let Some(raw) = &mut self.raw {
                    raw.write_all(chunk).await?;
                }
                self.write_json(entries).await
            }
            Shape::Text(lines) => {
                let lines = lines.feed(chunk);
                self.all.write_all(chunk).await?;
                self.write_text(lines).await
            }
            Shape::Undecided => unreachable!("decided above"),
        }
    }

    async fn write_json(&mut self, entries: Vec<Captured>) -> Result<(), RobotLogError> {
        for entry in entries {
            let (line, problem) = render_json_entry(&entry);
            self.entries += 1;
            self.all.write_all(line.as_bytes()).await?;
            self.all.write_all(b"\n").await?;
            if problem {
                self.problem_count += 1;
                self.problems.write_all(line.as_bytes()).await?;
                self.problems.write_all(b"\n").await?;
            }
        }
        Ok(())
    }

    async fn write_text(&mut self, lines: Vec<Captured>) -> Result<(), RobotLogError> {
        for line in lines {
            self.entries += 1;
            let text = match std::str::from_utf8(&line.bytes) {
                Ok(text) => text,
                // A cut line may end inside a character: keep what is whole.
                Err(e) if line.cut && e.error_len().is_none() => {
                    std::str::from_utf8(&line.bytes[..e.valid_up_to()]).unwrap_or_default()
                }
                // Not text: the file goes unchanged.
                Err(_) => {
                    self.text_ok = false;
                    continue;
                }
            };
            let text = text.trim_end_matches('\r');
            if level_of_text(text).is_some_and(is_problem) {
                self.problem_count += 1;
                self.problems.write_all(text.as_bytes()).await?;
                if line.cut {
                    self.problems.write_all(CUT_MARK.as_bytes()).await?;
                }
                self.problems.write_all(b"\n").await?;
            }
        }
        Ok(())
    }

    async fn finish(mut self) -> Result<PreparedLog, RobotLogError> {
        match std::mem::replace(&mut self.shape, Shape::Undecided) {
            Shape::Text(mut lines) => {
                if let Some(last) = lines.finish() {
                    self.write_text(vec![last]).await?;
                }
                let all = finish_file(std::mem::replace(&mut self.all, spool().await?)).await?;
                self.finish_text(all).await
            }
            Shape::Json(json) => {
                let raw = self.raw.take().expect("JSON bodies are copied");
                if !json.well_formed() {
                    // Text that starts like JSON (`[10:00:01] Info …`), or JSON lines.
                    return self.reread_as_text(finish_file(raw).await?).await;
                }
                if self.entries == 0 {
                    // JSON, but not a list of entries: attach what Test Manager sent.
                    return Ok(unchanged(finish_file(raw).await?, 0).await?);
                }
                let all = finish_file(std::mem::replace(&mut self.all, spool().await?)).await?;
                self.problems_then(all, "The full log follows in Test Manager's order.")
                    .await
            }
            Shape::Undecided => Ok(unchanged(finish_file(self.all).await?, 0).await?),
        }
    }

    /// Problems first, then `all` (the log as received), if there are problems and it is text.
    async fn finish_text(self, all: File) -> Result<PreparedLog, RobotLogError> {
        if self.problem_count == 0 || !self.text_ok {
            return Ok(unchanged(all, self.entries).await?);
        }
        self.problems_then(
            all,
            "The full log follows exactly as Test Manager holds it.",
        )
        .await
    }

    /// The problems this reader found, then `all`, laid out (see [`layout`]).
    async fn problems_then(self, all: File, full_note: &str) -> Result<PreparedLog, RobotLogError> {
        let problems = finish_file(self.problems).await?;
        layout(
            self.problem_count,
            self.entries,
            problems,
            all,
            full_note,
            self.fit,
        )
        .await
    }

    /// Reads the raw copy of a body that was not JSON after all as text lines.
    async fn reread_as_text(mut self, mut raw: File) -> Result<PreparedLog, RobotLogError> {
        use tokio::io::AsyncReadExt;
        self.problems = spool().await?;
        self.entries = 0;
        self.problem_count = 0;
        self.text_ok = true;
        let mut lines = TextLines::default();
        let mut buffer = vec![0u8; 64 * 1024];
        loop {
            let n = raw.read(&mut buffer).await?;
            if n == 0 {
                break;
            }
            let done = lines.feed(&buffer[..n]);
            self.write_text(done).await?;
        }
        if let Some(last) = lines.finish() {
            self.write_text(vec![last]).await?;
        }
        raw.seek(SeekFrom::Start(0)).await?;
        self.finish_text(raw).await
    }
}

/// Header, problems, then the full log; the full log alone if that would not `fit`.
async fn layout(
    problem_count: u64,
    entries: u64,
    problems: File,
    all: File,
    full_note: &str,
    fit: u64,
) -> Result<PreparedLog, RobotLogError> {
    let header = format!(
        "Robot log: {problem_count} error and warning entries of {entries}, listed first. \
             {full_note}\n\n==== Errors and warnings ====\n"
    );
    let between = "\n==== Full log ====\n";
    let problems_len = problems.metadata().await?.len();
    let all_len = all.metadata().await?.len();
    let length = (header.len() + between.len()) as u64 + problems_len + all_len;
    if length > fit {
        return Ok(unchanged(all, entries).await?);
    }
    Ok(PreparedLog {
        length,
        problems: problem_count,
        entries,
        parts: vec![
            Part::Text(header.into()),
            Part::File(problems),
            Part::Text(between.into()),
            Part::File(all),
        ],
    })
}

async fn finish_file(mut writer: BufWriter<File>) -> std::io::Result<File> {
    writer.flush().await?;
    let mut file = writer.into_inner();
    file.seek(SeekFrom::Start(0)).await?;
    Ok(file)
}

async fn unchanged(file: File, entries: u64) -> std::io::Result<PreparedLog> {
    Ok(PreparedLog {
        length: file.metadata().await?.len(),
        problems: 0,
        entries,
        parts: vec![Part::File(file)],
    })
}

const CUT_MARK: &str = " … (entry cut)";

/// One entry's bytes, and whether it was cut at [`MAX_ENTRY_BYTES`].
#[derive(Debug, Default, PartialEq)]
struct Captured {
    bytes: Vec<u8>,
    cut: bool,
}

impl Captured {
    fn push(&mut self, byte: u8) {
        if self.bytes.len() < MAX_ENTRY_BYTES {
            self.bytes.push(byte);
        } else {
            self.cut = true;
        }
    }
}

/// Splits a byte stream into lines.
#[derive(Default)]
struct TextLines {
    line: Captured,
}

impl TextLines {
    fn feed(&mut self, chunk: &[u8]) -> Vec<Captured> {
        let mut done = Vec::new();
        for &byte in chunk {
            if byte == b'\n' {
                done.push(std::mem::take(&mut self.line));
            } else {
                self.line.push(byte);
            }
        }
        done
    }

    fn finish(&mut self) -> Option<Captured> {
        let last = std::mem::take(&mut self.line);
        (!last.bytes.is_empty()).then_some(last)
    }
}

/// Nesting deeper than this is counted, not stacked, so hostile input cannot grow memory.
const MAX_DEPTH: usize = 256;

/// Splits the entries (see [`JsonEntries::at_entry_level`]) out of a JSON byte stream and
/// tells whether the stream was one well-formed value.
#[derive(Default)]
struct JsonEntries {
    /// Open containers: `[` or `{`, up to [`MAX_DEPTH`].
    stack: Vec<u8>,
    /// Containers opened beyond [`MAX_DEPTH`], counted rather than held.
    overflow: usize,
    in_string: bool,
    escaped: bool,
    /// Stack depth inside the entries array, once it is found.
    entries_depth: Option<usize>,
    /// The entries array has closed: nothing more is an entry.
    entries_done: bool,
    current: Option<Captured>,
    /// The top-level value has closed.
    closed_top: bool,
    /// Not one well-formed JSON value: bytes after it, or brackets that do not match.
    malformed: bool,
}

impl JsonEntries {
    /// Whether a value starting here is an entry. The entries array is the first array
    /// holding objects (or the top-level array, holding strings); it is fixed once found.
    fn at_entry_level(&mut self, object: bool) -> bool {
        if self.entries_done
            || self.overflow > 0
            || self.stack.last() != Some(&b'[')
            || self.current.is_some()
        {
            return false;
        }
        match self.entries_depth {
            Some(depth) => depth == self.stack.len(),
            None if object || self.stack.len() == 1 => {
                self.entries_depth = Some(self.stack.len());
                true
            }
            None => false,
        }
    }

    /// One complete JSON value, nothing after it.
    fn well_formed(&self) -> bool {
        !self.malformed
            && self.closed_top
            && !self.in_string
            && self.stack.is_empty()
            && self.overflow == 0
    }

    fn feed(&mut self, chunk: &[u8]) -> Vec<Captured> {
        let mut done = Vec::new();
        for &byte in chunk {
            if self.in_string {
                if let Some(current) = &mut self.current {
                    current.push(byte);
                }
                if self.escaped {
                    self.escaped = false;
                } else if byte == b'\\' {
                    self.escaped = true;
                } else if byte == b'"' {
                    self.in_string = false;
                    if Some(self.stack.len()) == self.entries_depth {
                        done.extend(self.current.take());
                    }
                }
                continue;
            }
            if self.closed_top && !byte.is_ascii_whitespace() {
                self.malformed = true;
            }
            match byte {
                b'"' => {
                    self.in_string = true;
                    if self.at_entry_level(false) {
                        self.current = Some(Captured::default());
                    }
                    if let Some(current) = &mut self.current {
                        current.push(byte);
                    }
                }
                b'{' | b'[' => {
                    if byte == b'{' && self.at_entry_level(true) {
                        self.current = Some(Captured::default());
                    }
                    if let Some(current) = &mut self.current {
                        current.push(byte);
                    }
                    if self.stack.len() < MAX_DEPTH {
                        self.stack.push(byte);
                    } else {
                        self.overflow += 1;
                    }
                }
                b'}' | b']' => {
                    if let Some(current) = &mut self.current {
                        current.push(byte);
                    }
                    if self.overflow > 0 {
                        self.overflow -= 1;
                        continue;
                    }
                    let opener = if byte == b'}' { b'{' } else { b'[' };
                    if self.stack.pop() != Some(opener) {
                        self.malformed = true;
                    }
                    if self.stack.is_empty() {
                        self.closed_top = true;
                    }
                    if self.current.is_some() && Some(self.stack.len()) == self.entries_depth {
                        done.extend(self.current.take());
                    } else if self
                        .entries_depth
                        .is_some_and(|depth| self.stack.len() < depth)
                    {
                        self.entries_done = true;
                    }
                }
                _ => {
                    if let Some(current) = &mut self.current {
                        current.push(byte);
                    }
                }
            }
        }
        done
    }
}

/// One JSON entry as a line, and whether it is a warning or worse.
fn render_json_entry(entry: &Captured) -> (String, bool) {
    let lossy = || String::from_utf8_lossy(&entry.bytes).into_owned();
    if entry.cut {
        let text = lossy();
        let problem = level_of_text(&text).is_some_and(is_problem);
        return (format!("{}{CUT_MARK}", one_line(&text)), problem);
    }
    match serde_json::from_slice::<serde_json::Value>(&entry.bytes) {
        Ok(serde_json::Value::Object(fields)) => {
            let pick = |names: &[&str]| {
                fields.iter().find_map(|(key, value)| {
                    names
                        .iter()
                        .any(|n| key.eq_ignore_ascii_case(n))
                        .then(|| match value {
                            serde_json::Value::String(s) => s.clone(),
                            serde_json::Value::Null => String::new(),
                            other => other.to_string(),
                        })
                        .filter(|s| !s.is_empty())
                })
            };
            let level = pick(&["level", "logLevel", "severity"]);
            let time = pick(&["timeStamp", "time", "timestamp", "date"]);
            let message = pick(&["message", "rawMessage", "msg", "text"]);
            let problem = level.as_deref().is_some_and(is_problem);
            let line = match message {
                Some(message) => [time, level, Some(message)]
                    .into_iter()
                    .flatten()
                    .collect::<Vec<_>>()
                    .join(" "),
                None => serde_json::Value::Object(fields).to_string(),
            };
            (one_line(&line), problem)
        }
        Ok(serde_json::Value::String(text)) => {
            let problem = level_of_text(&text).is_some_and(is_problem);
            (one_line(&text), problem)
        }
        Ok(other) => (other.to_string(), false),
        Err(_) => {
            let text = lossy();
            let problem = level_of_text(&text).is_some_and(is_problem);
            (one_line(&text), problem)
        }
    }
}

/// Continuation lines of a multi-line message are indented, so each entry starts at column 0.
fn one_line(text: &str) -> String {
    text.trim_end()
        .replace("\r\n", "\n")
        .replace('\n', "\n    ")
}

const LEVELS: [&str; 12] = [
    "trace",
    "debug",
    "verbose",
    "info",
    "information",
    "notice",
    "warn",
    "warning",
    "error",
    "err",
    "fatal",
    "critical",
];

/// The first level word in the first 80 bytes of a line.
fn level_of_text(text: &str) -> Option<&str> {
    let head = match text.char_indices().nth(80) {
        Some((end, _)) => &text[..end],
        None => text,
    };
    head.split(|c: char| !c.is_ascii_alphabetic())
        .find(|word| LEVELS.iter().any(|l| word.eq_ignore_ascii_case(l)))
}

/// Warning or worse.
fn is_problem(level: &str) -> bool {
    ["warn", "warning", "error", "err", "fatal", "critical"]
        .iter()
        .any(|l| level.trim().eq_ignore_ascii_case(l))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entries(chunks: &[&str]) -> Vec<String> {
        let mut json = JsonEntries::default();
        let out: Vec<Captured> = chunks
            .iter()
            .flat_map(|c| json.feed(c.as_bytes()))
            .collect();
        assert!(json.well_formed());
        out.into_iter()
            .map(|c| String::from_utf8(c.bytes).unwrap())
            .collect()
    }

    #[test]
    fn splits_a_bare_array_across_chunk_boundaries() {
        let body =
            r#"[{"level":"Info","message":"a [b] {c}"}, {"level":"Error","message":"q\"}"}]"#;
        for split in 0..body.len() {
            let (a, b) = body.split_at(split);
            assert_eq!(
                entries(&[a, b]),
                vec![
                    r#"{"level":"Info","message":"a [b] {c}"}"#,
                    r#"{"level":"Error","message":"q\"}"}"#
                ],
                "split at {split}"
            );
        }
    }

    #[test]
    fn finds_the_entries_of_an_envelope() {
        let body = r#"{"data":[{"message":"x","tags":["a","b"]},"plain"],"paging":{"total":2}}"#;
        assert_eq!(
            entries(&[body]),
            vec![r#"{"message":"x","tags":["a","b"]}"#, r#""plain""#]
        );
    }

    #[test]
    fn renders_entries_as_lines() {
        let entry = |s: &str| Captured {
            bytes: s.as_bytes().to_vec(),
            cut: false,
        };
        assert_eq!(
            render_json_entry(&entry(
                r#"{"TimeStamp":"2026-11-27T10:00:00Z","Level":"Error","Message":"Card\ndeclined"}"#
            )),
            (
                "2026-11-27T10:00:00Z Error Card\n    declined".to_owned(),
                true
            )
        );
        assert_eq!(
            render_json_entry(&entry(r#"{"level":"Information","message":"ok"}"#)),
            ("Information ok".to_owned(), false)
        );
        assert_eq!(
            render_json_entry(&entry(r#"{"id":1}"#)),
            (r#"{"id":1}"#.to_owned(), false)
        );
    }

    #[test]
    fn reads_levels_from_text() {
        assert_eq!(
            level_of_text("2026-11-27 10:00:00 ERROR boom"),
            Some("ERROR")
        );
        assert_eq!(level_of_text("[Warn] slow"), Some("Warn"));
        assert_eq!(level_of_text("Info: no error here"), Some("Info"));
        assert_eq!(level_of_text("just words"), None);
        assert!(is_problem("Fatal") && !is_problem("Info"));
    }

    #[test]
    fn deep_nesting_is_counted_not_stacked() {
        let deep = format!("[{}{}, \"next\"]", "[".repeat(10_000), "]".repeat(10_000));
        let mut json = JsonEntries::default();
        let out = json.feed(deep.as_bytes());
        assert!(json.stack.len() <= MAX_DEPTH && json.stack.is_empty());
        assert_eq!(
            out.last().map(|c| c.bytes.as_slice()),
            Some(&b"\"next\""[..])
        );
    }

    #[test]
    fn long_entries_are_cut_not_held() {
        let long = format!("[\"{}\"]", "x".repeat(MAX_ENTRY_BYTES * 2));
        let mut json = JsonEntries::default();
        let out = json.feed(long.as_bytes());
        assert_eq!(out.len(), 1);
        assert!(out[0].cut);
        assert_eq!(out[0].bytes.len(), MAX_ENTRY_BYTES);
    }

    async fn prepared(body: &[u8], json: bool) -> (PreparedLog, String) {
        let stream: ByteStream = futures::stream::iter(
            body.chunks(7)
                .map(|c| Ok(bytes::Bytes::copy_from_slice(c)))
                .collect::<Vec<_>>(),
        )
        .boxed();
        let log = prepare(stream, json, 1 << 20, 1 << 20).await.unwrap();
        let (length, problems, entries) = (log.length, log.problems, log.entries);
        let mut out = Vec::new();
        let mut stream = log.into_stream();
        while let Some(chunk) = stream.next().await {
            out.extend_from_slice(&chunk.unwrap());
        }
        assert_eq!(out.len() as u64, length, "the announced length is exact");
        let log = PreparedLog {
            length,
            problems,
            entries,
            parts: Vec::new(),
        };
        (log, String::from_utf8(out).unwrap())
    }

    #[tokio::test]
    async fn text_logs_list_problems_first_and_keep_the_log_exact() {
        let body = "10:00 Info start\r\n10:01 Warn slow page\r\n10:02 Info click\r\n10:03 Error Card declined\r\n10:04 Info end";
        let (log, text) = prepared(body.as_bytes(), false).await;
        assert_eq!((log.problems, log.entries), (2, 5));
        let (head, full) = text.split_once("==== Full log ====\n").unwrap();
        assert_eq!(
            full, body,
            "the full log is byte for byte what Test Manager sent"
        );
        let warn = head.find("10:01 Warn slow page\n").unwrap();
        let error = head.find("10:03 Error Card declined\n").unwrap();
        assert!(warn < error && !head.contains("Info start"), "{head}");
    }

    #[tokio::test]
    async fn a_log_without_problems_or_not_text_is_unchanged() {
        let body = b"10:00 Info start\n10:01 Info end\n";
        assert_eq!(prepared(body, false).await.1.as_bytes(), body);
        // A valid error line beside bytes that are not UTF-8: binary, so left unchanged.
        let binary = [
            0xff, 0xfe, b'\n', b'E', b'r', b'r', b'o', b'r', b' ', b'x', b'\n',
        ];
        let stream: ByteStream =
            futures::stream::once(async move { Ok(bytes::Bytes::copy_from_slice(&binary)) })
                .boxed();
        let log = prepare(stream, false, 1 << 20, 1 << 20).await.unwrap();
        assert_eq!((log.length, log.problems), (binary.len() as u64, 0));
    }

    #[tokio::test]
    async fn json_logs_become_text_with_problems_first() {
        let body = r#"{"data":[
            {"timeStamp":"t1","level":"Info","message":"start"},
            {"timeStamp":"t2","level":"Error","message":"Card declined"},
            {"timeStamp":"t3","level":"Info","message":"end"}],"paging":{"total":3}}"#;
        let (log, text) = prepared(body.as_bytes(), true).await;
        assert_eq!((log.problems, log.entries), (1, 3));
        let (head, full) = text.split_once("==== Full log ====\n").unwrap();
        assert!(head.ends_with("t2 Error Card declined\n\n"), "{head}");
        assert_eq!(full, "t1 Info start\nt2 Error Card declined\nt3 Info end\n");
    }

    #[tokio::test]
    async fn json_that_holds_no_entries_is_attached_as_sent() {
        let body = br#"{"message":"no entries here"}"#;
        assert_eq!(prepared(body, true).await.1.as_bytes(), body);
    }

    #[tokio::test]
    async fn more_than_the_limit_is_refused() {
        let stream: ByteStream =
            futures::stream::iter((0..10).map(|_| Ok(bytes::Bytes::from_static(b"0123456789"))))
                .boxed();
        assert!(matches!(
            prepare(stream, false, 50, 50).await,
            Err(RobotLogError::TooLarge { limit: 50 })
        ));
    }

    #[tokio::test]
    async fn text_that_starts_like_json_is_read_as_text() {
        let body = "[10:00:01] Info Start\n[10:00:02] Info Typed into [\"Card number\"]\n\
                    [10:00:03] Error Card declined\n[10:00:04] Info End\n";
        let (log, text) = prepared(body.as_bytes(), false).await;
        assert_eq!((log.problems, log.entries), (1, 4));
        let (head, full) = text.split_once("==== Full log ====\n").unwrap();
        assert_eq!(full, body);
        assert!(head.contains("[10:00:03] Error Card declined\n"), "{head}");
    }

    #[tokio::test]
    async fn json_lines_are_read_as_text_lines() {
        let body = "{\"level\":\"Info\",\"message\":\"a\",\"tags\":[\"x\"]}\n\
                    {\"level\":\"Error\",\"message\":\"boom\"}\n";
        let (log, text) = prepared(body.as_bytes(), true).await;
        assert_eq!((log.problems, log.entries), (1, 2));
        assert!(text.ends_with(body), "the log is kept as sent: {text}");
    }

    #[test]
    fn only_the_first_array_of_objects_holds_entries() {
        assert_eq!(
            entries(&[r#"{"meta":{"tags":["a"]},"data":[{"message":"x"}],"links":["next"]}"#]),
            vec![r#"{"message":"x"}"#]
        );
    }

    #[tokio::test]
    async fn a_reordered_log_that_would_not_fit_is_attached_as_received() {
        let body = "10:00 Info start\n10:01 Error boom\n10:02 Info end\n";
        let stream: ByteStream =
            futures::stream::once(async move { Ok(bytes::Bytes::from_static(body.as_bytes())) })
                .boxed();
        let log = prepare(stream, false, 1 << 20, body.len() as u64 + 10)
            .await
            .unwrap();
        assert_eq!(log.length, body.len() as u64, "the log alone fits");
    }

    #[tokio::test]
    async fn a_cut_problem_line_keeps_its_whole_characters() {
        // An error line longer than an entry, cut inside a two-byte character.
        let mut body = b"Error ".to_vec();
        body.resize(MAX_ENTRY_BYTES - 1, b'x');
        body.extend_from_slice("é and more\n10:01 Info end\n".as_bytes());
        let (log, text) = prepared(&body, false).await;
        assert_eq!(log.problems, 1);
        let (head, _) = text.split_once("==== Full log ====\n").unwrap();
        assert!(
            head.contains(&format!("x{CUT_MARK}\n")),
            "the cut line is listed"
        );
    }
}
