//! Generation done elsewhere: requests written as OpenAI batch-request lines
//! (`--dry-run`), and their answers read back from a batch output file.
//! The `custom_id` of each request is its cache key, so answers find their
//! requests whatever order the file is in.

use std::collections::HashMap;
use std::path::Path;

use serde_json::{json, Value};

use super::openai::{answer_from_body, body};
use super::{Answer, Api, Backend, Request};
use crate::error::{Error, Result};

/// One line of an OpenAI batch input file for `request`.
pub fn batch_request_line(request: &Request, custom_id: &str) -> Value {
    let url = Api::of(&request.input).path();
    json!({ "custom_id": custom_id, "method": "POST", "url": url, "body": body(request) })
}

/// Answers from a batch output file: lines `{"custom_id", "response": {"body": {...}}}`.
pub struct Replay {
    id: String,
    answers: HashMap<String, Answer>,
}

impl Replay {
    /// Reads `path`; `backend_id` must be the id the requests were keyed with
    /// (the dry run's `--backend`).
    pub fn open(path: &Path, backend_id: &str) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        let mut answers = HashMap::new();
        for (n, line) in text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
            let bad = |message: String| Error::Answers {
                path: path.to_path_buf(),
                line: n + 1,
                message,
            };
            let value: Value = serde_json::from_str(line).map_err(|e| bad(format!("not JSON: {e}")))?;
            let id = value["custom_id"]
                .as_str()
                .ok_or_else(|| bad("no custom_id".into()))?;
            let body = value
                .get("response")
                .and_then(|r| r.get("body"))
                .unwrap_or(&value);
            answers.insert(id.to_string(), answer_from_body(body).map_err(bad)?);
        }
        Ok(Replay {
            id: backend_id.to_string(),
            answers,
        })
    }
}

impl Backend for Replay {
    fn id(&self) -> String {
        self.id.clone()
    }

    fn generate(&self, request: &Request) -> Result<Answer> {
        let key = request.key(&self.id);
        self.answers.get(&key).cloned().ok_or_else(|| Error::Backend {
            endpoint: "answers file".into(),
            message: format!("no answer for request {key} (was the dry run made with the same options?)"),
        })
    }
}
