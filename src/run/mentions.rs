//! The first pass of two-pass entity retrieval (`--strategy entity --param
//! sources=llm`): the run's own few-shot prompt for each test sentence, its
//! demonstrations chosen by the `first_pass` strategy, whose predicted
//! spans become the candidate mentions `entity` looks up in the second
//! pass. The requests are those the `first_pass` strategy's own arm would
//! make, so a run comparing both answers them once (the cache).

use super::two_pass::FirstPass;
use super::Settings;
use crate::backend::Request;
use crate::corpus::Sentence;
use crate::prompt::{Context, Pass};

/// Each test sentence's first request (in query order) and how its answer is read.
pub struct MentionPass<'a> {
    /// One request per test sentence, in order.
    pub requests: Vec<Request>,
    /// The run's settings (the prompt format reads the answers).
    pub settings: &'a Settings,
    /// The entity types the instruction names.
    pub ctx: &'a Context,
}

impl FirstPass for MentionPass<'_> {
    /// The predicted mentions as the sentence writes them, each once, in order.
    type Reading = Vec<String>;

    fn name(&self) -> &'static str {
        "first-pass"
    }

    fn request(&self, q: usize, _query: &Sentence) -> Request {
        self.requests[q].clone()
    }

    fn read(&self, query: &Sentence, answer: &str) -> (Vec<String>, bool) {
        let parsed = self
            .settings
            .format
            .style()
            .parse(answer, &query.text, &Pass::all(), self.ctx);
        let mut mentions: Vec<String> = Vec::new();
        for span in &parsed.spans {
            let text = query.slice(span.start, span.end).trim().to_string();
            if !text.is_empty() && !mentions.contains(&text) {
                mentions.push(text);
            }
        }
        let unreadable = mentions.is_empty() && parsed.unparseable > 0;
        (mentions, unreadable)
    }
}
