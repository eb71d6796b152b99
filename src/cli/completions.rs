//! `clw-diag completions` and `clw-diag man`: generated from the clap definitions. The committed
//! copies in `completions/` and `man/` are kept in sync by a test (tests/generated.rs).

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, CommandFactory};
use clap_complete::Shell;

use super::Cli;

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to print completions for.
    #[arg(value_enum, required_unless_present = "dir")]
    pub shell: Option<Shell>,
    /// Write the completions of every shell into DIR instead.
    #[arg(long, value_name = "DIR", conflicts_with = "shell")]
    pub dir: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct ManArgs {
    /// Write clw-diag.1 and one page per subcommand into DIR instead of printing clw-diag.1.
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
}

const SHELLS: [Shell; 5] = [
    Shell::Bash,
    Shell::Zsh,
    Shell::Fish,
    Shell::Elvish,
    Shell::PowerShell,
];

pub fn completions(a: CompletionsArgs) -> anyhow::Result<ExitCode> {
    let mut cmd = Cli::command();
    if let Some(dir) = a.dir {
        std::fs::create_dir_all(&dir)
            .with_context(|| format!("{}: cannot create", dir.display()))?;
        for sh in SHELLS {
            clap_complete::generate_to(sh, &mut cmd, "clw-diag", &dir)
                .with_context(|| format!("{}: cannot write completions", dir.display()))?;
        }
        return Ok(ExitCode::SUCCESS);
    }
    let shell = a.shell.context("a shell is required")?;
    let mut buf = Vec::new();
    clap_complete::generate(shell, &mut cmd, "clw-diag", &mut buf);
    std::io::stdout().lock().write_all(&buf)?;
    Ok(ExitCode::SUCCESS)
}

pub fn man(a: ManArgs) -> anyhow::Result<ExitCode> {
    let cmd = Cli::command();
    match a.dir {
        Some(dir) => {
            std::fs::create_dir_all(&dir)
                .with_context(|| format!("{}: cannot create", dir.display()))?;
            clap_mangen::generate_to(cmd, &dir)
                .with_context(|| format!("{}: cannot write man pages", dir.display()))?;
        }
        None => {
            // The same page as `--dir` writes: clap_mangen::generate_to leaves out the `help`
            // subcommand and builds the command first.
            let mut cmd = cmd.disable_help_subcommand(true);
            cmd.build();
            let mut buf = Vec::new();
            clap_mangen::Man::new(cmd).render(&mut buf)?;
            std::io::stdout().lock().write_all(&buf)?;
        }
    }
    Ok(ExitCode::SUCCESS)
}
