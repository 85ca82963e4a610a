//! Entity-level selection (GPT-NER's entity k-NN, without a trained
//! tagger): the k slots go first to the query's candidate mentions, each
//! shown by a pool sentence that annotates it, then to a `base` strategy.
//!
//! Candidates come from any of four sources (`sources`):
//! - `lexicon`: the pool's own mention strings (its gazetteer, see
//!   [`crate::knowledge::gazetteer`]) found in the query by the knowledge
//!   matcher: case-insensitive, on token boundaries, longest first, not
//!   overlapping;
//! - `kb`: the names of the `--knowledge` sources found in the query, for
//!   those the pool annotates (the matched text or the term's name);
//! - `ngrams`: the query's word n-grams (n ≤ 4) not already covered, each
//!   embedded and searched among the mention vectors of the index's
//!   mention index; the nearest mention string counts when its cosine
//!   reaches `threshold` ("breast carcinoma" → "breast cancer");
//! - `llm`: the spans a first LLM pass predicted (given with the query,
//!   [`Query::mentions`]; only `exemplar run` makes that pass), looked up
//!   verbatim, else among the mention vectors when the encoder is given.
//!
//! Candidates are taken longest first, then rarest in the pool; each gets
//! `per_mention` demonstrations: the pool sentences annotating it that score
//! best by `base` against the query (BM25, cosine, or their reciprocal rank
//! fusion within those sentences). `unannotated` slots then show, for the
//! candidates most often left unannotated in the pool, a pool sentence where
//! the string occurs without annotation (teaching when not to tag). `base`'s ranking fills the
//! rest. Demonstrations are ordered by their base score, so the order
//! (most similar last by default) works as for the other strategies, and a
//! query without candidates gets exactly `base`'s demonstrations. Each
//! demonstration says why it was chosen ([`Reason`]).

use std::collections::HashMap;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::bm25::best as bm25_best;
use super::filter::Candidate;
use super::hybrid::{rrf, Hybrid};
use super::params::{Kind, ParamSpec, Params, Value};
use super::{Definition, Demo, Method, Pool, Query, Rank, ScoreKind, Setup, Strategy};
use crate::encoder::Encoder;
use crate::error::{Error, Result};
use crate::index::mentions::{in_context, normalise, Mentions};
use crate::index::{dot, Index, SearchMode};
use crate::knowledge::matcher::{is_word_char, STOP_WORDS};
use crate::knowledge::{gazetteer, Knowledge, TermList};
use crate::lexical::{self, Lexical, LexicalQuery};
use crate::names::Named;

crate::named! {
    /// Where a candidate mention of the query came from.
    pub enum MentionSource: "mention source" {
        /// The pool's own annotated mention strings, found in the query.
        Lexicon => "lexicon",
        /// A knowledge source's names found in the query.
        Kb => "kb",
        /// A word n-gram of the query near a mention vector.
        Ngrams => "ngrams",
        /// A span a first LLM pass predicted.
        Llm => "llm",
    }
}

/// The names `sources` takes, in the order candidates are gathered.
const SOURCES: &[&str] = &["lexicon", "kb", "ngrams", "llm"];

/// Why a demonstration was chosen (`reason` in a selection's JSON):
/// `{"mention": "breast cancer", "source": "lexicon"}` or `{"base": "bm25"}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Reason {
    /// It annotates (or, `unannotated`, shows without annotation) a candidate mention of the query.
    Mention {
        /// The candidate as the query writes it (or as the first pass gave it).
        mention: String,
        /// Where the candidate came from.
        source: MentionSource,
        /// The pool's mention string it was found as, when that differs
        /// from the candidate (a near n-gram, a knowledge source's name).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        matched: Option<String>,
        /// The sentence shows the string without annotating it.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        unannotated: bool,
    },
    /// The base strategy filled the slot.
    Base {
        /// The base strategy.
        base: Strategy,
    },
}

/// Most pool sentences a candidate's unannotated occurrences are looked for among.
const UNANNOTATED_SEARCH: usize = 64;

/// Most sentences of one mention scored against the query (the first in
/// the pool's order); the rest of a very frequent mention's score 0.
const MENTION_ROWS: usize = 256;

/// Longest query n-gram, in words, looked up among the mention vectors.
const MAX_NGRAM: usize = 4;

pub(super) const DEFINITION: Definition = Definition {
    params: &[
        ParamSpec {
            name: "sources",
            kind: Kind::Set(SOURCES),
            default: |_| Value::Text("lexicon".into()),
            help: "where candidate mentions come from, comma-separated: lexicon (the pool's annotated mentions), kb (--knowledge names), ngrams (query n-grams near a mention vector), llm (a first LLM pass's spans; exemplar run) [default: lexicon]",
        },
        ParamSpec {
            name: "base",
            kind: Kind::Choice(&["bm25", "knn", "hybrid"]),
            default: |_| Value::Text("bm25".into()),
            help: "ranks a mention's sentences against the query and fills the remaining slots: bm25, knn or hybrid [default: bm25]",
        },
        ParamSpec {
            name: "per_mention",
            kind: Kind::Count { min: 1, max: 16 },
            default: |_| Value::Count(1),
            help: "demonstrations per candidate mention, in [1, 16] [default: 1]",
        },
        ParamSpec {
            name: "unannotated",
            kind: Kind::Count { min: 0, max: 16 },
            default: |_| Value::Count(0),
            help: "slots for pool sentences where a candidate occurs unannotated (when not to tag), the candidates most often unannotated first, in [0, 16] [default: 0]",
        },
        ParamSpec {
            name: "threshold",
            kind: Kind::Real { min: -1.0, max: 1.0 },
            default: |_| Value::Real(0.8),
            help: "ngrams, llm: least cosine between a phrase and a mention vector, in [-1, 1] [default: 0.8]",
        },
        ParamSpec {
            name: "first_pass",
            kind: Kind::Choice(&["knn", "bm25", "hybrid", "random", "mmr", "coverage"]),
            default: |_| Value::Text("knn".into()),
            help: "llm: the strategy of the first pass, whose predicted spans are the candidates [default: knn]",
        },
    ],
    needs_vector: |params| {
        params.choice("base").is_ok_and(|b| b != "bm25")
            || params.set_of("sources").is_ok_and(|s| s.contains(&"ngrams"))
    },
    score: |params| {
        Ok(Some(match params.choice("base")? {
            "knn" => ScoreKind::Cosine,
            "hybrid" => ScoreKind::Rrf,
            _ => ScoreKind::Bm25,
        }))
    },
    build: |index, params, setup| Ok(Box::new(Entity::new(index, params, setup)?)),
};

/// Why `sources=llm` cannot run without `exemplar run`.
pub(super) const NEEDS_FIRST_PASS: &str = "strategy entity with sources=llm takes its candidates from a first LLM pass, which only `exemplar run --backend URL` makes (--param first-pass=knn); select, compare and the server have no backend";

/// The strategy of `method`'s first LLM pass, when its candidates come from one.
pub(super) fn first_pass(method: &Method) -> Result<Option<Strategy>> {
    if method.strategy != Strategy::Entity {
        return Ok(None);
    }
    let params = method.strategy.resolve(&method.params, super::DEFAULT_K)?;
    if !params.set_of("sources")?.contains(&"llm") {
        return Ok(None);
    }
    Strategy::from_name(params.choice("first_pass")?).map(Some)
}

/// How a mention's sentences are ranked and the rest of the slots filled.
enum Base {
    Bm25,
    Knn(SearchMode),
    Hybrid(Box<Hybrid>),
}

impl Base {
    fn strategy(&self) -> Strategy {
        match self {
            Base::Bm25 => Strategy::Bm25,
            Base::Knn(_) => Strategy::Knn,
            Base::Hybrid(_) => Strategy::Hybrid,
        }
    }
}

/// What the strategy derives from an index once: the pool's mention
/// strings as a matcher, and the sentences annotating each.
struct Lexicon {
    matcher: Knowledge,
    /// Normalised mention string → its key in the mention table.
    keys: HashMap<String, u32>,
    /// Key → the distinct rows annotating it, in row order.
    rows: Vec<Vec<u32>>,
}

impl Lexicon {
    fn of(index: &Index, mentions: &Mentions) -> Result<Lexicon> {
        let table = &mentions.table;
        let mut rows: Vec<Vec<u32>> = vec![Vec::new(); table.strings.len()];
        for m in &table.mentions {
            let of_key = &mut rows[m.key as usize];
            if of_key.last() != Some(&m.row) {
                of_key.push(m.row);
            }
        }
        let keys = table
            .strings
            .iter()
            .enumerate()
            .map(|(key, s)| (s.clone(), key as u32))
            .collect();
        let info = crate::knowledge::SourceInfo {
            name: gazetteer::NAME.to_string(),
            title: None,
            version: None,
            licence: None,
            origin: "the index's mentions".to_string(),
            sha256: index.manifest().corpus.sha256.clone(),
            terms: 0,
        };
        let terms = TermList::new(info, gazetteer::terms(index.examples()));
        Ok(Lexicon {
            matcher: Knowledge::new(vec![Box::new(terms)])?,
            keys,
            rows,
        })
    }
}

/// Entity-level selection over one index.
pub struct Entity {
    sources: Vec<MentionSource>,
    base: Base,
    per_mention: usize,
    unannotated: usize,
    threshold: f32,
    lexical: Arc<Lexical>,
    lexicon: Arc<Lexicon>,
    encoder: Option<Arc<dyn Encoder>>,
    knowledge: Option<Arc<Knowledge>>,
}

impl Entity {
    fn new(index: &Index, params: &Params, setup: &Setup) -> Result<Entity> {
        let sources = params
            .set_of("sources")?
            .into_iter()
            .map(MentionSource::from_name)
            .collect::<Result<Vec<_>>>()?;
        let mentions = index.mentions().ok_or_else(|| {
            Error::InvalidInput(
                "strategy entity needs the index's mention index, which this index (built before exemplar kept one) lacks: add it with `exemplar index mentions INDEX_DIR`, or rebuild the index".into(),
            )
        })?;
        if mentions.table.mentions.is_empty() {
            return Err(Error::InvalidInput(
                "strategy entity needs annotated sentences, and this index's pool has no entity annotations (plain text): choose demonstrations with bm25 or knn instead".into(),
            ));
        }
        let resources = &setup.resources;
        let needs = |source: MentionSource| sources.contains(&source);
        if needs(MentionSource::Kb) && resources.knowledge.is_none() {
            return Err(Error::InvalidInput(
                "strategy entity with sources=kb needs knowledge sources: give --knowledge (hpo, a .obo, .tsv or .jsonl file)".into(),
            ));
        }
        if needs(MentionSource::Ngrams) && resources.encoder.is_none() {
            return Err(Error::InvalidInput(
                "strategy entity with sources=ngrams embeds the query's n-grams and needs the index's encoder".into(),
            ));
        }
        if let Some(encoder) = &resources.encoder {
            if mentions.vectors.dim() != encoder.info().dimension && !mentions.vectors.is_empty() {
                return Err(Error::InvalidInput(
                    "the encoder given is not the one the mention vectors were made with".into(),
                ));
            }
        }
        let base = match params.choice("base")? {
            "knn" => Base::Knn(setup.mode),
            "hybrid" => {
                let hybrid_params = Strategy::Hybrid.resolve(&Params::default(), 1)?;
                Base::Hybrid(Box::new(Hybrid::new(index, &hybrid_params, setup)?))
            }
            _ => Base::Bm25,
        };
        Ok(Entity {
            sources,
            base,
            per_mention: params.count("per_mention")?,
            unannotated: params.count("unannotated")?,
            threshold: params.real("threshold")? as f32,
            lexical: lexical::of(index)?,
            lexicon: index.derived(|index| Lexicon::of(index, mentions))?,
            encoder: resources.encoder.clone(),
            knowledge: resources.knowledge.clone(),
        })
    }
}

/// A candidate mention of the query.
#[derive(Debug, Clone)]
struct Found {
    /// As the query writes it (or the first pass gave it).
    text: String,
    /// Characters of the query it covers, when found in it.
    span: Option<(usize, usize)>,
    /// Its string in the mention table.
    key: u32,
    source: MentionSource,
}

impl Rank for Entity {
    fn rank(&self, query: &Query, pool: &Pool, k: usize) -> Result<Vec<Demo>> {
        let found = self.candidates(query, pool.index())?;
        let terms = self.lexical.query(query.text);
        let mut scorer = Scorer::new(self, query, pool, &terms, k)?;
        let rows_of = |f: &Found| self.lexicon.rows[f.key as usize].as_slice();
        scorer.include(&found.iter().map(rows_of).collect::<Vec<_>>())?;
        let mention_slots = k.saturating_sub(self.unannotated.min(found.len()));
        let mut chosen: Vec<(Candidate, Reason)> = Vec::new();
        let strings = &pool.index().mentions().map(|m| &m.table.strings);
        for candidate in &found {
            if chosen.len() >= mention_slots {
                break;
            }
            let rows = &self.lexicon.rows[candidate.key as usize];
            let ranked = scorer.rank(rows);
            let want = (chosen.len() + self.per_mention).min(mention_slots);
            let picked = take(pool, &chosen, ranked, want);
            let matched = strings
                .and_then(|s| s.get(candidate.key as usize))
                .filter(|s| **s != normalise(&candidate.text))
                .cloned();
            chosen.extend(picked.into_iter().map(|c| {
                let reason = Reason::Mention {
                    mention: candidate.text.clone(),
                    source: candidate.source,
                    matched: matched.clone(),
                    unannotated: false,
                };
                (c, reason)
            }));
        }
        // The candidates most often left unannotated in the pool first: the
        // strings a model most needs to see untagged.
        let mut untagged: Vec<(&Found, Vec<u32>)> = match self.unannotated {
            0 => Vec::new(),
            _ => found
                .iter()
                .map(|candidate| (candidate, self.unannotated_rows(pool.index(), candidate)))
                .filter(|(_, rows)| !rows.is_empty())
                .collect(),
        };
        untagged.sort_by_key(|(_, rows)| std::cmp::Reverse(rows.len()));
        let mut shown_unannotated = 0;
        for (candidate, rows) in untagged {
            if shown_unannotated >= self.unannotated || chosen.len() >= k {
                break;
            }
            scorer.include(&[&rows])?;
            let picked = take(pool, &chosen, scorer.rank(&rows), chosen.len() + 1);
            if let Some(c) = picked.into_iter().next() {
                let reason = Reason::Mention {
                    mention: candidate.text.clone(),
                    source: candidate.source,
                    matched: None,
                    unannotated: true,
                };
                chosen.push((c, reason));
                shown_unannotated += 1;
            }
        }
        let fill = match self.base {
            // BM25's best for the query are at hand, more than k + chosen.
            Base::Bm25 => scorer.bm25_best.clone(),
            _ => self.base_best(query, pool, &terms, k + chosen.len())?,
        };
        let base = Reason::Base {
            base: self.base.strategy(),
        };
        let filled = take(pool, &chosen, fill, k);
        chosen.extend(filled.into_iter().map(|c| (c, base.clone())));
        // Best first by the base score: a stable sort keeps the base's own
        // order among equals, so a query without candidates gets exactly
        // the base's demonstrations.
        chosen.sort_by(|a, b| b.0.score.unwrap_or(0.0).total_cmp(&a.0.score.unwrap_or(0.0)));
        let candidates: Vec<Candidate> = chosen.iter().map(|(c, _)| *c).collect();
        let mut demos = pool.demos(&candidates);
        for (demo, (_, reason)) in demos.iter_mut().zip(chosen) {
            demo.reason = Some(reason);
        }
        Ok(demos)
    }
}

/// Up to `n` rows in all: those already `chosen` (kept, first) followed by
/// `ranked` ones the pool admits, distinct in text; returns only the new ones.
fn take(pool: &Pool, chosen: &[(Candidate, Reason)], ranked: Vec<Candidate>, n: usize) -> Vec<Candidate> {
    let before = chosen.len();
    if n <= before {
        return Vec::new();
    }
    let kept = pool.distinct(chosen.iter().map(|(c, _)| *c).chain(ranked), n);
    kept.into_iter().skip(before).collect()
}

impl Entity {
    /// The query's candidate mentions from every source, each string once
    /// (the first source that found it), longest first, then rarest.
    fn candidates(&self, query: &Query, index: &Index) -> Result<Vec<Found>> {
        let mut found: Vec<Found> = Vec::new();
        for &source in &self.sources {
            let more = match source {
                MentionSource::Lexicon => self.matched_by(&self.lexicon.matcher, query.text, source),
                MentionSource::Kb => match &self.knowledge {
                    Some(knowledge) => self.matched_by(knowledge, query.text, source),
                    None => Vec::new(),
                },
                MentionSource::Ngrams => self.near_ngrams(query.text, index, &found)?,
                MentionSource::Llm => self.of_first_pass(query, index)?,
            };
            for candidate in more {
                if !found.iter().any(|f| f.key == candidate.key) {
                    found.push(candidate);
                }
            }
        }
        let rows = &self.lexicon.rows;
        found.sort_by(|a, b| {
            let length = |f: &Found| f.text.chars().count();
            length(b)
                .cmp(&length(a))
                .then(rows[a.key as usize].len().cmp(&rows[b.key as usize].len()))
        });
        Ok(found)
    }

    /// The names `matcher` finds in `text` that the pool annotates (by the
    /// matched text, else by a term's name).
    fn matched_by(&self, matcher: &Knowledge, text: &str, source: MentionSource) -> Vec<Found> {
        matcher
            .find(text)
            .into_iter()
            .filter_map(|m| {
                let names = std::iter::once(m.text.as_str()).chain(m.terms.iter().map(|t| t.name.as_str()));
                let key = names
                    .map(normalise)
                    .find_map(|n| self.lexicon.keys.get(&n).copied())?;
                Some(Found {
                    text: m.text.clone(),
                    span: Some((m.start, m.end)),
                    key,
                    source,
                })
            })
            .collect()
    }

    /// The query's word n-grams not covered by `found`, near a mention
    /// vector: the best first, not overlapping each other.
    fn near_ngrams(&self, text: &str, index: &Index, found: &[Found]) -> Result<Vec<Found>> {
        let (Some(encoder), Some(mentions)) = (&self.encoder, index.mentions()) else {
            return Ok(Vec::new());
        };
        let covered = |start: usize, end: usize| {
            found
                .iter()
                .filter_map(|f| f.span)
                .any(|(s, e)| start < e && s < end)
        };
        let spans: Vec<(usize, usize)> = ngrams(text)
            .into_iter()
            .filter(|&(s, e)| !covered(s, e))
            .collect();
        if spans.is_empty() {
            return Ok(Vec::new());
        }
        let window = mentions.table.window;
        let texts: Vec<String> = spans
            .iter()
            .map(|&(s, e)| in_context(text, s, e, window))
            .collect();
        let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
        let vectors = encoder.embed(&refs)?.vectors;
        let mut near: Vec<(f32, (usize, usize), u32)> = spans
            .iter()
            .zip(&vectors)
            .filter_map(|(&span, vector)| {
                let best = mentions.nearest(vector, 1).into_iter().next()?;
                (best.similarity >= self.threshold).then_some((best.similarity, span, best.key))
            })
            .collect();
        near.sort_by(|a, b| b.0.total_cmp(&a.0));
        let mut kept: Vec<Found> = Vec::new();
        for (_, (start, end), key) in near {
            let overlaps = kept
                .iter()
                .filter_map(|f| f.span)
                .any(|(s, e)| start < e && s < end);
            if !overlaps {
                kept.push(Found {
                    text: slice_chars(text, start, end),
                    span: Some((start, end)),
                    key,
                    source: MentionSource::Ngrams,
                });
            }
        }
        Ok(kept)
    }

    /// The first pass's spans, looked up verbatim, else (with the encoder)
    /// among the mention vectors.
    fn of_first_pass(&self, query: &Query, index: &Index) -> Result<Vec<Found>> {
        let given = query
            .mentions
            .ok_or_else(|| Error::InvalidInput(NEEDS_FIRST_PASS.into()))?;
        let mut found = Vec::new();
        let mut unknown = Vec::new();
        for text in given {
            match self.lexicon.keys.get(&normalise(text)) {
                Some(&key) => found.push(Found {
                    text: text.clone(),
                    span: None,
                    key,
                    source: MentionSource::Llm,
                }),
                None => unknown.push(text.as_str()),
            }
        }
        if let (Some(encoder), Some(mentions), false) = (&self.encoder, index.mentions(), unknown.is_empty())
        {
            let vectors = encoder.embed(&unknown)?.vectors;
            for (text, vector) in unknown.iter().zip(&vectors) {
                if let Some(best) = mentions.nearest(vector, 1).into_iter().next() {
                    if best.similarity >= self.threshold {
                        found.push(Found {
                            text: text.to_string(),
                            span: None,
                            key: best.key,
                            source: MentionSource::Llm,
                        });
                    }
                }
            }
        }
        Ok(found)
    }

    /// Pool sentences where the candidate's string occurs, on word
    /// boundaries, overlapping no annotation.
    fn unannotated_rows(&self, index: &Index, candidate: &Found) -> Vec<u32> {
        let wanted = normalise(&candidate.text);
        let terms = self.lexical.query(&candidate.text);
        let Ok(top) = self.lexical.top(&terms, UNANNOTATED_SEARCH) else {
            return Vec::new();
        };
        top.into_iter()
            .filter(|&(row, _)| occurs_unannotated(&index.examples()[row], &wanted))
            .map(|(row, _)| row as u32)
            .collect()
    }

    /// The base strategy's best `n` for the query.
    fn base_best(
        &self,
        query: &Query,
        pool: &Pool,
        terms: &LexicalQuery,
        n: usize,
    ) -> Result<Vec<Candidate>> {
        match &self.base {
            Base::Bm25 => bm25_best(&self.lexical, terms, pool, n),
            Base::Knn(mode) => Ok(pool.nearest(query.vector()?, n, *mode)),
            Base::Hybrid(hybrid) => hybrid.best(query, pool, n),
        }
    }
}

/// Scores pool rows against one query by the base strategy.
struct Scorer<'a> {
    base: &'a Base,
    lexical: &'a Lexical,
    terms: &'a LexicalQuery,
    /// The best 2k + 8 rows by BM25 against the query, best first (bm25,
    /// hybrid; for base bm25 also the fill).
    bm25_best: Vec<Candidate>,
    /// Their scores by row.
    bm25: HashMap<usize, f32>,
    vector: Option<&'a [f32]>,
    index: &'a Index,
}

impl<'a> Scorer<'a> {
    fn new(
        entity: &'a Entity,
        query: &Query<'a>,
        pool: &Pool<'a>,
        terms: &'a LexicalQuery,
        k: usize,
    ) -> Result<Scorer<'a>> {
        let bm25_best = match entity.base {
            Base::Knn(_) => Vec::new(),
            _ => bm25_best(&entity.lexical, terms, pool, 2 * k + 8)?,
        };
        let bm25 = bm25_best
            .iter()
            .map(|c| (c.row, c.score.unwrap_or(0.0)))
            .collect();
        let vector = match entity.base {
            Base::Bm25 => None,
            _ => Some(query.vector()?),
        };
        Ok(Scorer {
            base: &entity.base,
            lexical: &entity.lexical,
            terms,
            bm25_best,
            bm25,
            vector,
            index: pool.index(),
        })
    }

    /// Adds the BM25 against the query of the rows of `lists` not scored
    /// yet, the first [`MENTION_ROWS`] of each list, in one pass.
    fn include(&mut self, lists: &[&[u32]]) -> Result<()> {
        if matches!(self.base, Base::Knn(_)) {
            return Ok(());
        }
        let mut missing: Vec<usize> = Vec::new();
        for list in lists {
            let absent = list
                .iter()
                .map(|&r| r as usize)
                .filter(|r| !self.bm25.contains_key(r));
            missing.extend(absent.take(MENTION_ROWS));
        }
        missing.sort_unstable();
        missing.dedup();
        let scores = self.lexical.scores(self.terms, &missing)?;
        self.bm25.extend(missing.into_iter().zip(scores));
        Ok(())
    }

    /// `rows` best first by the base score (ties in row order).
    fn rank(&self, rows: &[u32]) -> Vec<Candidate> {
        let bm25 = |row: usize| self.bm25.get(&row).copied().unwrap_or(0.0);
        let cosine = |row: usize| self.vector.map_or(0.0, |v| dot(v, self.index.vectors().row(row)));
        let sorted = |score: &dyn Fn(usize) -> f32| {
            let mut list: Vec<Candidate> = rows
                .iter()
                .map(|&r| Candidate {
                    row: r as usize,
                    score: Some(score(r as usize)),
                })
                .collect();
            list.sort_by(|a, b| b.score.unwrap_or(0.0).total_cmp(&a.score.unwrap_or(0.0)));
            list
        };
        match self.base {
            Base::Bm25 => sorted(&bm25),
            Base::Knn(_) => sorted(&cosine),
            Base::Hybrid(_) => rrf(&[&sorted(&cosine), &sorted(&bm25)], 60.0),
        }
    }
}

/// Word n-grams of `text` (n ≤ [`MAX_NGRAM`]) as character spans, those that
/// begin and end with a word of at least three characters holding a letter
/// or digit and not a function word (the matcher's [`STOP_WORDS`]).
fn ngrams(text: &str) -> Vec<(usize, usize)> {
    let mut words: Vec<(usize, usize)> = Vec::new();
    let mut start = None;
    let chars: Vec<char> = text.chars().collect();
    for (i, &c) in chars.iter().chain(std::iter::once(&' ')).enumerate() {
        match (c.is_whitespace(), start) {
            (false, None) => start = Some(i),
            (true, Some(s)) => {
                words.push((s, i));
                start = None;
            }
            _ => {}
        }
    }
    let content = |&(s, e): &(usize, usize)| {
        let word: String = chars[s..e].iter().flat_map(|c| c.to_lowercase()).collect();
        e - s >= 3 && word.chars().any(is_word_char) && !STOP_WORDS.contains(&word.as_str())
    };
    let mut spans = Vec::new();
    for first in 0..words.len() {
        for n in 1..=MAX_NGRAM.min(words.len() - first) {
            let (a, b) = (words[first], words[first + n - 1]);
            if content(&a) && content(&b) {
                spans.push((a.0, b.1));
            }
        }
    }
    spans
}

/// Characters `start..end` of `text`.
fn slice_chars(text: &str, start: usize, end: usize) -> String {
    text.chars().skip(start).take(end.saturating_sub(start)).collect()
}

/// Whether `wanted` (normalised) occurs in the sentence on word boundaries,
/// overlapping none of its entities.
fn occurs_unannotated(sentence: &crate::corpus::Sentence, wanted: &str) -> bool {
    let lower: Vec<char> = sentence.text.chars().flat_map(char::to_lowercase).collect();
    if lower.len() != sentence.text.chars().count() {
        return false; // lower-casing changed lengths: offsets would not line up
    }
    let wanted: Vec<char> = wanted.chars().collect();
    let n = wanted.len();
    if n == 0 || n > lower.len() {
        return false;
    }
    (0..=lower.len() - n).any(|start| {
        let end = start + n;
        lower[start..end] == wanted[..]
            && (start == 0 || !is_word_char(lower[start - 1]))
            && (end == lower.len() || !is_word_char(lower[end]))
            && !sentence.entities.iter().any(|e| start < e.end && e.start < end)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ngrams_begin_and_end_with_content_words() {
        let text = "the breast carcinoma of a woman";
        let spans: Vec<String> = ngrams(text)
            .into_iter()
            .map(|(s, e)| slice_chars(text, s, e))
            .collect();
        assert!(spans.contains(&"breast carcinoma".to_string()));
        assert!(spans.contains(&"carcinoma".to_string()));
        assert!(
            !spans.contains(&"breast carcinoma of a woman".to_string()),
            "at most four words"
        );
        assert!(!spans.iter().any(|s| s.starts_with("the ") || s.ends_with(" of")));
    }

    #[test]
    fn unannotated_occurrences_are_on_word_boundaries_outside_entities() {
        let sentence = |text: &str, entities: &[(usize, usize)]| {
            let spans: Vec<(usize, usize, &str)> = entities.iter().map(|&(s, e)| (s, e, "Disease")).collect();
            crate::corpus::annotated(text, &spans)
        };
        assert!(occurs_unannotated(
            &sentence("Cancer screening saves lives", &[]),
            "cancer"
        ));
        assert!(!occurs_unannotated(
            &sentence("Cancer screening", &[(0, 6)]),
            "cancer"
        ));
        assert!(!occurs_unannotated(&sentence("anticancer drugs", &[]), "cancer"));
        assert!(occurs_unannotated(
            &sentence("cancer and cancer", &[(0, 6)]),
            "cancer"
        ));
    }

    #[test]
    fn reasons_have_the_documented_json() {
        let mention = Reason::Mention {
            mention: "breast cancer".into(),
            source: MentionSource::Lexicon,
            matched: None,
            unannotated: false,
        };
        let json = serde_json::to_string(&mention).unwrap();
        assert_eq!(json, r#"{"mention":"breast cancer","source":"lexicon"}"#);
        let base = Reason::Base { base: Strategy::Bm25 };
        assert_eq!(serde_json::to_string(&base).unwrap(), r#"{"base":"bm25"}"#);
        for reason in [mention, base] {
            let back: Reason = serde_json::from_str(&serde_json::to_string(&reason).unwrap()).unwrap();
            assert_eq!(back, reason);
        }
    }
}
