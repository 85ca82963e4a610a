//! Each test sentence's knowledge hints, from the terms found one of two
//! ways ([`CandidateSource`]): the sources' names matched in the whole
//! sentence, or the candidate terms the model lists in a first request
//! ([`CandidatePass`], the paper's DiRAG variant) looked up in the sources.

use rayon::prelude::*;

use super::two_pass::FirstPass;
use super::{request_for, Settings};
use crate::backend::Request;
use crate::corpus::Sentence;
use crate::knowledge::{HintLimits, Hints, Knowledge};
use crate::prompt::candidates::{self, Candidates};
use crate::prompt::Context;

crate::named! {
    /// Where the terms that hints are given for come from.
    #[derive(Default)]
    pub enum CandidateSource: "knowledge candidates" {
        /// Every name of the sources matched in the whole sentence (one request per prompt).
        #[default]
        Match => "match",
        /// The terms the model lists in a first, zero-shot request, looked up in the sources.
        Llm => "llm",
    }
}

/// The first request of `--knowledge-candidates llm`: the sentence's
/// candidate terms ([`candidates::prompt`]), with the run's endpoint and
/// decoding settings.
pub struct CandidatePass<'a> {
    /// The run's settings (endpoint, model, temperature, seed, answer length).
    pub settings: &'a Settings,
    /// The entity types the instruction names.
    pub ctx: &'a Context,
}

impl FirstPass for CandidatePass<'_> {
    type Reading = Candidates;

    fn name(&self) -> &'static str {
        "candidates"
    }

    fn request(&self, _q: usize, query: &Sentence) -> Request {
        request_for(self.settings, &candidates::prompt(self.ctx, &query.text))
    }

    fn read(&self, query: &Sentence, answer: &str) -> (Candidates, bool) {
        let read = candidates::parse(answer, &query.text);
        let unparseable = read.unparseable();
        (read, unparseable)
    }
}

/// Each query's hints from matching the sources in its whole text.
pub fn matched(knowledge: &Knowledge, limits: &HintLimits, queries: &[Sentence]) -> Vec<Hints> {
    queries
        .par_iter()
        .map(|q| knowledge.hints(&q.text, limits))
        .collect()
}

/// Each query's hints from looking up the candidates read from its first answer.
pub fn of_candidates(
    knowledge: &Knowledge,
    limits: &HintLimits,
    queries: &[Sentence],
    read: &[Candidates],
) -> Vec<Hints> {
    queries
        .par_iter()
        .zip(read)
        .map(|(q, candidates)| {
            let spans: Vec<(usize, usize)> = candidates.found.iter().map(|c| (c.start, c.end)).collect();
            knowledge.candidate_hints(&q.text, &spans, limits)
        })
        .collect()
}
