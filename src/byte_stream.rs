//! The byte stream files travel in between adapters.
//!
//! Test Manager downloads produce one and the tracker's upload consumes one,
//! so the type lives here, beside neither port: `tracker` need not import
//! `testmanager` (nor the reverse) to move a file from one to the other.

/// A body read chunk by chunk, never whole: `Bytes` chunks, or the I/O error
/// that ended the stream. `'static` and `Send`, so it can cross tasks and be
/// handed to an HTTP client as a streaming request body.
pub type ByteStream = futures::stream::BoxStream<'static, Result<bytes::Bytes, std::io::Error>>;
