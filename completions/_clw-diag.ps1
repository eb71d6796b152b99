
using namespace System.Management.Automation
using namespace System.Management.Automation.Language

Register-ArgumentCompleter -Native -CommandName 'clw-diag' -ScriptBlock {
    param($wordToComplete, $commandAst, $cursorPosition)

    $commandElements = $commandAst.CommandElements
    $command = @(
        'clw-diag'
        for ($i = 1; $i -lt $commandElements.Count; $i++) {
            $element = $commandElements[$i]
            if ($element -isnot [StringConstantExpressionAst] -or
                $element.StringConstantType -ne [StringConstantType]::BareWord -or
                $element.Value.StartsWith('-') -or
                $element.Value -eq $wordToComplete) {
                break
        }
        $element.Value
    }) -join ';'

    $completions = @(switch ($command) {
        'clw-diag' {
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Output format: a table for people, JSON (the stable contract, see docs/json.md), CSV, or GitHub Actions annotations (triage)')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to colour the output; NO_COLOR in the environment means never for "auto"')
            [CompletionResult]::new('--proc-root', '--proc-root', [CompletionResultType]::ParameterName, 'Read process files from this directory instead of /proc (e.g. a copied tree)')
            [CompletionResult]::new('--cgroup-root', '--cgroup-root', [CompletionResultType]::ParameterName, 'Read cgroup files from this directory instead of /sys/fs/cgroup')
            [CompletionResult]::new('--host-root', '--host-root', [CompletionResultType]::ParameterName, 'Read the node''s container runtime and kubelet files (Docker''s config.v2.json, containerd bundles, CRI-O and podman files, /var/log/containers) under this directory, to name each cgroup''s container, pod, compose service or unit')
            [CompletionResult]::new('--logs', '--logs', [CompletionResultType]::ParameterName, 'Also read these log files (a glob: ''*'' and ''?'' in the file name; repeatable)')
            [CompletionResult]::new('--cores', '--cores', [CompletionResultType]::ParameterName, 'Look for core files in DIR (repeatable)')
            [CompletionResult]::new('--coredump-dir', '--coredump-dir', [CompletionResultType]::ParameterName, 'systemd-coredump''s store, read for the crashes since --since (with the journal''s entries for them) [default: /var/lib/systemd/coredump]')
            [CompletionResult]::new('--coredump-journal-dir', '--coredump-journal-dir', [CompletionResultType]::ParameterName, 'Join the store with the journal files in DIR instead of the system journal (for tests)')
            [CompletionResult]::new('--since', '--since', [CompletionResultType]::ParameterName, 'The window: a duration back from now (30m, 1.5h, 2d) or a timestamp (2024-04-15T10:00:00Z, "2024-04-15 10:00", UTC unless an offset is given) [default: 1h]')
            [CompletionResult]::new('--trace', '--trace', [CompletionResultType]::ParameterName, 'A memory trace (clw-diag record, CSV, Prometheus JSON) for a leak verdict (repeatable)')
            [CompletionResult]::new('--cgroup', '--cgroup', [CompletionResultType]::ParameterName, 'The memory cgroup of the incident, for the snapshot and the OOM kill order')
            [CompletionResult]::new('--bundle', '--bundle', [CompletionResultType]::ParameterName, 'Also write the raw inputs, redacted, to OUT.tar.gz (mode 0600)')
            [CompletionResult]::new('--bundle-max', '--bundle-max', [CompletionResultType]::ParameterName, 'Bound on what the bundle keeps, before compression (64Mi, 1Gi, 500M); each file also keeps at most 8 MiB and then says where it was cut')
            [CompletionResult]::new('--section-timeout', '--section-timeout', [CompletionResultType]::ParameterName, 'Time budget of each section (500ms, 30s, 2m; a bare number is seconds; at most 1d)')
            [CompletionResult]::new('--kmsg', '--kmsg', [CompletionResultType]::ParameterName, 'The kernel log device')
            [CompletionResult]::new('--worker-log-glob', '--worker-log-glob', [CompletionResultType]::ParameterName, 'Replace the --worker-logs places (for tests)')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Shorthand for --format json')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only the data: no notes or warnings on stderr')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only the data: no notes or warnings on stderr')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Say more on stderr about what is read (repeat for more)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Say more on stderr about what is read (repeat for more)')
            [CompletionResult]::new('--worker-logs', '--worker-logs', [CompletionResultType]::ParameterName, 'Read the worker logs in their usual places: /var/log/clw/*.log, /var/log/claw/*.log')
            [CompletionResult]::new('--force', '--force', [CompletionResultType]::ParameterName, 'Replace an existing --bundle file (a regular file only: a device, FIFO, directory or symlink there is always refused)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('sample', 'sample', [CompletionResultType]::ParameterValue, 'Snapshot of host, memory cgroups and processes, with pressure states')
            [CompletionResult]::new('vmmap', 'vmmap', [CompletionResultType]::ParameterValue, 'Where a process''s memory is: heap, stacks, code, file data, shared memory, kernel')
            [CompletionResult]::new('triage', 'triage', [CompletionResultType]::ParameterValue, 'Find OOM kills, abnormal exits and crashes in kernel, container, systemd, runtime and CI logs')
            [CompletionResult]::new('record', 'record', [CompletionResultType]::ParameterValue, 'Record a memory trace of a process, a cgroup or a command (JSON Lines, crash-safe)')
            [CompletionResult]::new('analyze', 'analyze', [CompletionResultType]::ParameterValue, 'Analyse recorded traces: leak verdict, rate with a confidence interval, time to limit')
            [CompletionResult]::new('oom-rank', 'oom-rank', [CompletionResultType]::ParameterValue, 'Who the kernel''s OOM killer would kill first in a cgroup or on the host, and why')
            [CompletionResult]::new('recommend', 'recommend', [CompletionResultType]::ParameterValue, 'Memory request and limit from observed usage: traces, a cgroup, or Prometheus')
            [CompletionResult]::new('report', 'report', [CompletionResultType]::ParameterValue, 'One incident report: snapshot, OOM kill order, kernel and worker logs, cores, summary')
            [CompletionResult]::new('backtrace', 'backtrace', [CompletionResultType]::ParameterValue, 'Unwind and symbolize every thread of a core dump, like gdb''s `thread apply all bt`')
            [CompletionResult]::new('coredumps', 'coredumps', [CompletionResultType]::ParameterValue, 'List the crashes systemd-coredump stored (files and journal entries), newest first')
            [CompletionResult]::new('leaks', 'leaks', [CompletionResultType]::ParameterValue, 'Attach to a process: the call stacks holding the memory it allocates and keeps')
            [CompletionResult]::new('profile', 'profile', [CompletionResultType]::ParameterValue, 'Run a command under the heap profiler: the stacks holding what it never freed')
            [CompletionResult]::new('symbolize', 'symbolize', [CompletionResultType]::ParameterValue, 'Resolve addresses to function, file and line (addr2line-compatible, inline frames)')
            [CompletionResult]::new('serve', 'serve', [CompletionResultType]::ParameterValue, 'Serve host, cgroup and process memory metrics for Prometheus (OpenMetrics) at /metrics')
            [CompletionResult]::new('completions', 'completions', [CompletionResultType]::ParameterValue, 'Print shell completions (bash, zsh, fish, elvish, powershell)')
            [CompletionResult]::new('man', 'man', [CompletionResultType]::ParameterValue, 'Print the man page (or write every page with --dir)')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'clw-diag;sample' {
            [CompletionResult]::new('--pid', '--pid', [CompletionResultType]::ParameterName, 'Only this process (repeatable; ''self'' is clw-diag itself)')
            [CompletionResult]::new('--cgroup', '--cgroup', [CompletionResultType]::ParameterName, 'Only this memory cgroup and its processes: a path relative to the memory hierarchy (/kubepods/pod1, as /proc/PID/cgroup prints it) or absolute (/sys/fs/cgroup/...), or a workload: ns/pod[/container], project/service, a container name (docker:NAME), an ID prefix (6+ hex), a pod UID, a unit (e.g. shop/web-5d8f7c9b4-x2x9z/hog). Repeatable')
            [CompletionResult]::new('--top', '--top', [CompletionResultType]::ParameterName, 'How many processes to show')
            [CompletionResult]::new('--sort', '--sort', [CompletionResultType]::ParameterName, 'Rank processes by this figure (pss and uss read smaps_rollup of every process: slower)')
            [CompletionResult]::new('--table', '--table', [CompletionResultType]::ParameterName, 'With --format csv, the table to write (one CSV is one table): the processes, the memory cgroups or the host')
            [CompletionResult]::new('--watch', '--watch', [CompletionResultType]::ParameterName, 'Refresh every DURATION (500ms, 2s, 1m; a bare number is seconds; at least 100ms) until Ctrl-C; JSON output becomes JSON Lines')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Output format: a table for people, JSON (the stable contract, see docs/json.md), CSV, or GitHub Actions annotations (triage)')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to colour the output; NO_COLOR in the environment means never for "auto"')
            [CompletionResult]::new('--proc-root', '--proc-root', [CompletionResultType]::ParameterName, 'Read process files from this directory instead of /proc (e.g. a copied tree)')
            [CompletionResult]::new('--cgroup-root', '--cgroup-root', [CompletionResultType]::ParameterName, 'Read cgroup files from this directory instead of /sys/fs/cgroup')
            [CompletionResult]::new('--host-root', '--host-root', [CompletionResultType]::ParameterName, 'Read the node''s container runtime and kubelet files (Docker''s config.v2.json, containerd bundles, CRI-O and podman files, /var/log/containers) under this directory, to name each cgroup''s container, pod, compose service or unit')
            [CompletionResult]::new('--all', '--all', [CompletionResultType]::ParameterName, 'Show every process, not only the top N, and the pod sandbox and conmon cgroups')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Shorthand for --format json')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only the data: no notes or warnings on stderr')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only the data: no notes or warnings on stderr')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Say more on stderr about what is read (repeat for more)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Say more on stderr about what is read (repeat for more)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'clw-diag;vmmap' {
            [CompletionResult]::new('--sort', '--sort', [CompletionResultType]::ParameterName, 'Sort categories (and mappings) by this field, largest first; mappings default to address order')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Output format: a table for people, JSON (the stable contract, see docs/json.md), CSV, or GitHub Actions annotations (triage)')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to colour the output; NO_COLOR in the environment means never for "auto"')
            [CompletionResult]::new('--proc-root', '--proc-root', [CompletionResultType]::ParameterName, 'Read process files from this directory instead of /proc (e.g. a copied tree)')
            [CompletionResult]::new('--cgroup-root', '--cgroup-root', [CompletionResultType]::ParameterName, 'Read cgroup files from this directory instead of /sys/fs/cgroup')
            [CompletionResult]::new('--host-root', '--host-root', [CompletionResultType]::ParameterName, 'Read the node''s container runtime and kubelet files (Docker''s config.v2.json, containerd bundles, CRI-O and podman files, /var/log/containers) under this directory, to name each cgroup''s container, pod, compose service or unit')
            [CompletionResult]::new('--mappings', '--mappings', [CompletionResultType]::ParameterName, 'Also print one row per mapping, like pmap -X')
            [CompletionResult]::new('--verify', '--verify', [CompletionResultType]::ParameterName, 'Read smaps_rollup right after the pass and show whether its Rss and Pss match the sums')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Shorthand for --format json')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only the data: no notes or warnings on stderr')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only the data: no notes or warnings on stderr')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Say more on stderr about what is read (repeat for more)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Say more on stderr about what is read (repeat for more)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'clw-diag;triage' {
            [CompletionResult]::new('--since', '--since', [CompletionResultType]::ParameterName, 'Only events at or after this time: a duration back from now (30m, 1.5h, 2d, 1w) or a timestamp (2024-04-15T10:00:00Z, "2024-04-15 10:00[:00]", UTC unless an offset such as +02:00 is given). Events without a time are kept')
            [CompletionResult]::new('--fail-on', '--fail-on', [CompletionResultType]::ParameterName, 'Exit with code 1 when events of this class are found (for CI)')
            [CompletionResult]::new('--kmsg', '--kmsg', [CompletionResultType]::ParameterName, 'The kernel log device read by --dmesg')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Output format: a table for people, JSON (the stable contract, see docs/json.md), CSV, or GitHub Actions annotations (triage)')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to colour the output; NO_COLOR in the environment means never for "auto"')
            [CompletionResult]::new('--proc-root', '--proc-root', [CompletionResultType]::ParameterName, 'Read process files from this directory instead of /proc (e.g. a copied tree)')
            [CompletionResult]::new('--cgroup-root', '--cgroup-root', [CompletionResultType]::ParameterName, 'Read cgroup files from this directory instead of /sys/fs/cgroup')
            [CompletionResult]::new('--host-root', '--host-root', [CompletionResultType]::ParameterName, 'Read the node''s container runtime and kubelet files (Docker''s config.v2.json, containerd bundles, CRI-O and podman files, /var/log/containers) under this directory, to name each cgroup''s container, pod, compose service or unit')
            [CompletionResult]::new('--dmesg', '--dmesg', [CompletionResultType]::ParameterName, 'Read the kernel ring buffer (/dev/kmsg), without blocking')
            [CompletionResult]::new('--journal', '--journal', [CompletionResultType]::ParameterName, 'Read the systemd journal (runs journalctl -o json)')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Shorthand for --format json')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only the data: no notes or warnings on stderr')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only the data: no notes or warnings on stderr')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Say more on stderr about what is read (repeat for more)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Say more on stderr about what is read (repeat for more)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'clw-diag;record' {
            [CompletionResult]::new('--pid', '--pid', [CompletionResultType]::ParameterName, 'Record this process (''self'' for clw-diag itself)')
            [CompletionResult]::new('--cgroup', '--cgroup', [CompletionResultType]::ParameterName, 'Record this memory cgroup: relative to the memory hierarchy, or absolute, or a workload (ns/pod[/container], project/service, a container name or docker:NAME, an ID prefix of 6+ hex, a pod UID, a unit; e.g. shop/web-5d8f7c9b4-x2x9z/hog). The header records the workload''s identity')
            [CompletionResult]::new('--memory-limit', '--memory-limit', [CompletionResultType]::ParameterName, 'Run the command inside a new memory cgroup with this limit: 512Mi or 2Gi (powers of 1024), 500M or 2G (powers of 1000, as Kubernetes), or bytes')
            [CompletionResult]::new('-i', '-i', [CompletionResultType]::ParameterName, 'Sampling interval (250ms, 1s, 1m; a bare number is seconds; at least 10ms)')
            [CompletionResult]::new('--interval', '--interval', [CompletionResultType]::ParameterName, 'Sampling interval (250ms, 1s, 1m; a bare number is seconds; at least 10ms)')
            [CompletionResult]::new('-d', '-d', [CompletionResultType]::ParameterName, 'Stop after this long (90s, 30m, 1.5h, 1d; default: until the target exits or Ctrl-C)')
            [CompletionResult]::new('--duration', '--duration', [CompletionResultType]::ParameterName, 'Stop after this long (90s, 30m, 1.5h, 1d; default: until the target exits or Ctrl-C)')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'The trace file to write (an existing regular file is replaced; a device, FIFO, directory or symlink there is refused)')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'The trace file to write (an existing regular file is replaced; a device, FIFO, directory or symlink there is refused)')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Output format: a table for people, JSON (the stable contract, see docs/json.md), CSV, or GitHub Actions annotations (triage)')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to colour the output; NO_COLOR in the environment means never for "auto"')
            [CompletionResult]::new('--proc-root', '--proc-root', [CompletionResultType]::ParameterName, 'Read process files from this directory instead of /proc (e.g. a copied tree)')
            [CompletionResult]::new('--cgroup-root', '--cgroup-root', [CompletionResultType]::ParameterName, 'Read cgroup files from this directory instead of /sys/fs/cgroup')
            [CompletionResult]::new('--host-root', '--host-root', [CompletionResultType]::ParameterName, 'Read the node''s container runtime and kubelet files (Docker''s config.v2.json, containerd bundles, CRI-O and podman files, /var/log/containers) under this directory, to name each cgroup''s container, pod, compose service or unit')
            [CompletionResult]::new('--children', '--children', [CompletionResultType]::ParameterName, 'Include the process''s descendants, summed')
            [CompletionResult]::new('--keep-oom-score', '--keep-oom-score', [CompletionResultType]::ParameterName, 'Do not raise the recorder''s own oom_score_adj to 1000')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Shorthand for --format json')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only the data: no notes or warnings on stderr')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only the data: no notes or warnings on stderr')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Say more on stderr about what is read (repeat for more)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Say more on stderr about what is read (repeat for more)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'clw-diag;analyze' {
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Output format: a table for people, JSON (the stable contract, see docs/json.md), CSV, or GitHub Actions annotations (triage)')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to colour the output; NO_COLOR in the environment means never for "auto"')
            [CompletionResult]::new('--proc-root', '--proc-root', [CompletionResultType]::ParameterName, 'Read process files from this directory instead of /proc (e.g. a copied tree)')
            [CompletionResult]::new('--cgroup-root', '--cgroup-root', [CompletionResultType]::ParameterName, 'Read cgroup files from this directory instead of /sys/fs/cgroup')
            [CompletionResult]::new('--host-root', '--host-root', [CompletionResultType]::ParameterName, 'Read the node''s container runtime and kubelet files (Docker''s config.v2.json, containerd bundles, CRI-O and podman files, /var/log/containers) under this directory, to name each cgroup''s container, pod, compose service or unit')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Shorthand for --format json')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only the data: no notes or warnings on stderr')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only the data: no notes or warnings on stderr')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Say more on stderr about what is read (repeat for more)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Say more on stderr about what is read (repeat for more)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('memory-trace', 'memory-trace', [CompletionResultType]::ParameterValue, 'Leak verdict, leak rate with a confidence interval, and time to the memory limit')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'clw-diag;analyze;memory-trace' {
            [CompletionResult]::new('--metric', '--metric', [CompletionResultType]::ParameterName, 'The memory column to analyse, as the trace names it (anon_bytes) or as the source''s header does (rss_kb in a CSV or pidstat export); default: anon or RSS for processes, anon or working set for cgroups')
            [CompletionResult]::new('--limit', '--limit', [CompletionResultType]::ParameterName, 'The memory limit to project against: 2048Mi or 2Gi (powers of 1024), 2G (10^9, as Kubernetes), or bytes more than 0 (default: the trace''s cgroup limit, else the host''s MemTotal)')
            [CompletionResult]::new('--plot', '--plot', [CompletionResultType]::ParameterName, 'Draw memory over time, the envelope, the trend with its band, the limit and the projected crossing into this .svg or .png file (with several traces, the first)')
            [CompletionResult]::new('--min-growth', '--min-growth', [CompletionResultType]::ParameterName, 'Growth over the analysed window below which a trend is only "suspected", percent')
            [CompletionResult]::new('--min-rate', '--min-rate', [CompletionResultType]::ParameterName, 'Growth rate below which a leak is flagged as slow, in bytes per hour (1Mi = 2^20, 1M = 10^6, or bytes)')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Output format: a table for people, JSON (the stable contract, see docs/json.md), CSV, or GitHub Actions annotations (triage)')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to colour the output; NO_COLOR in the environment means never for "auto"')
            [CompletionResult]::new('--proc-root', '--proc-root', [CompletionResultType]::ParameterName, 'Read process files from this directory instead of /proc (e.g. a copied tree)')
            [CompletionResult]::new('--cgroup-root', '--cgroup-root', [CompletionResultType]::ParameterName, 'Read cgroup files from this directory instead of /sys/fs/cgroup')
            [CompletionResult]::new('--host-root', '--host-root', [CompletionResultType]::ParameterName, 'Read the node''s container runtime and kubelet files (Docker''s config.v2.json, containerd bundles, CRI-O and podman files, /var/log/containers) under this directory, to name each cgroup''s container, pod, compose service or unit')
            [CompletionResult]::new('--leak-detection', '--leak-detection', [CompletionResultType]::ParameterName, 'Run the leak detection (the default analysis; kept for the runbooks'' command line)')
            [CompletionResult]::new('--fail-on-leak', '--fail-on-leak', [CompletionResultType]::ParameterName, 'Exit with code 1 when any verdict is leak')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Shorthand for --format json')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only the data: no notes or warnings on stderr')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only the data: no notes or warnings on stderr')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Say more on stderr about what is read (repeat for more)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Say more on stderr about what is read (repeat for more)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'clw-diag;analyze;help' {
            [CompletionResult]::new('memory-trace', 'memory-trace', [CompletionResultType]::ParameterValue, 'Leak verdict, leak rate with a confidence interval, and time to the memory limit')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'clw-diag;analyze;help;memory-trace' {
            break
        }
        'clw-diag;analyze;help;help' {
            break
        }
        'clw-diag;oom-rank' {
            [CompletionResult]::new('--cgroup', '--cgroup', [CompletionResultType]::ParameterName, 'Rank the processes of this memory cgroup and its descendants: a path as /proc/PID/cgroup prints it, a directory under the cgroup mount, or a workload: ns/pod[/container], project/service, a container name (docker:NAME), an ID prefix (6+ hex), a pod UID, a unit (e.g. labproj/hogsvc)')
            [CompletionResult]::new('--top', '--top', [CompletionResultType]::ParameterName, 'Show this many candidates in the table (JSON and CSV have all)')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Output format: a table for people, JSON (the stable contract, see docs/json.md), CSV, or GitHub Actions annotations (triage)')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to colour the output; NO_COLOR in the environment means never for "auto"')
            [CompletionResult]::new('--proc-root', '--proc-root', [CompletionResultType]::ParameterName, 'Read process files from this directory instead of /proc (e.g. a copied tree)')
            [CompletionResult]::new('--cgroup-root', '--cgroup-root', [CompletionResultType]::ParameterName, 'Read cgroup files from this directory instead of /sys/fs/cgroup')
            [CompletionResult]::new('--host-root', '--host-root', [CompletionResultType]::ParameterName, 'Read the node''s container runtime and kubelet files (Docker''s config.v2.json, containerd bundles, CRI-O and podman files, /var/log/containers) under this directory, to name each cgroup''s container, pod, compose service or unit')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Shorthand for --format json')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only the data: no notes or warnings on stderr')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only the data: no notes or warnings on stderr')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Say more on stderr about what is read (repeat for more)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Say more on stderr about what is read (repeat for more)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'clw-diag;recommend' {
            [CompletionResult]::new('--cgroup', '--cgroup', [CompletionResultType]::ParameterName, 'A live memory cgroup: relative to the memory hierarchy, or absolute, or a workload (ns/pod[/container], project/service, a container name or docker:NAME, an ID prefix of 6+ hex, a pod UID, a unit; e.g. labproj/hogsvc)')
            [CompletionResult]::new('--prometheus', '--prometheus', [CompletionResultType]::ParameterName, 'A Prometheus server''s base URL (http://host:9090)')
            [CompletionResult]::new('--selector', '--selector', [CompletionResultType]::ParameterName, 'Label selector for the default query, e.g. ''namespace="shop",container="web"''')
            [CompletionResult]::new('--query', '--query', [CompletionResultType]::ParameterName, 'A PromQL query returning memory in bytes (instead of the default working-set query)')
            [CompletionResult]::new('--since', '--since', [CompletionResultType]::ParameterName, 'How far back to query Prometheus (30m, 1.5h, 7d, 1w; a bare number is seconds)')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'Timeout of each Prometheus request')
            [CompletionResult]::new('--metric', '--metric', [CompletionResultType]::ParameterName, 'The memory column of trace files (default: anon or RSS, working set for cgroups)')
            [CompletionResult]::new('--interval', '--interval', [CompletionResultType]::ParameterName, 'The interval whose peaks the policies use (30s, 5m, 1.5h, 1d; a bare number is seconds) [default: 5m, or shorter for a history under 100 minutes: the longest of 1s…5m that still gives 20 intervals]')
            [CompletionResult]::new('--policy', '--policy', [CompletionResultType]::ParameterName, 'The policy, or all of them side by side')
            [CompletionResult]::new('--backtest', '--backtest', [CompletionResultType]::ParameterName, 'Fit on the first FRACTION of the history (default 0.7), replay the rest: intervals above the request and the limit, and the slack in GiB·hours')
            [CompletionResult]::new('--emit', '--emit', [CompletionResultType]::ParameterName, 'Print a configuration snippet instead of the table')
            [CompletionResult]::new('--plot', '--plot', [CompletionResultType]::ParameterName, 'Draw the interval peaks'' histogram with the request and limit lines (first target)')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Output format: a table for people, JSON (the stable contract, see docs/json.md), CSV, or GitHub Actions annotations (triage)')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to colour the output; NO_COLOR in the environment means never for "auto"')
            [CompletionResult]::new('--proc-root', '--proc-root', [CompletionResultType]::ParameterName, 'Read process files from this directory instead of /proc (e.g. a copied tree)')
            [CompletionResult]::new('--cgroup-root', '--cgroup-root', [CompletionResultType]::ParameterName, 'Read cgroup files from this directory instead of /sys/fs/cgroup')
            [CompletionResult]::new('--host-root', '--host-root', [CompletionResultType]::ParameterName, 'Read the node''s container runtime and kubelet files (Docker''s config.v2.json, containerd bundles, CRI-O and podman files, /var/log/containers) under this directory, to name each cgroup''s container, pod, compose service or unit')
            [CompletionResult]::new('--oom-metric', '--oom-metric', [CompletionResultType]::ParameterName, 'Also count OOM kills from kube-state-metrics'' kube_pod_container_status_last_terminated_reason{reason="OOMKilled"}')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Shorthand for --format json')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only the data: no notes or warnings on stderr')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only the data: no notes or warnings on stderr')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Say more on stderr about what is read (repeat for more)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Say more on stderr about what is read (repeat for more)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'clw-diag;report' {
            [CompletionResult]::new('--logs', '--logs', [CompletionResultType]::ParameterName, 'Also read these log files (a glob: ''*'' and ''?'' in the file name; repeatable)')
            [CompletionResult]::new('--cores', '--cores', [CompletionResultType]::ParameterName, 'Look for core files in DIR (repeatable)')
            [CompletionResult]::new('--coredump-dir', '--coredump-dir', [CompletionResultType]::ParameterName, 'systemd-coredump''s store, read for the crashes since --since (with the journal''s entries for them) [default: /var/lib/systemd/coredump]')
            [CompletionResult]::new('--coredump-journal-dir', '--coredump-journal-dir', [CompletionResultType]::ParameterName, 'Join the store with the journal files in DIR instead of the system journal (for tests)')
            [CompletionResult]::new('--since', '--since', [CompletionResultType]::ParameterName, 'The window: a duration back from now (30m, 1.5h, 2d) or a timestamp (2024-04-15T10:00:00Z, "2024-04-15 10:00", UTC unless an offset is given) [default: 1h]')
            [CompletionResult]::new('--trace', '--trace', [CompletionResultType]::ParameterName, 'A memory trace (clw-diag record, CSV, Prometheus JSON) for a leak verdict (repeatable)')
            [CompletionResult]::new('--cgroup', '--cgroup', [CompletionResultType]::ParameterName, 'The memory cgroup of the incident, for the snapshot and the OOM kill order')
            [CompletionResult]::new('--bundle', '--bundle', [CompletionResultType]::ParameterName, 'Also write the raw inputs, redacted, to OUT.tar.gz (mode 0600)')
            [CompletionResult]::new('--bundle-max', '--bundle-max', [CompletionResultType]::ParameterName, 'Bound on what the bundle keeps, before compression (64Mi, 1Gi, 500M); each file also keeps at most 8 MiB and then says where it was cut')
            [CompletionResult]::new('--section-timeout', '--section-timeout', [CompletionResultType]::ParameterName, 'Time budget of each section (500ms, 30s, 2m; a bare number is seconds; at most 1d)')
            [CompletionResult]::new('--kmsg', '--kmsg', [CompletionResultType]::ParameterName, 'The kernel log device')
            [CompletionResult]::new('--worker-log-glob', '--worker-log-glob', [CompletionResultType]::ParameterName, 'Replace the --worker-logs places (for tests)')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Output format: a table for people, JSON (the stable contract, see docs/json.md), CSV, or GitHub Actions annotations (triage)')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to colour the output; NO_COLOR in the environment means never for "auto"')
            [CompletionResult]::new('--proc-root', '--proc-root', [CompletionResultType]::ParameterName, 'Read process files from this directory instead of /proc (e.g. a copied tree)')
            [CompletionResult]::new('--cgroup-root', '--cgroup-root', [CompletionResultType]::ParameterName, 'Read cgroup files from this directory instead of /sys/fs/cgroup')
            [CompletionResult]::new('--host-root', '--host-root', [CompletionResultType]::ParameterName, 'Read the node''s container runtime and kubelet files (Docker''s config.v2.json, containerd bundles, CRI-O and podman files, /var/log/containers) under this directory, to name each cgroup''s container, pod, compose service or unit')
            [CompletionResult]::new('--worker-logs', '--worker-logs', [CompletionResultType]::ParameterName, 'Read the worker logs in their usual places: /var/log/clw/*.log, /var/log/claw/*.log')
            [CompletionResult]::new('--force', '--force', [CompletionResultType]::ParameterName, 'Replace an existing --bundle file (a regular file only: a device, FIFO, directory or symlink there is always refused)')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Shorthand for --format json')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only the data: no notes or warnings on stderr')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only the data: no notes or warnings on stderr')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Say more on stderr about what is read (repeat for more)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Say more on stderr about what is read (repeat for more)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'clw-diag;backtrace' {
            [CompletionResult]::new('--coredump', '--coredump', [CompletionResultType]::ParameterName, 'The newest crash stored by systemd-coredump that matches (a pid, or part of the command or executable path; as `clw-diag coredumps MATCH` lists them), instead of a core file')
            [CompletionResult]::new('--coredump-dir', '--coredump-dir', [CompletionResultType]::ParameterName, 'With --coredump: the store directory (default /var/lib/systemd/coredump; a copy)')
            [CompletionResult]::new('--pid', '--pid', [CompletionResultType]::ParameterName, 'A live process instead of a core: every thread''s stack now ("self" is refused: a process cannot trace itself)')
            [CompletionResult]::new('--samples', '--samples', [CompletionResultType]::ParameterName, 'With --pid: take N snapshots and count identical stacks (most frequent first)')
            [CompletionResult]::new('--interval', '--interval', [CompletionResultType]::ParameterName, 'With --samples: time between snapshots (10ms to 1h)')
            [CompletionResult]::new('--exe', '--exe', [CompletionResultType]::ParameterName, 'The executable that crashed, when it is not where the core says')
            [CompletionResult]::new('--sysroot', '--sysroot', [CompletionResultType]::ParameterName, 'Find the mapped files under this root instead of / (e.g. a copied container image)')
            [CompletionResult]::new('--debug-dir', '--debug-dir', [CompletionResultType]::ParameterName, 'Also look for separate debug files (.build-id/xx/….debug, debuglink names) in DIR')
            [CompletionResult]::new('--max-core-size', '--max-core-size', [CompletionResultType]::ParameterName, 'The largest size a compressed core may decompress to (bytes, or with a suffix: 512Mi, 64Gi); past it the read stops with an error, as for a decompression bomb')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Output format: a table for people, JSON (the stable contract, see docs/json.md), CSV, or GitHub Actions annotations (triage)')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to colour the output; NO_COLOR in the environment means never for "auto"')
            [CompletionResult]::new('--proc-root', '--proc-root', [CompletionResultType]::ParameterName, 'Read process files from this directory instead of /proc (e.g. a copied tree)')
            [CompletionResult]::new('--cgroup-root', '--cgroup-root', [CompletionResultType]::ParameterName, 'Read cgroup files from this directory instead of /sys/fs/cgroup')
            [CompletionResult]::new('--host-root', '--host-root', [CompletionResultType]::ParameterName, 'Read the node''s container runtime and kubelet files (Docker''s config.v2.json, containerd bundles, CRI-O and podman files, /var/log/containers) under this directory, to name each cgroup''s container, pod, compose service or unit')
            [CompletionResult]::new('--consistent', '--consistent', [CompletionResultType]::ParameterName, 'With --pid: hold all threads at once (one consistent moment, e.g. for a deadlock), instead of one at a time')
            [CompletionResult]::new('--folded', '--folded', [CompletionResultType]::ParameterName, 'With --samples: print the stacks in the folded format of flamegraph.pl and inferno (`thread;outer;…;inner COUNT`), instead of the table')
            [CompletionResult]::new('--crashed-only', '--crashed-only', [CompletionResultType]::ParameterName, 'Print only the crashing thread')
            [CompletionResult]::new('--debuginfod', '--debuginfod', [CompletionResultType]::ParameterName, 'Fetch missing debug files (and executables or libraries missing on disk) by build ID from the servers in DEBUGINFOD_URLS. Also on whenever DEBUGINFOD_URLS is set; never otherwise. Cached as elfutils does (DEBUGINFOD_CACHE_PATH, else ~/.cache/debuginfod_client); DEBUGINFOD_TIMEOUT in seconds (default 90)')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Shorthand for --format json')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only the data: no notes or warnings on stderr')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only the data: no notes or warnings on stderr')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Say more on stderr about what is read (repeat for more)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Say more on stderr about what is read (repeat for more)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'clw-diag;coredumps' {
            [CompletionResult]::new('--since', '--since', [CompletionResultType]::ParameterName, 'Only crashes at or after this time: a duration back from now (30m, 2h, 1d) or a timestamp (2024-04-15T10:00:00Z)')
            [CompletionResult]::new('--dir', '--dir', [CompletionResultType]::ParameterName, 'The store directory [default: /var/lib/systemd/coredump]')
            [CompletionResult]::new('--journal-dir', '--journal-dir', [CompletionResultType]::ParameterName, 'Read the journal files in DIR (journalctl --directory; e.g. a copied /var/log/journal)')
            [CompletionResult]::new('--journal-file', '--journal-file', [CompletionResultType]::ParameterName, 'Read this journal file (journalctl --file)')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Output format: a table for people, JSON (the stable contract, see docs/json.md), CSV, or GitHub Actions annotations (triage)')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to colour the output; NO_COLOR in the environment means never for "auto"')
            [CompletionResult]::new('--proc-root', '--proc-root', [CompletionResultType]::ParameterName, 'Read process files from this directory instead of /proc (e.g. a copied tree)')
            [CompletionResult]::new('--cgroup-root', '--cgroup-root', [CompletionResultType]::ParameterName, 'Read cgroup files from this directory instead of /sys/fs/cgroup')
            [CompletionResult]::new('--host-root', '--host-root', [CompletionResultType]::ParameterName, 'Read the node''s container runtime and kubelet files (Docker''s config.v2.json, containerd bundles, CRI-O and podman files, /var/log/containers) under this directory, to name each cgroup''s container, pod, compose service or unit')
            [CompletionResult]::new('--no-journal', '--no-journal', [CompletionResultType]::ParameterName, 'Do not read the journal: list from the file names only')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Shorthand for --format json')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only the data: no notes or warnings on stderr')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only the data: no notes or warnings on stderr')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Say more on stderr about what is read (repeat for more)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Say more on stderr about what is read (repeat for more)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'clw-diag;leaks' {
            [CompletionResult]::new('--duration', '--duration', [CompletionResultType]::ParameterName, 'Stop after this long (500ms, 30s, 5m); default: Ctrl-C or the process''s end')
            [CompletionResult]::new('--sample-bytes', '--sample-bytes', [CompletionResultType]::ParameterName, 'Mean bytes between sampled allocations (512Ki, 64Ki; 1 = every allocation, exact)')
            [CompletionResult]::new('--unwind', '--unwind', [CompletionResultType]::ParameterName, 'How stacks are taken')
            [CompletionResult]::new('--stack-bytes', '--stack-bytes', [CompletionResultType]::ParameterName, 'Bytes of stack copied per sampled allocation with --unwind cfi (4096, 8192 or 16384)')
            [CompletionResult]::new('--top', '--top', [CompletionResultType]::ParameterName, 'Show this many stacks, most bytes first (0: all)')
            [CompletionResult]::new('--alloc-symbols', '--alloc-symbols', [CompletionResultType]::ParameterName, 'Also probe allocator functions under this symbol prefix (je_, _rjem_, mi_, tc_); repeatable')
            [CompletionResult]::new('--max-overhead', '--max-overhead', [CompletionResultType]::ParameterName, 'Warn when the probes'' traps alone cost more than this share of a core (percent)')
            [CompletionResult]::new('--debug-dir', '--debug-dir', [CompletionResultType]::ParameterName, 'Extra directory searched for separate debug files (repeatable)')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Write the profile to FILE instead of stdout (a profiled command''s own output stays on stdout)')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Write the profile to FILE instead of stdout (a profiled command''s own output stays on stdout)')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Output format: a table for people, JSON (the stable contract, see docs/json.md), CSV, or GitHub Actions annotations (triage)')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to colour the output; NO_COLOR in the environment means never for "auto"')
            [CompletionResult]::new('--proc-root', '--proc-root', [CompletionResultType]::ParameterName, 'Read process files from this directory instead of /proc (e.g. a copied tree)')
            [CompletionResult]::new('--cgroup-root', '--cgroup-root', [CompletionResultType]::ParameterName, 'Read cgroup files from this directory instead of /sys/fs/cgroup')
            [CompletionResult]::new('--host-root', '--host-root', [CompletionResultType]::ParameterName, 'Read the node''s container runtime and kubelet files (Docker''s config.v2.json, containerd bundles, CRI-O and podman files, /var/log/containers) under this directory, to name each cgroup''s container, pod, compose service or unit')
            [CompletionResult]::new('--debuginfod', '--debuginfod', [CompletionResultType]::ParameterName, 'Ask debuginfod servers (DEBUGINFOD_URLS) for debug files by build ID')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Shorthand for --format json')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only the data: no notes or warnings on stderr')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only the data: no notes or warnings on stderr')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Say more on stderr about what is read (repeat for more)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Say more on stderr about what is read (repeat for more)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'clw-diag;profile' {
            [CompletionResult]::new('--duration', '--duration', [CompletionResultType]::ParameterName, 'Stop after this long (500ms, 30s, 5m); default: Ctrl-C or the process''s end')
            [CompletionResult]::new('--sample-bytes', '--sample-bytes', [CompletionResultType]::ParameterName, 'Mean bytes between sampled allocations (512Ki, 64Ki; 1 = every allocation, exact)')
            [CompletionResult]::new('--unwind', '--unwind', [CompletionResultType]::ParameterName, 'How stacks are taken')
            [CompletionResult]::new('--stack-bytes', '--stack-bytes', [CompletionResultType]::ParameterName, 'Bytes of stack copied per sampled allocation with --unwind cfi (4096, 8192 or 16384)')
            [CompletionResult]::new('--top', '--top', [CompletionResultType]::ParameterName, 'Show this many stacks, most bytes first (0: all)')
            [CompletionResult]::new('--alloc-symbols', '--alloc-symbols', [CompletionResultType]::ParameterName, 'Also probe allocator functions under this symbol prefix (je_, _rjem_, mi_, tc_); repeatable')
            [CompletionResult]::new('--max-overhead', '--max-overhead', [CompletionResultType]::ParameterName, 'Warn when the probes'' traps alone cost more than this share of a core (percent)')
            [CompletionResult]::new('--debug-dir', '--debug-dir', [CompletionResultType]::ParameterName, 'Extra directory searched for separate debug files (repeatable)')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Write the profile to FILE instead of stdout (a profiled command''s own output stays on stdout)')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Write the profile to FILE instead of stdout (a profiled command''s own output stays on stdout)')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Output format: a table for people, JSON (the stable contract, see docs/json.md), CSV, or GitHub Actions annotations (triage)')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to colour the output; NO_COLOR in the environment means never for "auto"')
            [CompletionResult]::new('--proc-root', '--proc-root', [CompletionResultType]::ParameterName, 'Read process files from this directory instead of /proc (e.g. a copied tree)')
            [CompletionResult]::new('--cgroup-root', '--cgroup-root', [CompletionResultType]::ParameterName, 'Read cgroup files from this directory instead of /sys/fs/cgroup')
            [CompletionResult]::new('--host-root', '--host-root', [CompletionResultType]::ParameterName, 'Read the node''s container runtime and kubelet files (Docker''s config.v2.json, containerd bundles, CRI-O and podman files, /var/log/containers) under this directory, to name each cgroup''s container, pod, compose service or unit')
            [CompletionResult]::new('--debuginfod', '--debuginfod', [CompletionResultType]::ParameterName, 'Ask debuginfod servers (DEBUGINFOD_URLS) for debug files by build ID')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Shorthand for --format json')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only the data: no notes or warnings on stderr')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only the data: no notes or warnings on stderr')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Say more on stderr about what is read (repeat for more)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Say more on stderr about what is read (repeat for more)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'clw-diag;symbolize' {
            [CompletionResult]::new('-e', '-e', [CompletionResultType]::ParameterName, 'The executable or library the addresses belong to')
            [CompletionResult]::new('--exe', '--exe', [CompletionResultType]::ParameterName, 'The executable or library the addresses belong to')
            [CompletionResult]::new('--text', '--text', [CompletionResultType]::ParameterName, 'Rewrite the raw backtraces found in FILE (or standard input): glibc backtrace_symbols, sanitizer, gdb "?? ()" and Rust RUST_BACKTRACE=full frames get function, file and line')
            [CompletionResult]::new('--maps', '--maps', [CompletionResultType]::ParameterName, 'With --text: the memory map (/proc/PID/maps format) for absolute addresses')
            [CompletionResult]::new('--pid', '--pid', [CompletionResultType]::ParameterName, 'With --text: read the memory map of this running process')
            [CompletionResult]::new('--core', '--core', [CompletionResultType]::ParameterName, 'With --text: take the memory map from this core dump''s NT_FILE note (the process that printed the backtrace, after it crashed)')
            [CompletionResult]::new('--debug-dir', '--debug-dir', [CompletionResultType]::ParameterName, 'Also look for separate debug files in DIR')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Output format: a table for people, JSON (the stable contract, see docs/json.md), CSV, or GitHub Actions annotations (triage)')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to colour the output; NO_COLOR in the environment means never for "auto"')
            [CompletionResult]::new('--proc-root', '--proc-root', [CompletionResultType]::ParameterName, 'Read process files from this directory instead of /proc (e.g. a copied tree)')
            [CompletionResult]::new('--cgroup-root', '--cgroup-root', [CompletionResultType]::ParameterName, 'Read cgroup files from this directory instead of /sys/fs/cgroup')
            [CompletionResult]::new('--host-root', '--host-root', [CompletionResultType]::ParameterName, 'Read the node''s container runtime and kubelet files (Docker''s config.v2.json, containerd bundles, CRI-O and podman files, /var/log/containers) under this directory, to name each cgroup''s container, pod, compose service or unit')
            [CompletionResult]::new('-f', '-f', [CompletionResultType]::ParameterName, 'Print function names')
            [CompletionResult]::new('--functions', '--functions', [CompletionResultType]::ParameterName, 'Print function names')
            [CompletionResult]::new('-i', '-i', [CompletionResultType]::ParameterName, 'Print the callers of inlined functions too')
            [CompletionResult]::new('--inlines', '--inlines', [CompletionResultType]::ParameterName, 'Print the callers of inlined functions too')
            [CompletionResult]::new('-C', '-C ', [CompletionResultType]::ParameterName, 'Demangle C++ and Rust names')
            [CompletionResult]::new('--demangle', '--demangle', [CompletionResultType]::ParameterName, 'Demangle C++ and Rust names')
            [CompletionResult]::new('-a', '-a', [CompletionResultType]::ParameterName, 'Print each address before its lines')
            [CompletionResult]::new('--addresses', '--addresses', [CompletionResultType]::ParameterName, 'Print each address before its lines')
            [CompletionResult]::new('-p', '-p', [CompletionResultType]::ParameterName, 'Print each address on one line ("pretty")')
            [CompletionResult]::new('--pretty-print', '--pretty-print', [CompletionResultType]::ParameterName, 'Print each address on one line ("pretty")')
            [CompletionResult]::new('-s', '-s', [CompletionResultType]::ParameterName, 'Print file base names only')
            [CompletionResult]::new('--basenames', '--basenames', [CompletionResultType]::ParameterName, 'Print file base names only')
            [CompletionResult]::new('--debuginfod', '--debuginfod', [CompletionResultType]::ParameterName, 'Fetch missing debug files by build ID from the servers in DEBUGINFOD_URLS (also on whenever DEBUGINFOD_URLS is set; never otherwise)')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Shorthand for --format json')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only the data: no notes or warnings on stderr')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only the data: no notes or warnings on stderr')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Say more on stderr about what is read (repeat for more)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Say more on stderr about what is read (repeat for more)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'clw-diag;serve' {
            [CompletionResult]::new('--listen', '--listen', [CompletionResultType]::ParameterName, 'Address and port to listen on (9477 by default; use 0.0.0.0:PORT for every interface)')
            [CompletionResult]::new('--top', '--top', [CompletionResultType]::ParameterName, 'Per-process series for this many processes, the largest by RSS')
            [CompletionResult]::new('--cgroup', '--cgroup', [CompletionResultType]::ParameterName, 'Also export this memory cgroup (those with a limit of their own always are). Repeatable')
            [CompletionResult]::new('--max-connections', '--max-connections', [CompletionResultType]::ParameterName, 'Connections held at once [default: min(256, open-file limit / 2 - 16)]')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Output format: a table for people, JSON (the stable contract, see docs/json.md), CSV, or GitHub Actions annotations (triage)')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to colour the output; NO_COLOR in the environment means never for "auto"')
            [CompletionResult]::new('--proc-root', '--proc-root', [CompletionResultType]::ParameterName, 'Read process files from this directory instead of /proc (e.g. a copied tree)')
            [CompletionResult]::new('--cgroup-root', '--cgroup-root', [CompletionResultType]::ParameterName, 'Read cgroup files from this directory instead of /sys/fs/cgroup')
            [CompletionResult]::new('--host-root', '--host-root', [CompletionResultType]::ParameterName, 'Read the node''s container runtime and kubelet files (Docker''s config.v2.json, containerd bundles, CRI-O and podman files, /var/log/containers) under this directory, to name each cgroup''s container, pod, compose service or unit')
            [CompletionResult]::new('--pss', '--pss', [CompletionResultType]::ParameterName, 'Also read smaps_rollup of the top processes for clw_process_pss_bytes (walks their page tables under their mmap lock on every scrape)')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Shorthand for --format json')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only the data: no notes or warnings on stderr')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only the data: no notes or warnings on stderr')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Say more on stderr about what is read (repeat for more)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Say more on stderr about what is read (repeat for more)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'clw-diag;completions' {
            [CompletionResult]::new('--dir', '--dir', [CompletionResultType]::ParameterName, 'Write the completions of every shell into DIR instead')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Output format: a table for people, JSON (the stable contract, see docs/json.md), CSV, or GitHub Actions annotations (triage)')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to colour the output; NO_COLOR in the environment means never for "auto"')
            [CompletionResult]::new('--proc-root', '--proc-root', [CompletionResultType]::ParameterName, 'Read process files from this directory instead of /proc (e.g. a copied tree)')
            [CompletionResult]::new('--cgroup-root', '--cgroup-root', [CompletionResultType]::ParameterName, 'Read cgroup files from this directory instead of /sys/fs/cgroup')
            [CompletionResult]::new('--host-root', '--host-root', [CompletionResultType]::ParameterName, 'Read the node''s container runtime and kubelet files (Docker''s config.v2.json, containerd bundles, CRI-O and podman files, /var/log/containers) under this directory, to name each cgroup''s container, pod, compose service or unit')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Shorthand for --format json')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only the data: no notes or warnings on stderr')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only the data: no notes or warnings on stderr')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Say more on stderr about what is read (repeat for more)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Say more on stderr about what is read (repeat for more)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'clw-diag;man' {
            [CompletionResult]::new('--dir', '--dir', [CompletionResultType]::ParameterName, 'Write clw-diag.1 and one page per subcommand into DIR instead of printing clw-diag.1')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Output format: a table for people, JSON (the stable contract, see docs/json.md), CSV, or GitHub Actions annotations (triage)')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to colour the output; NO_COLOR in the environment means never for "auto"')
            [CompletionResult]::new('--proc-root', '--proc-root', [CompletionResultType]::ParameterName, 'Read process files from this directory instead of /proc (e.g. a copied tree)')
            [CompletionResult]::new('--cgroup-root', '--cgroup-root', [CompletionResultType]::ParameterName, 'Read cgroup files from this directory instead of /sys/fs/cgroup')
            [CompletionResult]::new('--host-root', '--host-root', [CompletionResultType]::ParameterName, 'Read the node''s container runtime and kubelet files (Docker''s config.v2.json, containerd bundles, CRI-O and podman files, /var/log/containers) under this directory, to name each cgroup''s container, pod, compose service or unit')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Shorthand for --format json')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only the data: no notes or warnings on stderr')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only the data: no notes or warnings on stderr')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Say more on stderr about what is read (repeat for more)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Say more on stderr about what is read (repeat for more)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'clw-diag;help' {
            [CompletionResult]::new('sample', 'sample', [CompletionResultType]::ParameterValue, 'Snapshot of host, memory cgroups and processes, with pressure states')
            [CompletionResult]::new('vmmap', 'vmmap', [CompletionResultType]::ParameterValue, 'Where a process''s memory is: heap, stacks, code, file data, shared memory, kernel')
            [CompletionResult]::new('triage', 'triage', [CompletionResultType]::ParameterValue, 'Find OOM kills, abnormal exits and crashes in kernel, container, systemd, runtime and CI logs')
            [CompletionResult]::new('record', 'record', [CompletionResultType]::ParameterValue, 'Record a memory trace of a process, a cgroup or a command (JSON Lines, crash-safe)')
            [CompletionResult]::new('analyze', 'analyze', [CompletionResultType]::ParameterValue, 'Analyse recorded traces: leak verdict, rate with a confidence interval, time to limit')
            [CompletionResult]::new('oom-rank', 'oom-rank', [CompletionResultType]::ParameterValue, 'Who the kernel''s OOM killer would kill first in a cgroup or on the host, and why')
            [CompletionResult]::new('recommend', 'recommend', [CompletionResultType]::ParameterValue, 'Memory request and limit from observed usage: traces, a cgroup, or Prometheus')
            [CompletionResult]::new('report', 'report', [CompletionResultType]::ParameterValue, 'One incident report: snapshot, OOM kill order, kernel and worker logs, cores, summary')
            [CompletionResult]::new('backtrace', 'backtrace', [CompletionResultType]::ParameterValue, 'Unwind and symbolize every thread of a core dump, like gdb''s `thread apply all bt`')
            [CompletionResult]::new('coredumps', 'coredumps', [CompletionResultType]::ParameterValue, 'List the crashes systemd-coredump stored (files and journal entries), newest first')
            [CompletionResult]::new('leaks', 'leaks', [CompletionResultType]::ParameterValue, 'Attach to a process: the call stacks holding the memory it allocates and keeps')
            [CompletionResult]::new('profile', 'profile', [CompletionResultType]::ParameterValue, 'Run a command under the heap profiler: the stacks holding what it never freed')
            [CompletionResult]::new('symbolize', 'symbolize', [CompletionResultType]::ParameterValue, 'Resolve addresses to function, file and line (addr2line-compatible, inline frames)')
            [CompletionResult]::new('serve', 'serve', [CompletionResultType]::ParameterValue, 'Serve host, cgroup and process memory metrics for Prometheus (OpenMetrics) at /metrics')
            [CompletionResult]::new('completions', 'completions', [CompletionResultType]::ParameterValue, 'Print shell completions (bash, zsh, fish, elvish, powershell)')
            [CompletionResult]::new('man', 'man', [CompletionResultType]::ParameterValue, 'Print the man page (or write every page with --dir)')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'clw-diag;help;sample' {
            break
        }
        'clw-diag;help;vmmap' {
            break
        }
        'clw-diag;help;triage' {
            break
        }
        'clw-diag;help;record' {
            break
        }
        'clw-diag;help;analyze' {
            [CompletionResult]::new('memory-trace', 'memory-trace', [CompletionResultType]::ParameterValue, 'Leak verdict, leak rate with a confidence interval, and time to the memory limit')
            break
        }
        'clw-diag;help;analyze;memory-trace' {
            break
        }
        'clw-diag;help;oom-rank' {
            break
        }
        'clw-diag;help;recommend' {
            break
        }
        'clw-diag;help;report' {
            break
        }
        'clw-diag;help;backtrace' {
            break
        }
        'clw-diag;help;coredumps' {
            break
        }
        'clw-diag;help;leaks' {
            break
        }
        'clw-diag;help;profile' {
            break
        }
        'clw-diag;help;symbolize' {
            break
        }
        'clw-diag;help;serve' {
            break
        }
        'clw-diag;help;completions' {
            break
        }
        'clw-diag;help;man' {
            break
        }
        'clw-diag;help;help' {
            break
        }
    })

    $completions.Where{ $_.CompletionText -like "$wordToComplete*" } |
        Sort-Object -Property ListItemText
}
