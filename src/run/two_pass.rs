//! Two-pass flows: one first request per test sentence, whose answer shapes
//! the experiment's own prompts (the second pass). The LLM-candidate variant
//! of knowledge hints is one ([`super::hints::CandidatePass`]: the model
//! lists a sentence's candidate terms, and their lookups become the hints).
//!
//! A [`FirstPass`] says what to ask about a sentence and how to read the
//! answer; nothing else about the flow is its own. [`answer`] gets the
//! answers from the backend every request of the run goes through, so they
//! are cached, resumed, counted and replayed like the second pass's;
//! [`requests`] are what a dry run writes instead (`<out>/<pass>/requests.jsonl`:
//! the second pass cannot be planned before their answers exist). Each
//! sentence's [`FirstExchange`] (key, answer, what was read) goes into the
//! log line of each of its second-pass requests, and a [`FirstPassSummary`]
//! into the report.

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::in_workers;
use crate::backend::{Backend, Request};
use crate::corpus::Sentence;
use crate::error::{Error, Result};

/// The first request of a two-pass flow: what to ask, how to read the answer.
pub trait FirstPass: Sync {
    /// What an answer is read into (logged as JSON).
    type Reading: Serialize + Send;

    /// The pass's name: its directory in a dry run, its entry in logs and the report.
    fn name(&self) -> &'static str;

    /// The request for test sentence `q` (`query`).
    fn request(&self, q: usize, query: &Sentence) -> Request;

    /// Reads the answer for `query`, and whether it could not be read at all.
    fn read(&self, query: &Sentence, answer: &str) -> (Self::Reading, bool);
}

/// One sentence's first request, as its second-pass log lines record it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FirstExchange {
    /// The first pass's name ([`FirstPass::name`]).
    pub pass: String,
    /// The request's key (cache key and batch `custom_id`).
    pub key: String,
    /// The model's answer.
    pub answer: String,
    /// What was read from it ([`FirstPass::Reading`] as JSON).
    pub read: serde_json::Value,
    /// Whether nothing could be read from it.
    pub unparseable: bool,
}

/// The first pass's answers, one per test sentence, in order.
pub struct FirstAnswers<R> {
    /// What was read from each answer.
    pub readings: Vec<R>,
    /// Each sentence's exchange, for the log.
    pub exchanges: Vec<FirstExchange>,
}

/// What a report says of a first pass.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FirstPassSummary {
    /// Its name ([`FirstPass::name`]).
    pub pass: String,
    /// Requests made: one per test sentence.
    pub requests: usize,
    /// Answers from which nothing could be read.
    pub unparseable: usize,
}

impl<R> FirstAnswers<R> {
    /// The counts the report gives.
    pub fn summary(&self) -> Option<FirstPassSummary> {
        let first = self.exchanges.first()?;
        Some(FirstPassSummary {
            pass: first.pass.clone(),
            requests: self.exchanges.len(),
            unparseable: self.exchanges.iter().filter(|e| e.unparseable).count(),
        })
    }
}

/// Asks `backend` the first request of every query, at most `concurrency`
/// at a time, calling `answered` after each. Stops at the first failure
/// (answers already generated stay in the backend's cache).
pub fn answer<P: FirstPass>(
    pass: &P,
    queries: &[Sentence],
    backend: &dyn Backend,
    concurrency: usize,
    answered: impl Fn() + Sync,
) -> Result<FirstAnswers<P::Reading>> {
    let id = backend.id();
    let ask = |(q, query): (usize, &Sentence)| -> Result<(P::Reading, FirstExchange)> {
        let request = pass.request(q, query);
        let answer = backend.generate(&request)?;
        let (reading, unparseable) = pass.read(query, &answer.text);
        let read = serde_json::to_value(&reading)
            .map_err(|e| Error::Internal(format!("cannot serialise a {} answer: {e}", pass.name())))?;
        answered();
        let exchange = FirstExchange {
            pass: pass.name().to_string(),
            key: request.key(&id),
            answer: answer.text,
            read,
            unparseable,
        };
        Ok((reading, exchange))
    };
    let answers = in_workers(concurrency, || {
        queries
            .par_iter()
            .enumerate()
            .map(ask)
            .collect::<Result<Vec<_>>>()
    })??;
    let (readings, exchanges) = answers.into_iter().unzip();
    Ok(FirstAnswers { readings, exchanges })
}

/// The first requests of every query, with their keys under `backend_id`:
/// what a dry run writes.
pub fn requests<P: FirstPass>(pass: &P, queries: &[Sentence], backend_id: &str) -> Vec<(String, Request)> {
    queries
        .iter()
        .enumerate()
        .map(|(q, query)| {
            let request = pass.request(q, query);
            (request.key(backend_id), request)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::{Answer, Input, Params};
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// Asks for a sentence's length; reads the answer as a number.
    struct Length;

    impl FirstPass for Length {
        type Reading = Option<usize>;

        fn name(&self) -> &'static str {
            "length"
        }

        fn request(&self, _q: usize, query: &Sentence) -> Request {
            Request {
                input: Input::Completion(query.text.clone()),
                params: Params {
                    model: "m".into(),
                    temperature: 0.0,
                    max_tokens: 4,
                    stop: Vec::new(),
                    seed: None,
                    cache_prompt: None,
                },
            }
        }

        fn read(&self, _query: &Sentence, answer: &str) -> (Option<usize>, bool) {
            let number = answer.trim().parse().ok();
            (number, number.is_none())
        }
    }

    /// Answers a prompt with its length, or with words when it is long.
    struct Counter(AtomicUsize);

    impl Backend for Counter {
        fn id(&self) -> String {
            "counter".into()
        }

        fn generate(&self, request: &Request) -> Result<Answer> {
            self.0.fetch_add(1, Ordering::Relaxed);
            let Input::Completion(text) = &request.input else {
                return Err(Error::Internal("a completion was sent".into()));
            };
            let n = text.chars().count();
            Ok(Answer {
                text: if n < 10 { n.to_string() } else { "many".into() },
                usage: None,
            })
        }
    }

    fn sentence(text: &str) -> Sentence {
        Sentence {
            id: text.into(),
            text: text.into(),
            tokens: Vec::new(),
            entities: Vec::new(),
            doc: None,
            meta: Default::default(),
        }
    }

    #[test]
    fn every_query_is_asked_once_in_order_and_read() {
        let queries: Vec<Sentence> = ["abc", "a longer sentence", "hello"].map(sentence).to_vec();
        let backend = Counter(AtomicUsize::new(0));
        let answered = AtomicUsize::new(0);
        let answers = answer(&Length, &queries, &backend, 2, || {
            answered.fetch_add(1, Ordering::Relaxed);
        })
        .unwrap();
        assert_eq!(answers.readings, [Some(3), None, Some(5)]);
        assert_eq!((backend.0.into_inner(), answered.into_inner()), (3, 3));
        let keys: Vec<String> = requests(&Length, &queries, "counter")
            .into_iter()
            .map(|(key, _)| key)
            .collect();
        let logged: Vec<&str> = answers.exchanges.iter().map(|e| e.key.as_str()).collect();
        assert_eq!(logged, keys, "the dry run's keys are the answered requests'");
        assert_eq!(answers.exchanges[1].answer, "many");
        assert_eq!(answers.exchanges[0].read, serde_json::json!(3));
        assert_eq!(
            answers.summary(),
            Some(FirstPassSummary {
                pass: "length".into(),
                requests: 3,
                unparseable: 1
            })
        );
    }
}
