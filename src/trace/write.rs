//! The trace writer: JSON Lines, one object per line, each line written with one `write` call
//! as soon as it is complete, so a recorder killed at any moment (even by SIGKILL) leaves a
//! valid trace up to the last sample, and at most a torn last line that readers skip.

use std::fs::File;
use std::io::Write;
use std::path::Path;

use serde::Serialize;

use crate::error::{Error, Result};

/// An open trace file.
pub struct TraceWriter {
    file: File,
    path: std::path::PathBuf,
    buf: Vec<u8>,
}

impl TraceWriter {
    /// Create (or truncate) `path` and write the header line.
    pub fn create(path: &Path, header: &impl Serialize) -> Result<TraceWriter> {
        let file = File::create(path).map_err(|e| Error::io(path, e))?;
        let mut w = TraceWriter {
            file,
            path: path.to_path_buf(),
            buf: Vec::with_capacity(512),
        };
        w.line(header)?;
        Ok(w)
    }

    /// Append one object as a line, in a single write.
    pub fn line(&mut self, v: &impl Serialize) -> Result<()> {
        self.buf.clear();
        serde_json::to_writer(&mut self.buf, v)
            .map_err(|e| Error::Usage(format!("cannot encode a trace line: {e}")))?;
        self.buf.push(b'\n');
        self.file
            .write_all(&self.buf)
            .map_err(|e| Error::io(&self.path, e))
    }
}
