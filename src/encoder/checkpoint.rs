//! Progress of a long embedding run kept on disk, so that an interrupted
//! `index build` resumes where it stopped instead of starting over.
//!
//! The directory holds `key` (what is being embedded: model and sentences),
//! `rows.f32` (the vectors done so far, in processing order, appended chunk
//! by chunk) and `truncated.jsonl`. A key mismatch discards everything; a row
//! cut short by a kill is ignored.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// A truncation, by position in processing order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cut {
    pub processed: usize,
    pub tokens: usize,
}

/// An open checkpoint directory.
pub struct Checkpoint {
    dir: PathBuf,
    rows: File,
    truncated: File,
}

/// What an earlier, interrupted run had finished.
#[derive(Debug, Default)]
pub struct Done {
    pub rows: Vec<Vec<f32>>,
    pub truncated: Vec<Cut>,
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> Error + '_ {
    move |e| Error::io(path, e)
}

impl Checkpoint {
    /// Opens `dir` for the work identified by `key`, returning what is already done.
    pub fn open(dir: &Path, key: &str, dim: usize) -> Result<(Checkpoint, Done)> {
        let key_path = dir.join("key");
        let same_work = std::fs::read_to_string(&key_path).is_ok_and(|k| k == key);
        if !same_work {
            let _ = std::fs::remove_dir_all(dir);
            std::fs::create_dir_all(dir).map_err(io(dir))?;
            std::fs::write(&key_path, key).map_err(io(&key_path))?;
        }
        let done = if same_work {
            read_done(dir, dim)?
        } else {
            Done::default()
        };
        let rows_path = dir.join("rows.f32");
        let rows = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&rows_path)
            .map_err(io(&rows_path))?;
        // Drop a row cut short by a kill, so appends stay aligned.
        rows.set_len((done.rows.len() * dim * 4) as u64)
            .map_err(io(&rows_path))?;
        let cuts_path = dir.join("truncated.jsonl");
        let truncated = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&cuts_path)
            .map_err(io(&cuts_path))?;
        Ok((
            Checkpoint {
                dir: dir.to_path_buf(),
                rows,
                truncated,
            },
            done,
        ))
    }

    /// Records the next rows (in processing order) and their truncations.
    pub fn record(&mut self, rows: &[Vec<f32>], cuts: &[Cut]) -> Result<()> {
        // Truncations first: rows are what counts as done.
        let cuts_path = self.dir.join("truncated.jsonl");
        for cut in cuts {
            let line = serde_json::to_string(cut).unwrap_or_default() + "\n";
            self.truncated
                .write_all(line.as_bytes())
                .map_err(io(&cuts_path))?;
        }
        let bytes: Vec<u8> = rows.iter().flatten().flat_map(|x| x.to_le_bytes()).collect();
        let rows_path = self.dir.join("rows.f32");
        self.rows
            .write_all(&bytes)
            .and_then(|_| self.rows.sync_data())
            .map_err(io(&rows_path))
    }
}

fn read_done(dir: &Path, dim: usize) -> Result<Done> {
    let rows_path = dir.join("rows.f32");
    let bytes = std::fs::read(&rows_path).unwrap_or_default();
    let rows: Vec<Vec<f32>> = bytes
        .chunks_exact(dim * 4)
        .map(|row| {
            row.chunks_exact(4)
                .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                .collect()
        })
        .collect();
    let cuts_text = std::fs::read_to_string(dir.join("truncated.jsonl")).unwrap_or_default();
    let truncated = cuts_text
        .lines()
        .filter_map(|l| serde_json::from_str::<Cut>(l).ok())
        .filter(|c| c.processed < rows.len())
        .collect();
    Ok(Done { rows, truncated })
}
