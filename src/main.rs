//! The `exemplar` command: parses arguments, hands over to the library, and
//! turns the outcome into one of the documented exit codes:
//! 0 success, 1 a check not met, 2 bad input or usage, 3 an internal or
//! environment fault. A closed standard output (`exemplar ... | head -1`) ends
//! the program quietly with success, as `head` and `grep` users expect.

use std::process::ExitCode;

mod cli;

use clap::Parser;
use exemplar::error::{EXIT_BAD_INPUT, EXIT_OK};

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    match cli::run(cli) {
        Ok(code) => code,
        Err(err) if closed_pipe(&err) => ExitCode::from(EXIT_OK),
        Err(err) => {
            eprintln!("error: {}", chain_message(&err));
            ExitCode::from(exit_code(&err))
        }
    }
}

/// The exit code of the first library error in the chain; errors of the
/// command line itself are about its arguments.
fn exit_code(err: &anyhow::Error) -> u8 {
    err.chain()
        .find_map(|cause| cause.downcast_ref::<exemplar::Error>())
        .map_or(EXIT_BAD_INPUT, exemplar::Error::exit_code)
}

/// Whether the error is a write to a reader that went away.
fn closed_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

/// The messages of the chain joined by `: `, leaving out a cause whose text
/// the message before it already contains (a library error that shows its
/// source would otherwise print it twice).
fn chain_message(err: &anyhow::Error) -> String {
    let mut message = String::new();
    for cause in err.chain() {
        let text = cause.to_string();
        if message.contains(&text) {
            continue;
        }
        if !message.is_empty() {
            message.push_str(": ");
        }
        message.push_str(&text);
    }
    message
}
