//! `clw-diag completions` and `clw-diag man`: generated from the clap definitions. The committed
//! copies in `completions/` and `man/` are kept in sync by a test (tests/generated.rs).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, CommandFactory};
use clap_complete::Shell;
use clw_diag::base::output;

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
            let mut buf = Vec::new();
            clap_complete::generate(sh, &mut cmd, "clw-diag", &mut buf);
            let file = dir.join(clap_complete::Generator::file_name(&sh, "clw-diag"));
            output::write_all(&file, true, output::ORDINARY, &buf)?;
        }
        return Ok(ExitCode::SUCCESS);
    }
    let shell = a.shell.context("a shell is required")?;
    let mut buf = Vec::new();
    clap_complete::generate(shell, &mut cmd, "clw-diag", &mut buf);
    std::io::stdout().lock().write_all(&buf)?;
    Ok(ExitCode::SUCCESS)
}

/// One page per visible subcommand, then the command's own, into `dir`: each replaces a
/// regular file of that name and refuses anything else there (`base::output`).
fn write_pages(cmd: clap::Command, dir: &Path) -> anyhow::Result<()> {
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()).cloned() {
        write_pages(sub, dir)?;
    }
    let man = clap_mangen::Man::new(cmd);
    let mut buf = Vec::new();
    man.render(&mut buf)?;
    output::write_all(&dir.join(man.get_filename()), true, output::ORDINARY, &buf)?;
    Ok(())
}

pub fn man(a: ManArgs) -> anyhow::Result<ExitCode> {
    let cmd = Cli::command();
    match a.dir {
        Some(dir) => {
            std::fs::create_dir_all(&dir)
                .with_context(|| format!("{}: cannot create", dir.display()))?;
            // As clap_mangen::generate_to lays them out, written through base::output.
            let mut cmd = cmd.disable_help_subcommand(true);
            cmd.build();
            write_pages(cmd, &dir)?;
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
