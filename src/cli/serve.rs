//! `exemplar serve`: loads the encoder and the indexes once, then answers
//! selection requests over HTTP until SIGTERM or Ctrl-C (see [`exemplar::serve`]).

use std::collections::BTreeSet;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context};
use clap::Args;

use super::{print_line, KnowledgeArgs, ModelArgs};
use exemplar::encoder::EncoderInfo;
use exemplar::index::Index;
use exemplar::knowledge::{Knowledge, SourceSpec};
use exemplar::serve::{serve, shutdown_signal, AppState, ConnectionLimits, Limits, ServedIndex};
use exemplar::Encoder;

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Index directory to serve, named by its directory name (repeat for several;
    /// all built with the same model).
    #[arg(long = "index", value_name = "DIR", required = true)]
    indexes: Vec<PathBuf>,
    /// Address to listen on (port 0: any free port; the address is printed on stdout).
    #[arg(long, default_value = "127.0.0.1:7878")]
    addr: String,
    #[command(flatten)]
    model: ModelArgs,
    /// Knowledge sources whose hints rendered prompts show (loaded at start, for each index).
    #[command(flatten)]
    knowledge: KnowledgeArgs,
    /// Parallel ONNX Runtime sessions, one thread each [default: the number of cores].
    #[arg(long)]
    sessions: Option<usize>,
    /// Largest request body in bytes (larger: 413).
    #[arg(long, default_value_t = Limits::default().max_body_bytes)]
    max_body_bytes: usize,
    /// Most sentences in one request (more: 413).
    #[arg(long, default_value_t = Limits::default().max_batch)]
    max_batch: usize,
    /// Longest a selection request may wait and run, in seconds (longer: 503).
    #[arg(long, default_value_t = Limits::default().timeout.as_secs())]
    timeout_secs: u64,
    /// Longest a request body may take to arrive, in seconds (longer: 408).
    #[arg(long, default_value_t = Limits::default().body_timeout.as_secs())]
    body_timeout_secs: u64,
    /// Longest a client may take to send a request's head, and a connection
    /// may sit idle between requests, in seconds (longer: the connection is closed).
    #[arg(long, default_value_t = ConnectionLimits::default().header_timeout.as_secs())]
    header_timeout_secs: u64,
    /// Most connections served at once (more wait to be accepted).
    #[arg(long, default_value_t = ConnectionLimits::default().max_connections)]
    max_connections: usize,
    /// On SIGTERM or Ctrl-C, how long the requests in flight get before the
    /// remaining connections are dropped, in seconds.
    #[arg(long, default_value_t = ConnectionLimits::default().shutdown_grace.as_secs())]
    shutdown_grace_secs: u64,
}

pub fn run(args: ServeArgs, quiet: bool) -> anyhow::Result<ExitCode> {
    let at_least_one = [
        args.max_batch as u64,
        args.timeout_secs,
        args.body_timeout_secs,
        args.header_timeout_secs,
        args.max_connections as u64,
    ];
    if at_least_one.contains(&0) {
        bail!(
            "--max-batch, --timeout-secs, --body-timeout-secs, --header-timeout-secs and \
             --max-connections must be at least 1"
        );
    }
    let sessions = args
        .sessions
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
        .max(1);
    let encoder = args.model.open_with(sessions, 1)?;
    let mut indexes = open_indexes(&args.indexes, encoder.info())?;
    if let Some(sources) = &args.knowledge.knowledge {
        indexes = with_knowledge(indexes, &args.indexes, sources, &args.knowledge, quiet)?;
    }
    let limits = Limits {
        max_body_bytes: args.max_body_bytes,
        max_batch: args.max_batch,
        timeout: Duration::from_secs(args.timeout_secs),
        body_timeout: Duration::from_secs(args.body_timeout_secs),
    };
    let connections = ConnectionLimits {
        header_timeout: Duration::from_secs(args.header_timeout_secs),
        max_connections: args.max_connections,
        shutdown_grace: Duration::from_secs(args.shutdown_grace_secs),
    };
    let state = Arc::new(AppState::new(
        indexes,
        Arc::new(encoder),
        sessions,
        limits,
        !quiet,
    ));

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(listen_and_serve(&args.addr, state, &connections))?;
    // Selection jobs may still run (their requests timed out, or their
    // connections were dropped at the deadline): no one waits for their answers.
    runtime.shutdown_timeout(Duration::from_secs(1));
    Ok(ExitCode::SUCCESS)
}

async fn listen_and_serve(
    addr: &str,
    state: Arc<AppState>,
    connections: &ConnectionLimits,
) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("cannot listen on {addr}"))?;
    let bound = listener.local_addr().context("cannot read the bound address")?;
    if !bound.ip().is_loopback() {
        eprintln!(
            "warning: listening on {bound}, reachable from other machines; exemplar serve has no authentication"
        );
    }
    // The first line on stdout, for scripts and tests that asked for port 0.
    print_line(format_args!("listening on http://{bound}"))?;
    std::io::stdout().flush().context("cannot write to stdout")?;
    serve(listener, state, connections, shutdown_signal()).await;
    Ok(())
}

/// Opens every index, named by its directory, and checks it was built with `encoder`.
fn open_indexes(dirs: &[PathBuf], encoder: &EncoderInfo) -> anyhow::Result<Vec<ServedIndex>> {
    let mut names = BTreeSet::new();
    let mut served = Vec::with_capacity(dirs.len());
    for dir in dirs {
        let name = index_name(dir)?;
        if !names.insert(name.clone()) {
            bail!("two indexes are named {name:?}: serve directories with different names");
        }
        let index = Index::open(dir)?;
        index.check_encoder(encoder, dir)?;
        served.push(ServedIndex::new(name, index));
    }
    Ok(served)
}

/// Each index with the knowledge sources `sources` names (the gazetteer its
/// own), read once here; their notices go to stderr.
fn with_knowledge(
    indexes: Vec<ServedIndex>,
    dirs: &[PathBuf],
    sources: &str,
    args: &KnowledgeArgs,
    quiet: bool,
) -> anyhow::Result<Vec<ServedIndex>> {
    let specs = SourceSpec::parse_list(sources)?;
    indexes
        .into_iter()
        .zip(dirs)
        .map(|(served, dir)| {
            let knowledge = Knowledge::load(&specs, Some((&served.index, dir)))
                .with_context(|| format!("knowledge sources of index {}", served.name))?;
            if !quiet {
                for source in knowledge.sources() {
                    eprintln!("{}: hints from {}", served.name, source.notice());
                }
            }
            Ok(served.with_knowledge(knowledge, args.limits()))
        })
        .collect()
}

fn index_name(dir: &Path) -> anyhow::Result<String> {
    dir.file_name()
        .and_then(|n| n.to_str())
        .map(str::to_string)
        .with_context(|| format!("{}: cannot name an index after this path", dir.display()))
}
