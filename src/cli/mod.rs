//! Command-line definitions (clap derive) and dispatch. Each subcommand has its own file:
//! arguments → validated plan → library call → render. The library never sees clap.

mod analyze;
mod backtrace;
mod completions;
mod coredumps;
mod leaks;
mod oom_rank;
pub(crate) mod progress;
mod recommend;
mod record;
mod report;
pub(crate) mod sample;
mod serve;
pub(crate) mod signals;
mod symbolize;
pub(crate) mod triage;
mod vmmap;

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand, ValueEnum};
use clw_diag::render::{self, Format, Style};

pub use completions::{CompletionsArgs, ManArgs};

const AFTER_HELP: &str = "\
Exit codes: 0 success; 1 a condition that --fail-on asked about was found (triage); 2 usage
error, unreadable or malformed input, or missing permission, always with a one-line message.
A closed pipe (| head) exits 0.

Examples:
  clw-diag sample                     host, limited cgroups and top processes by RSS
  clw-diag sample --pid 1234 --json   one process and its memory cgroup, as JSON
  clw-diag vmmap 1234                 where a process's memory is: heap, stacks, code, shmem...
  clw-diag vmmap --mappings self      one row per mapping, like pmap -X
  clw-diag triage --dmesg             OOM kills and crashes in the kernel log
  clw-diag triage ci.log --fail-on oom --format github   fail a CI job on an OOM";

/// Memory diagnostics for Linux hosts, containers and Kubernetes nodes.
#[derive(Debug, Parser)]
#[command(
    name = "clw-diag",
    version,
    about = "Memory diagnostics for Linux hosts, containers and Kubernetes nodes",
    long_about = "Memory diagnostics for Linux hosts, containers and Kubernetes nodes.\n\n\
        Reads /proc and the memory cgroup files (v1, v2 and hybrid layouts) to answer what is \
        using memory, how close each container is to its limit, and where in a process the \
        memory is.",
    after_help = AFTER_HELP,
    propagate_version = true,
    max_term_width = 100
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Option<Command>,
    /// `clw-diag --worker-logs --cores=/tmp --since=1h`: the report's flags with no subcommand.
    #[command(flatten)]
    pub report: report::ReportArgs,
}

/// Flags every subcommand accepts.
#[derive(Debug, Args)]
#[command(next_help_heading = "Global options")]
pub struct GlobalArgs {
    /// Output format: a table for people, JSON (the stable contract, see docs/json.md), CSV, or
    /// GitHub Actions annotations (triage).
    #[arg(long, global = true, value_enum, default_value_t = FormatArg::Table)]
    pub format: FormatArg,
    /// Shorthand for --format json.
    #[arg(long, global = true)]
    pub json: bool,
    /// When to colour the output; NO_COLOR in the environment means never for "auto".
    #[arg(long, global = true, value_enum, default_value_t = ColorArg::Auto)]
    pub color: ColorArg,
    /// Print only the data: no notes or warnings on stderr.
    #[arg(short, long, global = true)]
    pub quiet: bool,
    /// Say more on stderr about what is read (repeat for more).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// Read process files from this directory instead of /proc (e.g. a copied tree).
    #[arg(
        long,
        global = true,
        value_name = "DIR",
        default_value = "/proc",
        env = "CLW_DIAG_PROC_ROOT"
    )]
    pub proc_root: PathBuf,
    /// Read cgroup files from this directory instead of /sys/fs/cgroup.
    #[arg(
        long,
        global = true,
        value_name = "DIR",
        default_value = "/sys/fs/cgroup",
        env = "CLW_DIAG_CGROUP_ROOT"
    )]
    pub cgroup_root: PathBuf,
    /// Read the node's container runtime and kubelet files (Docker's config.v2.json,
    /// containerd bundles, CRI-O and podman files, /var/log/containers) under this directory,
    /// to name each cgroup's container, pod, compose service or unit.
    #[arg(
        long,
        global = true,
        value_name = "DIR",
        default_value = "/",
        env = "CLW_DIAG_HOST_ROOT"
    )]
    pub host_root: PathBuf,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FormatArg {
    Table,
    Json,
    Csv,
    /// GitHub Actions annotations (triage only).
    Github,
    /// Folded stacks for flame graphs: flamegraph.pl, inferno (leaks and profile only).
    Folded,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorArg {
    Auto,
    Always,
    Never,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Snapshot of host, memory cgroups and processes, with pressure states.
    #[command(long_about = sample::LONG_ABOUT, after_help = sample::AFTER_HELP)]
    Sample(sample::SampleArgs),
    /// Where a process's memory is: heap, stacks, code, file data, shared memory, kernel.
    #[command(long_about = vmmap::LONG_ABOUT, after_help = vmmap::AFTER_HELP)]
    Vmmap(vmmap::VmmapArgs),
    /// Find OOM kills, abnormal exits and crashes in kernel, container, systemd, runtime and CI logs.
    #[command(long_about = triage::LONG_ABOUT, after_help = triage::AFTER_HELP)]
    Triage(triage::TriageArgs),
    /// Record a memory trace of a process, a cgroup or a command (JSON Lines, crash-safe).
    #[command(long_about = record::LONG_ABOUT, after_help = record::AFTER_HELP)]
    Record(record::RecordArgs),
    /// Analyse recorded traces: leak verdict, rate with a confidence interval, time to limit.
    Analyze(analyze::AnalyzeArgs),
    /// Who the kernel's OOM killer would kill first in a cgroup or on the host, and why.
    #[command(long_about = oom_rank::LONG_ABOUT, after_help = oom_rank::AFTER_HELP)]
    OomRank(oom_rank::OomRankArgs),
    /// Memory request and limit from observed usage: traces, a cgroup, or Prometheus.
    #[command(long_about = recommend::LONG_ABOUT, after_help = recommend::AFTER_HELP)]
    Recommend(recommend::RecommendArgs),
    /// One incident report: snapshot, OOM kill order, kernel and worker logs, cores, summary.
    #[command(long_about = report::LONG_ABOUT, after_help = report::AFTER_HELP)]
    Report(report::ReportArgs),
    /// Unwind and symbolize every thread of a core dump, like gdb's `thread apply all bt`.
    #[command(long_about = backtrace::LONG_ABOUT, after_help = backtrace::AFTER_HELP)]
    Backtrace(backtrace::BacktraceArgs),
    /// List the crashes systemd-coredump stored (files and journal entries), newest first.
    #[command(long_about = coredumps::LONG_ABOUT, after_help = coredumps::AFTER_HELP)]
    Coredumps(coredumps::CoredumpsArgs),
    /// Attach to a process: the call stacks holding the memory it allocates and keeps.
    #[command(long_about = leaks::LEAKS_LONG_ABOUT, after_help = leaks::LEAKS_AFTER_HELP)]
    Leaks(leaks::LeaksArgs),
    /// Run a command under the heap profiler: the stacks holding what it never freed.
    #[command(long_about = leaks::PROFILE_LONG_ABOUT, after_help = leaks::PROFILE_AFTER_HELP)]
    Profile(leaks::ProfileArgs),
    /// Resolve addresses to function, file and line (addr2line-compatible, inline frames).
    #[command(long_about = symbolize::LONG_ABOUT, after_help = symbolize::AFTER_HELP)]
    Symbolize(symbolize::SymbolizeArgs),
    /// Serve host, cgroup and process memory metrics for Prometheus (OpenMetrics) at /metrics.
    #[command(long_about = serve::LONG_ABOUT, after_help = serve::AFTER_HELP)]
    Serve(serve::ServeArgs),
    /// Print shell completions (bash, zsh, fish, elvish, powershell).
    Completions(CompletionsArgs),
    /// Print the man page (or write every page with --dir).
    Man(ManArgs),
}

/// Output settings resolved once from the global flags.
pub struct Output {
    pub format: Format,
    pub style: Style,
    pub quiet: bool,
    pub verbose: u8,
}

impl Output {
    fn from_args(g: &GlobalArgs) -> Output {
        let format = if g.json {
            Format::Json
        } else {
            match g.format {
                FormatArg::Table => Format::Table,
                FormatArg::Json => Format::Json,
                FormatArg::Csv => Format::Csv,
                FormatArg::Github => Format::Github,
                FormatArg::Folded => Format::Folded,
            }
        };
        let tty = std::io::stdout().is_terminal();
        let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        let color = match g.color {
            ColorArg::Always => true,
            ColorArg::Never => false,
            ColorArg::Auto => tty && !no_color,
        };
        let width = table_width(tty);
        Output {
            format,
            style: Style {
                color,
                width,
                notes_apart: false,
                table: None,
            },
            quiet: g.quiet,
            verbose: g.verbose,
        }
    }

    /// A note for people on stderr (suppressed by -q).
    pub fn note(&self, msg: &str) {
        if !self.quiet {
            let _ = writeln!(std::io::stderr(), "clw-diag: {msg}");
        }
    }

    /// Render `report` on `w` in the chosen format, with the tables' notes on stderr (through
    /// [`Output::note`], so `-q` silences them) instead of under the data: stdout carries only
    /// the data. `table` picks the table of a several-table report for `--format csv`.
    pub fn render<R: render::Report + ?Sized>(
        &self,
        report: &R,
        table: Option<&'static str>,
        w: &mut dyn Write,
    ) -> std::io::Result<()> {
        let style = Style {
            notes_apart: true,
            table,
            ..self.style
        };
        render::render(report, self.format, style, w)?;
        if self.format == Format::Table {
            // The data first: a note must not appear in the middle of buffered table lines.
            w.flush()?;
            render::notes(report).iter().for_each(|n| self.note(n));
        }
        Ok(())
    }

    /// Verbose detail on stderr (-v).
    pub fn detail(&self, msg: &str) {
        if self.verbose > 0 && !self.quiet {
            let _ = writeln!(std::io::stderr(), "clw-diag: {msg}");
        }
    }
}

impl Command {
    /// The command's name as typed.
    fn name(&self) -> &'static str {
        match self {
            Command::Sample(_) => "sample",
            Command::Vmmap(_) => "vmmap",
            Command::Triage(_) => "triage",
            Command::Record(_) => "record",
            Command::Analyze(_) => "analyze",
            Command::OomRank(_) => "oom-rank",
            Command::Recommend(_) => "recommend",
            Command::Report(_) => "report",
            Command::Backtrace(_) => "backtrace",
            Command::Coredumps(_) => "coredumps",
            Command::Leaks(_) => "leaks",
            Command::Profile(_) => "profile",
            Command::Symbolize(_) => "symbolize",
            Command::Serve(_) => "serve",
            Command::Completions(_) => "completions",
            Command::Man(_) => "man",
        }
    }

    /// The output formats the command honours (`--format`, `--json`): [`run`] refuses the
    /// others with exit 2 before any work. A command's owner changes its line when it learns a
    /// format; `csv` means one table per stream (see `render::Report::csv_tables`).
    fn formats(&self) -> &'static [Format] {
        use Format::{Csv, Github, Json, Table};
        match self {
            Command::Sample(_) | Command::Vmmap(_) | Command::Analyze(_) => &[Table, Json, Csv],
            Command::OomRank(_)
            | Command::Recommend(_)
            | Command::Backtrace(_)
            | Command::Coredumps(_) => &[Table, Json, Csv],
            Command::Triage(_) => &[Table, Json, Csv, Github],
            Command::Leaks(_) | Command::Profile(_) => &[Table, Json, Format::Folded],
            // The report is text or JSON; record prints a summary; symbolize's --json is on
            // its way (issue 12).
            Command::Report(_) | Command::Record(_) | Command::Symbolize(_) => &[Table, Json],
            // Metrics over HTTP, a shell script, a man page: no data on stdout to format.
            Command::Serve(_) | Command::Completions(_) | Command::Man(_) => &[Table],
        }
    }
}

/// Refuse `format` for `command` unless it is one of `supported`: the one-line usage error
/// (exit 2) printed before any work.
fn check_format(command: &str, format: Format, supported: &[Format]) -> anyhow::Result<()> {
    if supported.contains(&format) {
        return Ok(());
    }
    let name = format_name(format);
    if format == Format::Github {
        anyhow::bail!(
            "--format github is not available for {command}: github is only for triage \
             (GitHub Actions annotations)"
        );
    }
    let instead = if supported.contains(&Format::Json) {
        "use --json"
    } else {
        "use --format table"
    };
    anyhow::bail!("{name} is not available for {command}; {instead}")
}

fn format_name(f: Format) -> &'static str {
    match f {
        Format::Table => "table",
        Format::Json => "json",
        Format::Csv => "csv",
        Format::Github => "github",
        Format::Folded => "folded",
    }
}

/// The width tables fit: `COLUMNS` when set (as `ps` honours it, on a terminal or not), else
/// the terminal's, and 80 on a terminal that reports no size (a pty left at 0 columns);
/// `None` off a terminal (natural width, for pipes and files).
fn table_width(tty: bool) -> Option<u16> {
    let columns = std::env::var("COLUMNS")
        .ok()
        .and_then(|v| v.trim().parse::<u16>().ok())
        .filter(|w| *w > 0);
    if columns.is_some() {
        return columns;
    }
    if !tty {
        return None;
    }
    let terminal = comfy_table::Table::new().width().filter(|w| *w > 0);
    Some(terminal.unwrap_or(80))
}

/// Run the parsed command line.
pub fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let out = Output::from_args(&cli.global);
    let Some(command) = cli.command else {
        if cli.report.any() {
            check_format("report", out.format, &[Format::Table, Format::Json])?;
            return report::run(cli.report, &cli.global, &out);
        }
        // No subcommand and no report flag: the help, as a usage error.
        let mut cmd = <Cli as clap::CommandFactory>::command();
        let _ = cmd.print_help();
        return Ok(ExitCode::from(2));
    };
    if cli.report.any() {
        anyhow::bail!(
            "the report flags (--worker-logs, --cores, --since, ...) go before no subcommand or \
             after `report`"
        );
    }
    check_format(command.name(), out.format, command.formats())?;
    match command {
        Command::Report(a) => report::run(a, &cli.global, &out),
        Command::Sample(a) => sample::run(a, &cli.global, &out),
        Command::Vmmap(a) => vmmap::run(a, &cli.global, &out),
        Command::Triage(a) => triage::run(a, &cli.global.host_root, &out),
        Command::Analyze(a) => analyze::run(a, &cli.global, &out),
        Command::Record(a) => record::run(a, &cli.global, &out),
        Command::OomRank(a) => oom_rank::run(a, &cli.global, &out),
        Command::Recommend(a) => recommend::run(a, &cli.global, &out),
        Command::Backtrace(a) => backtrace::run(a, &out),
        Command::Coredumps(a) => coredumps::run(a, &out),
        Command::Leaks(a) => leaks::run_leaks(a, &out),
        Command::Profile(a) => leaks::run_profile(a, &out),
        Command::Symbolize(a) => symbolize::run(a, &out),
        Command::Serve(a) => serve::run(a, &cli.global, &out),
        Command::Completions(a) => completions::completions(a),
        Command::Man(a) => completions::man(a),
    }
}

/// A clap usage error as one line (DESIGN.md: "always with a one-line message"): clap's
/// message, its `tip:` lines after it, and where to look, `(see 'clw-diag SUBCOMMAND --help')`
/// for the deepest subcommand named in `args` (the command line without the program name).
/// Clap's own rendering (`Error::render`, its rich formatter with the error context) supplies
/// the message; the blank lines, the usage and "For more information" it adds are left out.
pub fn usage_error(e: &clap::Error, args: &[std::ffi::OsString]) -> String {
    // The subcommands named, by name or alias, as clap would descend through them.
    let mut cmd = <Cli as clap::CommandFactory>::command();
    let mut path = vec![cmd.get_name().to_string()];
    for a in args.iter().filter_map(|a| a.to_str()) {
        if a == "--" {
            break;
        }
        let Some(sub) = cmd.find_subcommand(a).cloned() else {
            continue;
        };
        path.push(sub.get_name().to_string());
        cmd = sub;
    }
    if e.kind() == clap::error::ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand {
        // Clap would print the whole help: say what is missing instead.
        let subs: Vec<&str> = cmd
            .get_subcommands()
            .filter(|s| !s.is_hide_set())
            .map(|s| s.get_name())
            .collect();
        return format!(
            "'{}' needs a subcommand: {} (see '{} --help')",
            path.join(" "),
            subs.join(", "),
            path.join(" ")
        );
    }
    let text = e.render().to_string();
    // The first paragraph is the message (a list of missing arguments continues it on
    // indented lines); `tip:` lines follow in paragraphs of their own.
    let (first, rest) = text.split_once("\n\n").unwrap_or((&text, ""));
    let first: Vec<&str> = first
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    let first = first.join(" ");
    let mut msg = first.strip_prefix("error: ").unwrap_or(&first).to_string();
    if msg.is_empty() {
        msg = "invalid command line".into();
    }
    for tip in rest
        .lines()
        .map(str::trim)
        .filter(|l| l.starts_with("tip:"))
    {
        msg.push_str(" (");
        msg.push_str(tip);
        msg.push(')');
    }
    format!("{msg} (see '{} --help')", path.join(" "))
}

/// Parse a pid argument: a positive integer or `self`.
pub fn parse_pid(s: &str) -> Result<PidArg, String> {
    if s == "self" {
        return Ok(PidArg::SelfPid);
    }
    match s.parse::<i32>() {
        Ok(p) if p > 0 => Ok(PidArg::Pid(p)),
        _ => Err(format!(
            "{s:?} is not a process id (a positive integer, or \"self\")"
        )),
    }
}

/// A pid as given on the command line.
#[derive(Debug, Clone, Copy)]
pub enum PidArg {
    Pid(i32),
    SelfPid,
}

impl PidArg {
    pub fn resolve(self, proc_root: &std::path::Path) -> clw_diag::Result<i32> {
        match self {
            PidArg::Pid(p) => Ok(p),
            PidArg::SelfPid => clw_diag::sample::process::self_pid(proc_root),
        }
    }
}
