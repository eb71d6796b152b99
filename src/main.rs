//! The `clw-diag` binary: parse arguments, dispatch, map errors to exit codes (DESIGN.md):
//! 0 success, 1 a `--fail-on` condition was found, 2 usage error or unreadable input.
//! A closed pipe (`| head`) exits 0 quietly.

mod cli;

use std::process::ExitCode;

use clap::Parser;

fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

/// The error and its causes on one line, leaving out a cause whose text the message already
/// contains (our typed errors print their I/O cause themselves).
fn one_line_message(e: &anyhow::Error) -> String {
    let mut msg = e.to_string();
    for cause in e.chain().skip(1) {
        let c = cause.to_string();
        if !msg.contains(&c) {
            msg.push_str(": ");
            msg.push_str(&c);
        }
    }
    msg.replace('\n', " ")
}

fn main() -> ExitCode {
    let cli = match cli::Cli::try_parse() {
        Ok(c) => c,
        // --help and --version (stdout, exit 0); printing them into a closed pipe is not an
        // error either.
        Err(e) if !e.use_stderr() => {
            let _ = e.print();
            return ExitCode::SUCCESS;
        }
        // A usage error: one line and the --help to read, exit 2.
        Err(e) => {
            let args: Vec<std::ffi::OsString> = std::env::args_os().skip(1).collect();
            eprintln!("clw-diag: error: {}", cli::usage_error(&e, &args));
            return ExitCode::from(2);
        }
    };
    match cli::run(cli) {
        Ok(code) => code,
        Err(e) if is_broken_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("clw-diag: error: {}", one_line_message(&e));
            ExitCode::from(2)
        }
    }
}
