//! An on-disk response cache around any backend. Answers are appended to one
//! JSONL file as they arrive (flushed and fsynced), keyed by everything that
//! determines them, so a rerun costs nothing and a run killed halfway resumes
//! exactly where it stopped. A line cut short by a kill is ignored on reading.

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use serde::{Deserialize, Serialize};

use super::{Answer, Backend, Request};
use crate::error::{Error, Result};

#[derive(Serialize, Deserialize)]
struct Entry {
    key: String,
    answer: Answer,
}

/// How many answers came from the cache and how many from the backend.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct CacheStats {
    pub hits: usize,
    pub misses: usize,
}

/// A backend whose answers are remembered on disk.
pub struct Cached<B> {
    inner: B,
    path: PathBuf,
    answers: Mutex<HashMap<String, Answer>>,
    file: Mutex<File>,
    hits: AtomicUsize,
    misses: AtomicUsize,
}

impl<B: Backend> Cached<B> {
    /// Opens (or creates) the cache file `path`.
    pub fn open(inner: B, path: &Path) -> Result<Self> {
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(|e| Error::io(parent, e))?;
        }
        let answers = read_entries(path)?;
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(|e| Error::io(path, e))?;
        Ok(Cached {
            inner,
            path: path.to_path_buf(),
            answers: Mutex::new(answers),
            file: Mutex::new(file),
            hits: AtomicUsize::new(0),
            misses: AtomicUsize::new(0),
        })
    }

    pub fn stats(&self) -> CacheStats {
        CacheStats {
            hits: self.hits.load(Ordering::Relaxed),
            misses: self.misses.load(Ordering::Relaxed),
        }
    }

    fn remember(&self, key: String, answer: &Answer) -> Result<()> {
        let mut line = serde_json::to_string(&Entry {
            key: key.clone(),
            answer: answer.clone(),
        })
        .map_err(|e| Error::Internal(format!("cannot serialise an answer: {e}")))?;
        line.push('\n');
        {
            // A kill between lines loses at most the answers in flight.
            let mut file = self.file.lock().unwrap_or_else(|p| p.into_inner());
            file.write_all(line.as_bytes())
                .and_then(|_| file.sync_data())
                .map_err(|e| Error::io(&self.path, e))?;
        }
        self.answers
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(key, answer.clone());
        Ok(())
    }
}

/// Reads a cache file; a missing file is an empty cache, and unreadable lines
/// (a line cut short by a kill) are skipped.
fn read_entries(path: &Path) -> Result<HashMap<String, Answer>> {
    let file = match File::open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(HashMap::new()),
        Err(e) => return Err(Error::io(path, e)),
    };
    let mut answers = HashMap::new();
    for line in BufReader::new(file).lines() {
        let line = line.map_err(|e| Error::io(path, e))?;
        if let Ok(entry) = serde_json::from_str::<Entry>(&line) {
            answers.insert(entry.key, entry.answer);
        }
    }
    Ok(answers)
}

impl<B: Backend> Backend for Cached<B> {
    fn id(&self) -> String {
        self.inner.id()
    }

    fn generate(&self, request: &Request) -> Result<Answer> {
        let key = request.key(&self.inner.id());
        let known = self
            .answers
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&key)
            .cloned();
        if let Some(answer) = known {
            self.hits.fetch_add(1, Ordering::Relaxed);
            return Ok(answer);
        }
        let answer = self.inner.generate(request)?;
        self.misses.fetch_add(1, Ordering::Relaxed);
        self.remember(key, &answer)?;
        Ok(answer)
    }
}

#[cfg(test)]
mod tests {
    use super::super::{Input, Params};
    use super::*;

    /// Counts calls; answers with the prompt reversed.
    struct Echo(AtomicUsize);

    impl Backend for Echo {
        fn id(&self) -> String {
            "echo".into()
        }
        fn generate(&self, request: &Request) -> Result<Answer> {
            self.0.fetch_add(1, Ordering::Relaxed);
            let Input::Completion(text) = &request.input else {
                unreachable!()
            };
            Ok(Answer {
                text: text.chars().rev().collect(),
                usage: None,
            })
        }
    }

    fn request(prompt: &str) -> Request {
        Request {
            input: Input::Completion(prompt.into()),
            params: Params {
                model: "m".into(),
                temperature: 0.0,
                max_tokens: 8,
                stop: vec![],
                seed: None,
            },
        }
    }

    #[test]
    fn answers_survive_a_restart_and_a_torn_last_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cache.jsonl");
        let cached = Cached::open(Echo(AtomicUsize::new(0)), &path).unwrap();
        assert_eq!(cached.generate(&request("abc")).unwrap().text, "cba");
        assert_eq!(cached.generate(&request("abc")).unwrap().text, "cba");
        assert_eq!(cached.stats(), CacheStats { hits: 1, misses: 1 });
        drop(cached);
        // A kill in the middle of writing the next answer:
        std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap()
            .write_all(b"{\"key\": \"12")
            .unwrap();

        let reopened = Cached::open(Echo(AtomicUsize::new(0)), &path).unwrap();
        assert_eq!(reopened.generate(&request("abc")).unwrap().text, "cba");
        assert_eq!(reopened.inner.0.load(Ordering::Relaxed), 0, "served from disk");
        reopened.generate(&request("xyz")).unwrap();
        assert_eq!(reopened.stats(), CacheStats { hits: 1, misses: 1 });
    }

    #[test]
    fn keys_change_with_every_parameter() {
        let base = request("abc");
        let mut hotter = base.clone();
        hotter.params.temperature = 0.7;
        let mut chat = base.clone();
        chat.input = Input::Chat(vec![]);
        let keys = [base.key("a"), base.key("b"), hotter.key("a"), chat.key("a")];
        let distinct: std::collections::HashSet<_> = keys.iter().collect();
        assert_eq!(distinct.len(), 4);
    }
}
