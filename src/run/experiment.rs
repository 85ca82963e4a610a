//! [`Experiment`]: an index, a test corpus and [`Settings`], from plan to report.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use std::sync::Arc;

use super::hints::{self, CandidatePass, CandidateSource};
use super::mentions::MentionPass;
use super::report::{ExperimentReport, FileId, InstructionFiles, Provenance};
use super::two_pass::{self, FirstExchange, FirstPass, FirstPassSummary};
use super::{first_requests, generate, output, plan, unseen_types, Planned, Planner, Prepared, Settings};
use crate::backend::Request;
use crate::backend::{Backend, CacheStats, Cached, OpenAi, OpenAiConfig, Replay};
use crate::corpus::Sentence;
use crate::encoder::{embed_all, Encoder, Truncation};
use crate::error::{Error, Result};
use crate::index::{Index, SearchMode, Vectors};
use crate::knowledge::{Hints, Knowledge, SourceInfo, SourceSpec};
use crate::prompt::candidates::Candidates;
use crate::prompt::{self, check_template, load_definitions, Context};
use crate::select::Resources;

/// The backend identity requests are keyed with when no server is named
/// (a dry run, or answers read back from a batch output file).
pub const BATCH_BACKEND: &str = "batch";

/// The files an instruction is made of besides the format and the types;
/// each is optional.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Instructions {
    /// Entity type definitions: a JSON object of type → definition.
    pub definitions: Option<PathBuf>,
    /// Annotation guidelines (text) injected into the instruction.
    pub guidelines: Option<PathBuf>,
    /// An instruction template replacing the format's built-in one.
    pub template: Option<PathBuf>,
}

/// Where an experiment's answers come from.
#[derive(Debug, Clone)]
pub enum AnswerSource {
    /// None: each strategy's requests are written as OpenAI batch lines
    /// (`<out>/<strategy>/requests.jsonl`), keyed with `backend_id`, and the
    /// experiment stops there. A two-pass run writes its first requests
    /// instead (`<out>/<pass>/requests.jsonl`), unless `first_answers` (a
    /// batch output file) answers them: then its second requests.
    DryRun {
        /// The identity the requests are keyed with.
        backend_id: String,
        /// The answers of a two-pass run's first requests.
        first_answers: Option<PathBuf>,
    },
    /// An OpenAI batch output file answering the requests of a dry run made
    /// with the same `backend_id`.
    Replay {
        /// The batch output file.
        file: PathBuf,
        /// The identity the dry run keyed its requests with.
        backend_id: String,
    },
    /// An OpenAI-compatible server, its answers kept in (and reused from)
    /// the response cache file `cache`.
    Server {
        /// How to reach the server.
        config: OpenAiConfig,
        /// The response cache file (created when missing).
        cache: PathBuf,
    },
}

impl AnswerSource {
    /// The backend identity of a dry run or a replay: the server's base URL
    /// when one is named, else [`BATCH_BACKEND`].
    pub fn batch_backend_id(server: Option<&str>) -> String {
        server.map_or_else(
            || BATCH_BACKEND.to_string(),
            |url| OpenAiConfig::new(url).base_url,
        )
    }

    /// The identity requests are keyed with (cache keys, batch `custom_id`s).
    pub fn backend_id(&self) -> String {
        match self {
            AnswerSource::DryRun { backend_id, .. } | AnswerSource::Replay { backend_id, .. } => {
                backend_id.clone()
            }
            AnswerSource::Server { config, .. } => config.base_url.clone(),
        }
    }
}

/// What [`Experiment::run`] tells its caller while it works.
#[derive(Debug, Clone, Copy)]
pub enum Event<'a> {
    /// Generation starts: this many requests, answered from the cache or not.
    Generating {
        /// Requests of all strategies together, or of the first pass.
        requests: usize,
        /// The first pass's name when these are its requests.
        first_pass: Option<&'a str>,
    },
    /// One request was answered (from any thread).
    Answered,
    /// Generation by the server ended, well or not: how the cache was used.
    CacheUsed {
        /// Answers taken from the cache and answers generated.
        stats: CacheStats,
        /// The response cache file.
        cache: &'a Path,
    },
    /// A dry run wrote `requests` batch request lines to `path`.
    RequestsWritten {
        /// One strategy's (or the first pass's) `requests.jsonl`.
        path: &'a Path,
        /// Its lines: one per request of that strategy.
        requests: usize,
        /// The first pass's name when these are its requests: the second
        /// pass needs their answers (see [`AnswerSource::DryRun`]).
        first_pass: Option<&'a str>,
    },
}

/// One experiment: demonstrations from an index, queries from a test
/// corpus with gold entities, one set of [`Settings`] for every strategy.
pub struct Experiment {
    settings: Settings,
    index: Index,
    index_dir: PathBuf,
    test: Vec<Sentence>,
    test_label: String,
    context: Context,
    instructions: InstructionFiles,
    knowledge: Option<Arc<Knowledge>>,
    /// The index's encoder, once the test sentences are embedded with it.
    encoder: Option<Arc<dyn Encoder>>,
    vectors: Option<Vectors>,
    warnings: Vec<String>,
}

impl Experiment {
    /// Opens the index at `index_dir` and prepares the prompts' context: the
    /// index's entity types, the instruction files and the knowledge sources.
    /// `test_label` names the test corpus in the report. Fails on settings
    /// no experiment can run with, an index without entities, an unreadable
    /// instruction file or knowledge source, or a template that does not
    /// name the types it must.
    pub fn new(
        index_dir: &Path,
        test: Vec<Sentence>,
        test_label: &str,
        mut settings: Settings,
        instructions: &Instructions,
    ) -> Result<Self> {
        let collapsed = settings.check()?;
        let index = Index::open(index_dir)?;
        let mut warnings: Vec<String> = collapsed.into_iter().collect();
        for method in &settings.methods {
            warnings.extend(method.check(&index, settings.k)?);
        }
        warnings.dedup();
        let entity_first_pass = settings.first_pass_method()?.is_some();
        let candidate_pass = settings
            .knowledge
            .as_ref()
            .is_some_and(|k| k.candidates == CandidateSource::Llm);
        if entity_first_pass && candidate_pass {
            return Err(Error::InvalidInput(
                "one first pass per run: entity's sources=llm and --knowledge-candidates llm cannot be combined".into(),
            ));
        }
        if let SearchMode::Hnsw { ef: None } = settings.search {
            settings.search = SearchMode::Hnsw {
                ef: Some(index.manifest().hnsw.ef_search),
            };
        }
        let types = prompt::entity_types(&index);
        if types.is_empty() {
            return Err(Error::InvalidInput(format!(
                "{} has no entities: nothing to learn from",
                index_dir.display()
            )));
        }
        let (context, files) = load_context(types, instructions)?;
        if let Some(template) = &context.template {
            check_template(settings.format.style().as_ref(), template)?;
        }
        let knowledge = match &settings.knowledge {
            Some(given) => {
                let specs = SourceSpec::parse_list(&given.sources)?;
                Some(Arc::new(Knowledge::load(&specs, Some((&index, index_dir)))?))
            }
            None => None,
        };
        Ok(Experiment {
            settings,
            index,
            index_dir: index_dir.to_path_buf(),
            test,
            test_label: test_label.to_string(),
            context,
            instructions: files,
            knowledge,
            encoder: None,
            vectors: None,
            warnings,
        })
    }

    /// The settings, with the search's `ef` resolved.
    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// The knowledge sources hints come from (none without `--knowledge`).
    pub fn knowledge_sources(&self) -> Vec<SourceInfo> {
        self.knowledge.as_ref().map(|k| k.sources()).unwrap_or_default()
    }

    /// The test sentences, in order.
    pub fn test(&self) -> &[Sentence] {
        &self.test
    }

    /// What will give queries fewer demonstrations than k (see
    /// [`crate::select::Method::check`]).
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }

    /// Types in the test corpus that the index never shows: they cannot be predicted.
    pub fn unseen_types(&self) -> Vec<String> {
        unseen_types(&self.test, &self.context.types)
    }

    /// Whether [`Experiment::embed`] must be called before [`Experiment::run`].
    pub fn needs_vectors(&self) -> bool {
        self.settings.needs_vectors()
    }

    /// Embeds the test sentences with `encoder`, which must be the index's.
    /// Returns the sentences the encoder had to cut (positions in [`Experiment::test`]).
    /// The encoder is kept for strategies that embed more (entity's `sources=ngrams`).
    pub fn embed(&mut self, encoder: Arc<dyn Encoder>) -> Result<Vec<Truncation>> {
        self.index.check_encoder(encoder.info(), &self.index_dir)?;
        let texts: Vec<&str> = self.test.iter().map(|s| s.text.as_str()).collect();
        let embedded = embed_all(encoder.as_ref(), &texts, None, |_| {})?;
        self.vectors = Some(embedded.vectors);
        self.encoder = Some(encoder);
        Ok(embedded.truncated)
    }

    /// Plans every request, gets the answers from `source` and writes the
    /// output directory `out` (see [`output`]). Returns the report, or
    /// `None` after a dry run. `on` hears of progress.
    pub fn run(
        &self,
        source: &AnswerSource,
        out: &Path,
        on: &(dyn Fn(Event<'_>) + Sync),
    ) -> Result<Option<ExperimentReport>> {
        std::fs::create_dir_all(out).map_err(|e| Error::io(out, e))?;
        match source {
            AnswerSource::DryRun {
                backend_id,
                first_answers,
            } => {
                let first = first_answers
                    .as_ref()
                    .map(|file| Replay::open(file, backend_id))
                    .transpose()?;
                self.dry_run(out, backend_id, first.as_ref().map(|r| r as &dyn Backend), on)?;
                Ok(None)
            }
            AnswerSource::Replay { file, backend_id } => {
                self.answer(&Replay::open(file, backend_id)?, out, on).map(Some)
            }
            AnswerSource::Server { config, cache } => {
                let server = Cached::open(OpenAi::new(config.clone()), cache)?;
                let outcome = self.answer(&server, out, on);
                on(Event::CacheUsed {
                    stats: server.stats(),
                    cache,
                });
                outcome.map(Some)
            }
        }
    }

    /// Writes the requests: the first pass's when there is one and
    /// `first_answers` does not answer it, else every strategy's.
    fn dry_run(
        &self,
        out: &Path,
        backend_id: &str,
        first_answers: Option<&dyn Backend>,
        on: &(dyn Fn(Event<'_>) + Sync),
    ) -> Result<()> {
        let first = match (self.first_kind(backend_id)?, first_answers) {
            (Some(kind), None) => {
                let requests = kind.requests(&self.test, backend_id);
                return output::write_first_requests(out, kind.name(), &requests, on);
            }
            (Some(kind), Some(answers)) => Some(self.first_pass(&kind, answers, on)?),
            (None, Some(_)) => {
                return Err(Error::InvalidInput(
                    "answers for a dry run answer a first pass (--knowledge-candidates llm, or entity's sources=llm), and this run has none"
                        .into(),
                ))
            }
            (None, None) => None,
        };
        let planned = self.plan(first.as_ref(), backend_id)?;
        output::write_requests(out, &planned, on)
    }

    fn answer(
        &self,
        backend: &dyn Backend,
        out: &Path,
        on: &(dyn Fn(Event<'_>) + Sync),
    ) -> Result<ExperimentReport> {
        let backend_id = backend.id();
        let first = match self.first_kind(&backend_id)? {
            Some(kind) => Some(self.first_pass(&kind, backend, on)?),
            None => None,
        };
        let mut planned = self.plan(first.as_ref(), &backend_id)?;
        self.generate(&mut planned, backend, on)?;
        for p in &planned {
            output::write_strategy(out, p, &self.test)?;
        }
        let mut report = self.report(&planned, backend_id);
        report.first_pass = first.and_then(|f| f.summary);
        output::write_report(out, &report)?;
        Ok(report)
    }

    /// The run's first pass, if it has one: the model's candidate terms
    /// (`--knowledge-candidates llm`) or entity's `sources=llm` few-shot pass.
    fn first_kind(&self, backend_id: &str) -> Result<Option<FirstKind<'_>>> {
        if let Some(given) = &self.settings.knowledge {
            if given.candidates == CandidateSource::Llm {
                return Ok(Some(FirstKind::Candidates(CandidatePass {
                    settings: &self.settings,
                    ctx: &self.context,
                })));
            }
        }
        let Some(method) = self.settings.first_pass_method()? else {
            return Ok(None);
        };
        let planner = Planner {
            settings: &self.settings,
            ctx: &self.context,
            backend_id,
        };
        let requests = first_requests(
            &self.index,
            method,
            &self.test,
            self.vectors.as_ref(),
            &planner,
            &self.prepared(),
        )?;
        Ok(Some(FirstKind::Mentions(MentionPass {
            requests,
            settings: &self.settings,
            ctx: &self.context,
        })))
    }

    fn first_pass(
        &self,
        kind: &FirstKind<'_>,
        backend: &dyn Backend,
        on: &(dyn Fn(Event<'_>) + Sync),
    ) -> Result<First> {
        on(Event::Generating {
            requests: self.test.len(),
            first_pass: Some(kind.name()),
        });
        let concurrency = self.settings.concurrency;
        let answered = || on(Event::Answered);
        Ok(match kind {
            FirstKind::Candidates(pass) => {
                let answers = two_pass::answer(pass, &self.test, backend, concurrency, answered)?;
                First {
                    summary: answers.summary(),
                    exchanges: answers.exchanges,
                    candidates: Some(answers.readings),
                    mentions: None,
                }
            }
            FirstKind::Mentions(pass) => {
                let answers = two_pass::answer(pass, &self.test, backend, concurrency, answered)?;
                First {
                    summary: answers.summary(),
                    exchanges: answers.exchanges,
                    candidates: None,
                    mentions: Some(answers.readings),
                }
            }
        })
    }

    /// What every prompt takes before a first pass: the hints of matched
    /// terms (when asked for) and the strategies' resources.
    fn prepared(&self) -> Prepared {
        let hints = match (&self.knowledge, &self.settings.knowledge) {
            (Some(knowledge), Some(given)) if given.candidates == CandidateSource::Match => {
                hints::matched(knowledge, &given.limits, &self.test)
            }
            _ => vec![Hints::default(); self.test.len()],
        };
        Prepared {
            hints,
            first: Vec::new(),
            mentions: None,
            resources: Resources {
                encoder: self.encoder.clone(),
                knowledge: self.knowledge.clone(),
            },
        }
    }

    fn plan(&self, first: Option<&First>, backend_id: &str) -> Result<Vec<Planned>> {
        let mut prepared = self.prepared();
        if let Some(first) = first {
            if let (Some(knowledge), Some(given), Some(read)) =
                (&self.knowledge, &self.settings.knowledge, &first.candidates)
            {
                prepared.hints = hints::of_candidates(knowledge, &given.limits, &self.test, read);
            }
            prepared.first = first.exchanges.clone();
            prepared.mentions = first.mentions.clone();
        }
        plan(
            &self.index,
            &self.test,
            self.vectors.as_ref(),
            &self.settings,
            &self.context,
            &prepared,
            backend_id,
        )
    }

    fn generate(
        &self,
        planned: &mut [Planned],
        backend: &dyn Backend,
        on: &(dyn Fn(Event<'_>) + Sync),
    ) -> Result<()> {
        let requests = planned.iter().map(|p| p.exchanges.len()).sum();
        on(Event::Generating {
            requests,
            first_pass: None,
        });
        generate(
            planned,
            &self.test,
            backend,
            &self.settings,
            &self.context,
            || on(Event::Answered),
        )
    }

    fn report(&self, planned: &[Planned], backend: String) -> ExperimentReport {
        let manifest = self.index.manifest();
        let provenance = Provenance {
            exemplar_version: env!("CARGO_PKG_VERSION").to_string(),
            settings: self.settings.clone(),
            backend,
            encoder: manifest.model.clone(),
            demonstrations_sha256: manifest.corpus.sha256.clone(),
            instructions: self.instructions.clone(),
            index: self.index_dir.display().to_string(),
            test: self.test_label.clone(),
            queries: self.test.len(),
            types: self.context.types.clone(),
            unseen_types: self.unseen_types(),
            knowledge: self.knowledge_sources(),
        };
        ExperimentReport::build(planned, &self.test, provenance)
    }
}

/// The prompts' context from the types and the instruction files, and what
/// each file held (for the report).
/// A run's first pass.
enum FirstKind<'a> {
    /// The model lists candidate terms, looked up for hints.
    Candidates(CandidatePass<'a>),
    /// A few-shot NER pass whose spans are entity's candidate mentions.
    Mentions(MentionPass<'a>),
}

impl FirstKind<'_> {
    fn name(&self) -> &'static str {
        match self {
            FirstKind::Candidates(pass) => pass.name(),
            FirstKind::Mentions(pass) => pass.name(),
        }
    }

    fn requests(&self, queries: &[Sentence], backend_id: &str) -> Vec<(String, Request)> {
        match self {
            FirstKind::Candidates(pass) => two_pass::requests(pass, queries, backend_id),
            FirstKind::Mentions(pass) => two_pass::requests(pass, queries, backend_id),
        }
    }
}

/// A first pass answered: its exchanges for the log, its summary for the
/// report, and what the second pass takes from it.
struct First {
    exchanges: Vec<FirstExchange>,
    summary: Option<FirstPassSummary>,
    /// Each query's candidate terms (`--knowledge-candidates llm`).
    candidates: Option<Vec<Candidates>>,
    /// Each query's predicted mentions (entity's `sources=llm`).
    mentions: Option<Vec<Vec<String>>>,
}

fn load_context(types: Vec<String>, files: &Instructions) -> Result<(Context, InstructionFiles)> {
    let read = |path: &Option<PathBuf>| -> Result<Option<(String, FileId)>> {
        path.as_ref()
            .map(|path| {
                let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
                let id = FileId::of(path, &text);
                Ok((text, id))
            })
            .transpose()
    };
    let definitions = match &files.definitions {
        Some(path) => load_definitions(path)?,
        None => Default::default(),
    };
    let guidelines = read(&files.guidelines)?;
    let template = read(&files.template)?;
    let recorded = InstructionFiles {
        definitions: read(&files.definitions)?.map(|(_, id)| id),
        guidelines: guidelines.as_ref().map(|(_, id)| id.clone()),
        template: template.as_ref().map(|(_, id)| id.clone()),
    };
    let context = Context {
        types,
        definitions,
        guidelines: guidelines.map(|(text, _)| text),
        template: template.map(|(text, _)| text),
    };
    Ok((context, recorded))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_are_keyed_with_the_server_or_batch() {
        assert_eq!(AnswerSource::batch_backend_id(None), BATCH_BACKEND);
        let named = AnswerSource::batch_backend_id(Some("http://127.0.0.1:8089/v1/"));
        assert_eq!(named, "http://127.0.0.1:8089");
        let server = AnswerSource::Server {
            config: OpenAiConfig::new("http://127.0.0.1:8089/v1"),
            cache: PathBuf::from("cache.jsonl"),
        };
        assert_eq!(server.backend_id(), named);
    }
}
