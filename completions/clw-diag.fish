# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_clw_diag_global_optspecs
    string join \n format= json color= q/quiet v/verbose proc-root= cgroup-root= host-root= worker-logs logs= cores= coredump-dir= coredump-journal-dir= since= trace= cgroup= bundle= force bundle-max= section-timeout= kmsg= worker-log-glob= h/help V/version
end

function __fish_clw_diag_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_clw_diag_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_clw_diag_using_subcommand
    set -l cmd (__fish_clw_diag_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c clw-diag -n "__fish_clw_diag_needs_command" -l format -d 'Output format: a table for people, JSON (the stable contract, see docs/json.md), CSV, or GitHub Actions annotations (triage)' -r -f -a "table\t''
json\t''
csv\t''
github\t'GitHub Actions annotations (triage only)'
folded\t'Folded stacks for flame graphs: flamegraph.pl, inferno (leaks and profile only)'"
complete -c clw-diag -n "__fish_clw_diag_needs_command" -l color -d 'When to colour the output; NO_COLOR in the environment means never for "auto"' -r -f -a "auto\t''
always\t''
never\t''"
complete -c clw-diag -n "__fish_clw_diag_needs_command" -l proc-root -d 'Read process files from this directory instead of /proc (e.g. a copied tree)' -r -F
complete -c clw-diag -n "__fish_clw_diag_needs_command" -l cgroup-root -d 'Read cgroup files from this directory instead of /sys/fs/cgroup' -r -F
complete -c clw-diag -n "__fish_clw_diag_needs_command" -l host-root -d 'Read the node\'s container runtime and kubelet files (Docker\'s config.v2.json, containerd bundles, CRI-O and podman files, /var/log/containers) under this directory, to name each cgroup\'s container, pod, compose service or unit' -r -F
complete -c clw-diag -n "__fish_clw_diag_needs_command" -l logs -d 'Also read these log files (a glob: \'*\' and \'?\' in the file name; repeatable)' -r
complete -c clw-diag -n "__fish_clw_diag_needs_command" -l cores -d 'Look for core files in DIR (repeatable)' -r -F
complete -c clw-diag -n "__fish_clw_diag_needs_command" -l coredump-dir -d 'systemd-coredump\'s store, read for the crashes since --since (with the journal\'s entries for them) [default: /var/lib/systemd/coredump]' -r -F
complete -c clw-diag -n "__fish_clw_diag_needs_command" -l coredump-journal-dir -d 'Join the store with the journal files in DIR instead of the system journal (for tests)' -r -F
complete -c clw-diag -n "__fish_clw_diag_needs_command" -l since -d 'The window: a duration back from now (30m, 1.5h, 2d) or a timestamp (2024-04-15T10:00:00Z, "2024-04-15 10:00", UTC unless an offset is given) [default: 1h]' -r
complete -c clw-diag -n "__fish_clw_diag_needs_command" -l trace -d 'A memory trace (clw-diag record, CSV, Prometheus JSON) for a leak verdict (repeatable)' -r -F
complete -c clw-diag -n "__fish_clw_diag_needs_command" -l cgroup -d 'The memory cgroup of the incident, for the snapshot and the OOM kill order' -r
complete -c clw-diag -n "__fish_clw_diag_needs_command" -l bundle -d 'Also write the raw inputs, redacted, to OUT.tar.gz (mode 0600)' -r -F
complete -c clw-diag -n "__fish_clw_diag_needs_command" -l bundle-max -d 'Bound on what the bundle keeps, before compression (64Mi, 1Gi, 500M); each file also keeps at most 8 MiB and then says where it was cut' -r
complete -c clw-diag -n "__fish_clw_diag_needs_command" -l section-timeout -d 'Time budget of each section (500ms, 30s, 2m; a bare number is seconds; at most 1d)' -r
complete -c clw-diag -n "__fish_clw_diag_needs_command" -l kmsg -d 'The kernel log device' -r -F
complete -c clw-diag -n "__fish_clw_diag_needs_command" -l worker-log-glob -d 'Replace the --worker-logs places (for tests)' -r
complete -c clw-diag -n "__fish_clw_diag_needs_command" -l json -d 'Shorthand for --format json'
complete -c clw-diag -n "__fish_clw_diag_needs_command" -s q -l quiet -d 'Print only the data: no notes or warnings on stderr'
complete -c clw-diag -n "__fish_clw_diag_needs_command" -s v -l verbose -d 'Say more on stderr about what is read (repeat for more)'
complete -c clw-diag -n "__fish_clw_diag_needs_command" -l worker-logs -d 'Read the worker logs in their usual places: /var/log/clw/*.log, /var/log/claw/*.log'
complete -c clw-diag -n "__fish_clw_diag_needs_command" -l force -d 'Replace an existing --bundle file (a regular file only: a device, FIFO, directory or symlink there is always refused)'
complete -c clw-diag -n "__fish_clw_diag_needs_command" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c clw-diag -n "__fish_clw_diag_needs_command" -s V -l version -d 'Print version'
complete -c clw-diag -n "__fish_clw_diag_needs_command" -f -a "sample" -d 'Snapshot of host, memory cgroups and processes, with pressure states'
complete -c clw-diag -n "__fish_clw_diag_needs_command" -f -a "vmmap" -d 'Where a process\'s memory is: heap, stacks, code, file data, shared memory, kernel'
complete -c clw-diag -n "__fish_clw_diag_needs_command" -f -a "triage" -d 'Find OOM kills, abnormal exits and crashes in kernel, container, systemd, runtime and CI logs'
complete -c clw-diag -n "__fish_clw_diag_needs_command" -f -a "record" -d 'Record a memory trace of a process, a cgroup or a command (JSON Lines, crash-safe)'
complete -c clw-diag -n "__fish_clw_diag_needs_command" -f -a "analyze" -d 'Analyse recorded traces: leak verdict, rate with a confidence interval, time to limit'
complete -c clw-diag -n "__fish_clw_diag_needs_command" -f -a "oom-rank" -d 'Who the kernel\'s OOM killer would kill first in a cgroup or on the host, and why'
complete -c clw-diag -n "__fish_clw_diag_needs_command" -f -a "recommend" -d 'Memory request and limit from observed usage: traces, a cgroup, or Prometheus'
complete -c clw-diag -n "__fish_clw_diag_needs_command" -f -a "report" -d 'One incident report: snapshot, OOM kill order, kernel and worker logs, cores, summary'
complete -c clw-diag -n "__fish_clw_diag_needs_command" -f -a "backtrace" -d 'Unwind and symbolize every thread of a core dump, like gdb\'s `thread apply all bt`'
complete -c clw-diag -n "__fish_clw_diag_needs_command" -f -a "coredumps" -d 'List the crashes systemd-coredump stored (files and journal entries), newest first'
complete -c clw-diag -n "__fish_clw_diag_needs_command" -f -a "leaks" -d 'Attach to a process: the call stacks holding the memory it allocates and keeps'
complete -c clw-diag -n "__fish_clw_diag_needs_command" -f -a "profile" -d 'Run a command under the heap profiler: the stacks holding what it never freed'
complete -c clw-diag -n "__fish_clw_diag_needs_command" -f -a "symbolize" -d 'Resolve addresses to function, file and line (addr2line-compatible, inline frames)'
complete -c clw-diag -n "__fish_clw_diag_needs_command" -f -a "serve" -d 'Serve host, cgroup and process memory metrics for Prometheus (OpenMetrics) at /metrics'
complete -c clw-diag -n "__fish_clw_diag_needs_command" -f -a "completions" -d 'Print shell completions (bash, zsh, fish, elvish, powershell)'
complete -c clw-diag -n "__fish_clw_diag_needs_command" -f -a "man" -d 'Print the man page (or write every page with --dir)'
complete -c clw-diag -n "__fish_clw_diag_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c clw-diag -n "__fish_clw_diag_using_subcommand sample" -l pid -d 'Only this process (repeatable; \'self\' is clw-diag itself)' -r
complete -c clw-diag -n "__fish_clw_diag_using_subcommand sample" -l cgroup -d 'Only this memory cgroup and its processes: a path relative to the memory hierarchy (/kubepods/pod1, as /proc/PID/cgroup prints it) or absolute (/sys/fs/cgroup/...), or a workload: ns/pod[/container], project/service, a container name (docker:NAME), an ID prefix (6+ hex), a pod UID, a unit (e.g. shop/web-5d8f7c9b4-x2x9z/hog). Repeatable' -r
complete -c clw-diag -n "__fish_clw_diag_using_subcommand sample" -l top -d 'How many processes to show' -r
complete -c clw-diag -n "__fish_clw_diag_using_subcommand sample" -l sort -d 'Rank processes by this figure (pss and uss read smaps_rollup of every process: slower)' -r -f -a "rss\t''
pss\t''
uss\t''
swap\t''"
complete -c clw-diag -n "__fish_clw_diag_using_subcommand sample" -l table -d 'With --format csv, the table to write (one CSV is one table): the processes, the memory cgroups or the host' -r -f -a "processes\t''
cgroups\t''
host\t''"
complete -c clw-diag -n "__fish_clw_diag_using_subcommand sample" -l watch -d 'Refresh every DURATION (500ms, 2s, 1m; a bare number is seconds; at least 100ms) until Ctrl-C; JSON output becomes JSON Lines' -r
complete -c clw-diag -n "__fish_clw_diag_using_subcommand sample" -l format -d 'Output format: a table for people, JSON (the stable contract, see docs/json.md), CSV, or GitHub Actions annotations (triage)' -r -f -a "table\t''
json\t''
csv\t''
github\t'GitHub Actions annotations (triage only)'
folded\t'Folded stacks for flame graphs: flamegraph.pl, inferno (leaks and profile only)'"
complete -c clw-diag -n "__fish_clw_diag_using_subcommand sample" -l color -d 'When to colour the output; NO_COLOR in the environment means never for "auto"' -r -f -a "auto\t''
always\t''
never\t''"
complete -c clw-diag -n "__fish_clw_diag_using_subcommand sample" -l proc-root -d 'Read process files from this directory instead of /proc (e.g. a copied tree)' -r -F
complete -c clw-diag -n "__fish_clw_diag_using_subcommand sample" -l cgroup-root -d 'Read cgroup files from this directory instead of /sys/fs/cgroup' -r -F
complete -c clw-diag -n "__fish_clw_diag_using_subcommand sample" -l host-root -d 'Read the node\'s container runtime and kubelet files (Docker\'s config.v2.json, containerd bundles, CRI-O and podman files, /var/log/containers) under this directory, to name each cgroup\'s container, pod, compose service or unit' -r -F
complete -c clw-diag -n "__fish_clw_diag_using_subcommand sample" -l all -d 'Show every process, not only the top N, and the pod sandbox and conmon cgroups'
complete -c clw-diag -n "__fish_clw_diag_using_subcommand sample" -l json -d 'Shorthand for --format json'
complete -c clw-diag -n "__fish_clw_diag_using_subcommand sample" -s q -l quiet -d 'Print only the data: no notes or warnings on stderr'
complete -c clw-diag -n "__fish_clw_diag_using_subcommand sample" -s v -l verbose -d 'Say more on stderr about what is read (repeat for more)'
complete -c clw-diag -n "__fish_clw_diag_using_subcommand sample" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c clw-diag -n "__fish_clw_diag_using_subcommand sample" -s V -l version -d 'Print version'
complete -c clw-diag -n "__fish_clw_diag_using_subcommand vmmap" -l sort -d 'Sort categories (and mappings) by this field, largest first; mappings default to address order' -r -f -a "address\t''
virtual\t''
rss\t''
pss\t''
uss\t''
dirty\t''
swap\t''"
complete -c clw-diag -n "__fish_clw_diag_using_subcommand vmmap" -l format -d 'Output format: a table for people, JSON (the stable contract, see docs/json.md), CSV, or GitHub Actions annotations (triage)' -r -f -a "table\t''
json\t''
csv\t''
github\t'GitHub Actions annotations (triage only)'
folded\t'Folded stacks for flame graphs: flamegraph.pl, inferno (leaks and profile only)'"
complete -c clw-diag -n "__fish_clw_diag_using_subcommand vmmap" -l color -d 'When to colour the output; NO_COLOR in the environment means never for "auto"' -r -f -a "auto\t''
always\t''
never\t''"
complete -c clw-diag -n "__fish_clw_diag_using_subcommand vmmap" -l proc-root -d 'Read process files from this directory instead of /proc (e.g. a copied tree)' -r -F
complete -c clw-diag -n "__fish_clw_diag_using_subcommand vmmap" -l cgroup-root -d 'Read cgroup files from this directory instead of /sys/fs/cgroup' -r -F
complete -c clw-diag -n "__fish_clw_diag_using_subcommand vmmap" -l host-root -d 'Read the node\'s container runtime and kubelet files (Docker\'s config.v2.json, containerd bundles, CRI-O and podman files, /var/log/containers) under this directory, to name each cgroup\'s container, pod, compose service or unit' -r -F
complete -c clw-diag -n "__fish_clw_diag_using_subcommand vmmap" -l mappings -d 'Also print one row per mapping, like pmap -X'
complete -c clw-diag -n "__fish_clw_diag_using_subcommand vmmap" -l verify -d 'Read smaps_rollup right after the pass and show whether its Rss and Pss match the sums'
complete -c clw-diag -n "__fish_clw_diag_using_subcommand vmmap" -l json -d 'Shorthand for --format json'
complete -c clw-diag -n "__fish_clw_diag_using_subcommand vmmap" -s q -l quiet -d 'Print only the data: no notes or warnings on stderr'
complete -c clw-diag -n "__fish_clw_diag_using_subcommand vmmap" -s v -l verbose -d 'Say more on stderr about what is read (repeat for more)'
complete -c clw-diag -n "__fish_clw_diag_using_subcommand vmmap" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c clw-diag -n "__fish_clw_diag_using_subcommand vmmap" -s V -l version -d 'Print version'
complete -c clw-diag -n "__fish_clw_diag_using_subcommand triage" -l since -d 'Only events at or after this time: a duration back from now (30m, 1.5h, 2d, 1w) or a timestamp (2024-04-15T10:00:00Z, "2024-04-15 10:00[:00]", UTC unless an offset such as +02:00 is given). Events without a time are kept' -r
complete -c clw-diag -n "__fish_clw_diag_using_subcommand triage" -l fail-on -d 'Exit with code 1 when events of this class are found (for CI)' -r -f -a "oom\t'Any out-of-memory kill or report, or an exit linked to one'
crash\t'Segfaults, SIGSEGV and SIGABRT exits'
any\t'Any event'"
complete -c clw-diag -n "__fish_clw_diag_using_subcommand triage" -l kmsg -d 'The kernel log device read by --dmesg' -r -F
complete -c clw-diag -n "__fish_clw_diag_using_subcommand triage" -l format -d 'Output format: a table for people, JSON (the stable contract, see docs/json.md), CSV, or GitHub Actions annotations (triage)' -r -f -a "table\t''
json\t''
csv\t''
github\t'GitHub Actions annotations (triage only)'
folded\t'Folded stacks for flame graphs: flamegraph.pl, inferno (leaks and profile only)'"
complete -c clw-diag -n "__fish_clw_diag_using_subcommand triage" -l color -d 'When to colour the output; NO_COLOR in the environment means never for "auto"' -r -f -a "auto\t''
always\t''
never\t''"
complete -c clw-diag -n "__fish_clw_diag_using_subcommand triage" -l proc-root -d 'Read process files from this directory instead of /proc (e.g. a copied tree)' -r -F
complete -c clw-diag -n "__fish_clw_diag_using_subcommand triage" -l cgroup-root -d 'Read cgroup files from this directory instead of /sys/fs/cgroup' -r -F
complete -c clw-diag -n "__fish_clw_diag_using_subcommand triage" -l host-root -d 'Read the node\'s container runtime and kubelet files (Docker\'s config.v2.json, containerd bundles, CRI-O and podman files, /var/log/containers) under this directory, to name each cgroup\'s container, pod, compose service or unit' -r -F
complete -c clw-diag -n "__fish_clw_diag_using_subcommand triage" -l dmesg -d 'Read the kernel ring buffer (/dev/kmsg), without blocking'
complete -c clw-diag -n "__fish_clw_diag_using_subcommand triage" -l journal -d 'Read the systemd journal (runs journalctl -o json)'
complete -c clw-diag -n "__fish_clw_diag_using_subcommand triage" -l json -d 'Shorthand for --format json'
complete -c clw-diag -n "__fish_clw_diag_using_subcommand triage" -s q -l quiet -d 'Print only the data: no notes or warnings on stderr'
complete -c clw-diag -n "__fish_clw_diag_using_subcommand triage" -s v -l verbose -d 'Say more on stderr about what is read (repeat for more)'
complete -c clw-diag -n "__fish_clw_diag_using_subcommand triage" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c clw-diag -n "__fish_clw_diag_using_subcommand triage" -s V -l version -d 'Print version'
complete -c clw-diag -n "__fish_clw_diag_using_subcommand record" -l pid -d 'Record this process (\'self\' for clw-diag itself)' -r
complete -c clw-diag -n "__fish_clw_diag_using_subcommand record" -l cgroup -d 'Record this memory cgroup: relative to the memory hierarchy, or absolute, or a workload (ns/pod[/container], project/service, a container name or docker:NAME, an ID prefix of 6+ hex, a pod UID, a unit; e.g. shop/web-5d8f7c9b4-x2x9z/hog). The header records the workload\'s identity' -r
complete -c clw-diag -n "__fish_clw_diag_using_subcommand record" -l memory-limit -d 'Run the command inside a new memory cgroup with this limit: 512Mi or 2Gi (powers of 1024), 500M or 2G (powers of 1000, as Kubernetes), or bytes' -r
complete -c clw-diag -n "__fish_clw_diag_using_subcommand record" -s i -l interval -d 'Sampling interval (250ms, 1s, 1m; a bare number is seconds; at least 10ms)' -r
complete -c clw-diag -n "__fish_clw_diag_using_subcommand record" -s d -l duration -d 'Stop after this long (90s, 30m, 1.5h, 1d; default: until the target exits or Ctrl-C)' -r
complete -c clw-diag -n "__fish_clw_diag_using_subcommand record" -s o -l output -d 'The trace file to write (an existing regular file is replaced; a device, FIFO, directory or symlink there is refused)' -r -F
complete -c clw-diag -n "__fish_clw_diag_using_subcommand record" -l format -d 'Output format: a table for people, JSON (the stable contract, see docs/json.md), CSV, or GitHub Actions annotations (triage)' -r -f -a "table\t''
json\t''
csv\t''
github\t'GitHub Actions annotations (triage only)'
folded\t'Folded stacks for flame graphs: flamegraph.pl, inferno (leaks and profile only)'"
complete -c clw-diag -n "__fish_clw_diag_using_subcommand record" -l color -d 'When to colour the output; NO_COLOR in the environment means never for "auto"' -r -f -a "auto\t''
always\t''
never\t''"
complete -c clw-diag -n "__fish_clw_diag_using_subcommand record" -l proc-root -d 'Read process files from this directory instead of /proc (e.g. a copied tree)' -r -F
complete -c clw-diag -n "__fish_clw_diag_using_subcommand record" -l cgroup-root -d 'Read cgroup files from this directory instead of /sys/fs/cgroup' -r -F
complete -c clw-diag -n "__fish_clw_diag_using_subcommand record" -l host-root -d 'Read the node\'s container runtime and kubelet files (Docker\'s config.v2.json, containerd bundles, CRI-O and podman files, /var/log/containers) under this directory, to name each cgroup\'s container, pod, compose service or unit' -r -F
complete -c clw-diag -n "__fish_clw_diag_using_subcommand record" -l children -d 'Include the process\'s descendants, summed'
complete -c clw-diag -n "__fish_clw_diag_using_subcommand record" -l keep-oom-score -d 'Do not raise the recorder\'s own oom_score_adj to 1000'
complete -c clw-diag -n "__fish_clw_diag_using_subcommand record" -l json -d 'Shorthand for --format json'
complete -c clw-diag -n "__fish_clw_diag_using_subcommand record" -s q -l quiet -d 'Print only the data: no notes or warnings on stderr'
complete -c clw-diag -n "__fish_clw_diag_using_subcommand record" -s v -l verbose -d 'Say more on stderr about what is read (repeat for more)'
complete -c clw-diag -n "__fish_clw_diag_using_subcommand record" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c clw-diag -n "__fish_clw_diag_using_subcommand record" -s V -l version -d 'Print version'
complete -c clw-diag -n "__fish_clw_diag_using_subcommand analyze; and not __fish_seen_subcommand_from memory-trace help" -l format -d 'Output format: a table for people, JSON (the stable contract, see docs/json.md), CSV, or GitHub Actions annotations (triage)' -r -f -a "table\t''
json\t''
csv\t''
github\t'GitHub Actions annotations (triage only)'
folded\t'Folded stacks for flame graphs: flamegraph.pl, inferno (leaks and profile only)'"
complete -c clw-diag -n "__fish_clw_diag_using_subcommand analyze; and not __fish_seen_subcommand_from memory-trace help" -l color -d 'When to colour the output; NO_COLOR in the environment means never for "auto"' -r -f -a "auto\t''
always\t''
never\t''"
complete -c clw-diag -n "__fish_clw_diag_using_subcommand analyze; and not __fish_seen_subcommand_from memory-trace help" -l proc-root -d 'Read process files from this directory instead of /proc (e.g. a copied tree)' -r -F
complete -c clw-diag -n "__fish_clw_diag_using_subcommand analyze; and not __fish_seen_subcommand_from memory-trace help" -l cgroup-root -d 'Read cgroup files from this directory instead of /sys/fs/cgroup' -r -F
complete -c clw-diag -n "__fish_clw_diag_using_subcommand analyze; and not __fish_seen_subcommand_from memory-trace help" -l host-root -d 'Read the node\'s container runtime and kubelet files (Docker\'s config.v2.json, containerd bundles, CRI-O and podman files, /var/log/containers) under this directory, to name each cgroup\'s container, pod, compose service or unit' -r -F
complete -c clw-diag -n "__fish_clw_diag_using_subcommand analyze; and not __fish_seen_subcommand_from memory-trace help" -l json -d 'Shorthand for --format json'
complete -c clw-diag -n "__fish_clw_diag_using_subcommand analyze; and not __fish_seen_subcommand_from memory-trace help" -s q -l quiet -d 'Print only the data: no notes or warnings on stderr'
complete -c clw-diag -n "__fish_clw_diag_using_subcommand analyze; and not __fish_seen_subcommand_from memory-trace help" -s v -l verbose -d 'Say more on stderr about what is read (repeat for more)'
complete -c clw-diag -n "__fish_clw_diag_using_subcommand analyze; and not __fish_seen_subcommand_from memory-trace help" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c clw-diag -n "__fish_clw_diag_using_subcommand analyze; and not __fish_seen_subcommand_from memory-trace help" -s V -l version -d 'Print version'
complete -c clw-diag -n "__fish_clw_diag_using_subcommand analyze; and not __fish_seen_subcommand_from memory-trace help" -f -a "memory-trace" -d 'Leak verdict, leak rate with a confidence interval, and time to the memory limit'
complete -c clw-diag -n "__fish_clw_diag_using_subcommand analyze; and not __fish_seen_subcommand_from memory-trace help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c clw-diag -n "__fish_clw_diag_using_subcommand analyze; and __fish_seen_subcommand_from memory-trace" -l metric -d 'The memory column to analyse, as the trace names it (anon_bytes) or as the source\'s header does (rss_kb in a CSV or pidstat export); default: anon or RSS for processes, anon or working set for cgroups' -r
complete -c clw-diag -n "__fish_clw_diag_using_subcommand analyze; and __fish_seen_subcommand_from memory-trace" -l limit -d 'The memory limit to project against: 2048Mi or 2Gi (powers of 1024), 2G (10^9, as Kubernetes), or bytes more than 0 (default: the trace\'s cgroup limit, else the host\'s MemTotal)' -r
complete -c clw-diag -n "__fish_clw_diag_using_subcommand analyze; and __fish_seen_subcommand_from memory-trace" -l plot -d 'Draw memory over time, the envelope, the trend with its band, the limit and the projected crossing into this .svg or .png file (with several traces, the first)' -r -F
complete -c clw-diag -n "__fish_clw_diag_using_subcommand analyze; and __fish_seen_subcommand_from memory-trace" -l min-growth -d 'Growth over the analysed window below which a trend is only "suspected", percent' -r
complete -c clw-diag -n "__fish_clw_diag_using_subcommand analyze; and __fish_seen_subcommand_from memory-trace" -l min-rate -d 'Growth rate below which a leak is flagged as slow, in bytes per hour (1Mi = 2^20, 1M = 10^6, or bytes)' -r
complete -c clw-diag -n "__fish_clw_diag_using_subcommand analyze; and __fish_seen_subcommand_from memory-trace" -l format -d 'Output format: a table for people, JSON (the stable contract, see docs/json.md), CSV, or GitHub Actions annotations (triage)' -r -f -a "table\t''
json\t''
csv\t''
github\t'GitHub Actions annotations (triage only)'
folded\t'Folded stacks for flame graphs: flamegraph.pl, inferno (leaks and profile only)'"
complete -c clw-diag -n "__fish_clw_diag_using_subcommand analyze; and __fish_seen_subcommand_from memory-trace" -l color -d 'When to colour the output; NO_COLOR in the environment means never for "auto"' -r -f -a "auto\t''
always\t''
never\t''"
complete -c clw-diag -n "__fish_clw_diag_using_subcommand analyze; and __fish_seen_subcommand_from memory-trace" -l proc-root -d 'Read process files from this directory instead of /proc (e.g. a copied tree)' -r -F
complete -c clw-diag -n "__fish_clw_diag_using_subcommand analyze; and __fish_seen_subcommand_from memory-trace" -l cgroup-root -d 'Read cgroup files from this directory instead of /sys/fs/cgroup' -r -F
complete -c clw-diag -n "__fish_clw_diag_using_subcommand analyze; and __fish_seen_subcommand_from memory-trace" -l host-root -d 'Read the node\'s container runtime and kubelet files (Docker\'s config.v2.json, containerd bundles, CRI-O and podman files, /var/log/containers) under this directory, to name each cgroup\'s container, pod, compose service or unit' -r -F
complete -c clw-diag -n "__fish_clw_diag_using_subcommand analyze; and __fish_seen_subcommand_from memory-trace" -l leak-detection -d 'Run the leak detection (the default analysis; kept for the runbooks\' command line)'
complete -c clw-diag -n "__fish_clw_diag_using_subcommand analyze; and __fish_seen_subcommand_from memory-trace" -l fail-on-leak -d 'Exit with code 1 when any verdict is leak'
complete -c clw-diag -n "__fish_clw_diag_using_subcommand analyze; and __fish_seen_subcommand_from memory-trace" -l json -d 'Shorthand for --format json'
complete -c clw-diag -n "__fish_clw_diag_using_subcommand analyze; and __fish_seen_subcommand_from memory-trace" -s q -l quiet -d 'Print only the data: no notes or warnings on stderr'
complete -c clw-diag -n "__fish_clw_diag_using_subcommand analyze; and __fish_seen_subcommand_from memory-trace" -s v -l verbose -d 'Say more on stderr about what is read (repeat for more)'
complete -c clw-diag -n "__fish_clw_diag_using_subcommand analyze; and __fish_seen_subcommand_from memory-trace" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c clw-diag -n "__fish_clw_diag_using_subcommand analyze; and __fish_seen_subcommand_from memory-trace" -s V -l version -d 'Print version'
complete -c clw-diag -n "__fish_clw_diag_using_subcommand analyze; and __fish_seen_subcommand_from help" -f -a "memory-trace" -d 'Leak verdict, leak rate with a confidence interval, and time to the memory limit'
complete -c clw-diag -n "__fish_clw_diag_using_subcommand analyze; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c clw-diag -n "__fish_clw_diag_using_subcommand oom-rank" -l cgroup -d 'Rank the processes of this memory cgroup and its descendants: a path as /proc/PID/cgroup prints it, a directory under the cgroup mount, or a workload: ns/pod[/container], project/service, a container name (docker:NAME), an ID prefix (6+ hex), a pod UID, a unit (e.g. labproj/hogsvc)' -r
complete -c clw-diag -n "__fish_clw_diag_using_subcommand oom-rank" -l top -d 'Show this many candidates in the table (JSON and CSV have all)' -r
complete -c clw-diag -n "__fish_clw_diag_using_subcommand oom-rank" -l format -d 'Output format: a table for people, JSON (the stable contract, see docs/json.md), CSV, or GitHub Actions annotations (triage)' -r -f -a "table\t''
json\t''
csv\t''
github\t'GitHub Actions annotations (triage only)'
folded\t'Folded stacks for flame graphs: flamegraph.pl, inferno (leaks and profile only)'"
complete -c clw-diag -n "__fish_clw_diag_using_subcommand oom-rank" -l color -d 'When to colour the output; NO_COLOR in the environment means never for "auto"' -r -f -a "auto\t''
always\t''
never\t''"
complete -c clw-diag -n "__fish_clw_diag_using_subcommand oom-rank" -l proc-root -d 'Read process files from this directory instead of /proc (e.g. a copied tree)' -r -F
complete -c clw-diag -n "__fish_clw_diag_using_subcommand oom-rank" -l cgroup-root -d 'Read cgroup files from this directory instead of /sys/fs/cgroup' -r -F
complete -c clw-diag -n "__fish_clw_diag_using_subcommand oom-rank" -l host-root -d 'Read the node\'s container runtime and kubelet files (Docker\'s config.v2.json, containerd bundles, CRI-O and podman files, /var/log/containers) under this directory, to name each cgroup\'s container, pod, compose service or unit' -r -F
complete -c clw-diag -n "__fish_clw_diag_using_subcommand oom-rank" -l json -d 'Shorthand for --format json'
complete -c clw-diag -n "__fish_clw_diag_using_subcommand oom-rank" -s q -l quiet -d 'Print only the data: no notes or warnings on stderr'
complete -c clw-diag -n "__fish_clw_diag_using_subcommand oom-rank" -s v -l verbose -d 'Say more on stderr about what is read (repeat for more)'
complete -c clw-diag -n "__fish_clw_diag_using_subcommand oom-rank" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c clw-diag -n "__fish_clw_diag_using_subcommand oom-rank" -s V -l version -d 'Print version'
complete -c clw-diag -n "__fish_clw_diag_using_subcommand recommend" -l cgroup -d 'A live memory cgroup: relative to the memory hierarchy, or absolute, or a workload (ns/pod[/container], project/service, a container name or docker:NAME, an ID prefix of 6+ hex, a pod UID, a unit; e.g. labproj/hogsvc)' -r
complete -c clw-diag -n "__fish_clw_diag_using_subcommand recommend" -l prometheus -d 'A Prometheus server\'s base URL (http://host:9090)' -r
complete -c clw-diag -n "__fish_clw_diag_using_subcommand recommend" -l selector -d 'Label selector for the default query, e.g. \'namespace="shop",container="web"\'' -r
complete -c clw-diag -n "__fish_clw_diag_using_subcommand recommend" -l query -d 'A PromQL query returning memory in bytes (instead of the default working-set query)' -r
complete -c clw-diag -n "__fish_clw_diag_using_subcommand recommend" -l since -d 'How far back to query Prometheus (30m, 1.5h, 7d, 1w; a bare number is seconds)' -r
complete -c clw-diag -n "__fish_clw_diag_using_subcommand recommend" -l timeout -d 'Timeout of each Prometheus request' -r
complete -c clw-diag -n "__fish_clw_diag_using_subcommand recommend" -l metric -d 'The memory column of trace files (default: anon or RSS, working set for cgroups)' -r
complete -c clw-diag -n "__fish_clw_diag_using_subcommand recommend" -l interval -d 'The interval whose peaks the policies use (30s, 5m, 1.5h, 1d; a bare number is seconds) [default: 5m, or shorter for a history under 100 minutes: the longest of 1s…5m that still gives 20 intervals]' -r
complete -c clw-diag -n "__fish_clw_diag_using_subcommand recommend" -l policy -d 'The policy, or all of them side by side' -r -f -a "seed\t''
vpa\t''
krr\t''
clw\t''
all\t''"
complete -c clw-diag -n "__fish_clw_diag_using_subcommand recommend" -l backtest -d 'Fit on the first FRACTION of the history (default 0.7), replay the rest: intervals above the request and the limit, and the slack in GiB·hours' -r
complete -c clw-diag -n "__fish_clw_diag_using_subcommand recommend" -l emit -d 'Print a configuration snippet instead of the table' -r -f -a "k8s\t''
vpa\t''
compose\t''
systemd\t''
openclaw\t''
json\t''"
complete -c clw-diag -n "__fish_clw_diag_using_subcommand recommend" -l plot -d 'Draw the interval peaks\' histogram with the request and limit lines (first target)' -r -F
complete -c clw-diag -n "__fish_clw_diag_using_subcommand recommend" -l format -d 'Output format: a table for people, JSON (the stable contract, see docs/json.md), CSV, or GitHub Actions annotations (triage)' -r -f -a "table\t''
json\t''
csv\t''
github\t'GitHub Actions annotations (triage only)'
folded\t'Folded stacks for flame graphs: flamegraph.pl, inferno (leaks and profile only)'"
complete -c clw-diag -n "__fish_clw_diag_using_subcommand recommend" -l color -d 'When to colour the output; NO_COLOR in the environment means never for "auto"' -r -f -a "auto\t''
always\t''
never\t''"
complete -c clw-diag -n "__fish_clw_diag_using_subcommand recommend" -l proc-root -d 'Read process files from this directory instead of /proc (e.g. a copied tree)' -r -F
complete -c clw-diag -n "__fish_clw_diag_using_subcommand recommend" -l cgroup-root -d 'Read cgroup files from this directory instead of /sys/fs/cgroup' -r -F
complete -c clw-diag -n "__fish_clw_diag_using_subcommand recommend" -l host-root -d 'Read the node\'s container runtime and kubelet files (Docker\'s config.v2.json, containerd bundles, CRI-O and podman files, /var/log/containers) under this directory, to name each cgroup\'s container, pod, compose service or unit' -r -F
complete -c clw-diag -n "__fish_clw_diag_using_subcommand recommend" -l oom-metric -d 'Also count OOM kills from kube-state-metrics\' kube_pod_container_status_last_terminated_reason{reason="OOMKilled"}'
complete -c clw-diag -n "__fish_clw_diag_using_subcommand recommend" -l json -d 'Shorthand for --format json'
complete -c clw-diag -n "__fish_clw_diag_using_subcommand recommend" -s q -l quiet -d 'Print only the data: no notes or warnings on stderr'
complete -c clw-diag -n "__fish_clw_diag_using_subcommand recommend" -s v -l verbose -d 'Say more on stderr about what is read (repeat for more)'
complete -c clw-diag -n "__fish_clw_diag_using_subcommand recommend" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c clw-diag -n "__fish_clw_diag_using_subcommand recommend" -s V -l version -d 'Print version'
complete -c clw-diag -n "__fish_clw_diag_using_subcommand report" -l logs -d 'Also read these log files (a glob: \'*\' and \'?\' in the file name; repeatable)' -r
complete -c clw-diag -n "__fish_clw_diag_using_subcommand report" -l cores -d 'Look for core files in DIR (repeatable)' -r -F
complete -c clw-diag -n "__fish_clw_diag_using_subcommand report" -l coredump-dir -d 'systemd-coredump\'s store, read for the crashes since --since (with the journal\'s entries for them) [default: /var/lib/systemd/coredump]' -r -F
complete -c clw-diag -n "__fish_clw_diag_using_subcommand report" -l coredump-journal-dir -d 'Join the store with the journal files in DIR instead of the system journal (for tests)' -r -F
complete -c clw-diag -n "__fish_clw_diag_using_subcommand report" -l since -d 'The window: a duration back from now (30m, 1.5h, 2d) or a timestamp (2024-04-15T10:00:00Z, "2024-04-15 10:00", UTC unless an offset is given) [default: 1h]' -r
complete -c clw-diag -n "__fish_clw_diag_using_subcommand report" -l trace -d 'A memory trace (clw-diag record, CSV, Prometheus JSON) for a leak verdict (repeatable)' -r -F
complete -c clw-diag -n "__fish_clw_diag_using_subcommand report" -l cgroup -d 'The memory cgroup of the incident, for the snapshot and the OOM kill order' -r
complete -c clw-diag -n "__fish_clw_diag_using_subcommand report" -l bundle -d 'Also write the raw inputs, redacted, to OUT.tar.gz (mode 0600)' -r -F
complete -c clw-diag -n "__fish_clw_diag_using_subcommand report" -l bundle-max -d 'Bound on what the bundle keeps, before compression (64Mi, 1Gi, 500M); each file also keeps at most 8 MiB and then says where it was cut' -r
complete -c clw-diag -n "__fish_clw_diag_using_subcommand report" -l section-timeout -d 'Time budget of each section (500ms, 30s, 2m; a bare number is seconds; at most 1d)' -r
complete -c clw-diag -n "__fish_clw_diag_using_subcommand report" -l kmsg -d 'The kernel log device' -r -F
complete -c clw-diag -n "__fish_clw_diag_using_subcommand report" -l worker-log-glob -d 'Replace the --worker-logs places (for tests)' -r
complete -c clw-diag -n "__fish_clw_diag_using_subcommand report" -l format -d 'Output format: a table for people, JSON (the stable contract, see docs/json.md), CSV, or GitHub Actions annotations (triage)' -r -f -a "table\t''
json\t''
csv\t''
github\t'GitHub Actions annotations (triage only)'
folded\t'Folded stacks for flame graphs: flamegraph.pl, inferno (leaks and profile only)'"
complete -c clw-diag -n "__fish_clw_diag_using_subcommand report" -l color -d 'When to colour the output; NO_COLOR in the environment means never for "auto"' -r -f -a "auto\t''
always\t''
never\t''"
complete -c clw-diag -n "__fish_clw_diag_using_subcommand report" -l proc-root -d 'Read process files from this directory instead of /proc (e.g. a copied tree)' -r -F
complete -c clw-diag -n "__fish_clw_diag_using_subcommand report" -l cgroup-root -d 'Read cgroup files from this directory instead of /sys/fs/cgroup' -r -F
complete -c clw-diag -n "__fish_clw_diag_using_subcommand report" -l host-root -d 'Read the node\'s container runtime and kubelet files (Docker\'s config.v2.json, containerd bundles, CRI-O and podman files, /var/log/containers) under this directory, to name each cgroup\'s container, pod, compose service or unit' -r -F
complete -c clw-diag -n "__fish_clw_diag_using_subcommand report" -l worker-logs -d 'Read the worker logs in their usual places: /var/log/clw/*.log, /var/log/claw/*.log'
complete -c clw-diag -n "__fish_clw_diag_using_subcommand report" -l force -d 'Replace an existing --bundle file (a regular file only: a device, FIFO, directory or symlink there is always refused)'
complete -c clw-diag -n "__fish_clw_diag_using_subcommand report" -l json -d 'Shorthand for --format json'
complete -c clw-diag -n "__fish_clw_diag_using_subcommand report" -s q -l quiet -d 'Print only the data: no notes or warnings on stderr'
complete -c clw-diag -n "__fish_clw_diag_using_subcommand report" -s v -l verbose -d 'Say more on stderr about what is read (repeat for more)'
complete -c clw-diag -n "__fish_clw_diag_using_subcommand report" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c clw-diag -n "__fish_clw_diag_using_subcommand report" -s V -l version -d 'Print version'
complete -c clw-diag -n "__fish_clw_diag_using_subcommand backtrace" -l coredump -d 'The newest crash stored by systemd-coredump that matches (a pid, or part of the command or executable path; as `clw-diag coredumps MATCH` lists them), instead of a core file' -r
complete -c clw-diag -n "__fish_clw_diag_using_subcommand backtrace" -l coredump-dir -d 'With --coredump: the store directory (default /var/lib/systemd/coredump; a copy)' -r -F
complete -c clw-diag -n "__fish_clw_diag_using_subcommand backtrace" -l pid -d 'A live process instead of a core: every thread\'s stack now ("self" is refused: a process cannot trace itself)' -r
complete -c clw-diag -n "__fish_clw_diag_using_subcommand backtrace" -l samples -d 'With --pid: take N snapshots and count identical stacks (most frequent first)' -r
complete -c clw-diag -n "__fish_clw_diag_using_subcommand backtrace" -l interval -d 'With --samples: time between snapshots (10ms to 1h)' -r
complete -c clw-diag -n "__fish_clw_diag_using_subcommand backtrace" -l exe -d 'The executable that crashed, when it is not where the core says' -r -F
complete -c clw-diag -n "__fish_clw_diag_using_subcommand backtrace" -l sysroot -d 'Find the mapped files under this root instead of / (e.g. a copied container image)' -r -F
complete -c clw-diag -n "__fish_clw_diag_using_subcommand backtrace" -l debug-dir -d 'Also look for separate debug files (.build-id/xx/….debug, debuglink names) in DIR' -r -F
complete -c clw-diag -n "__fish_clw_diag_using_subcommand backtrace" -l max-core-size -d 'The largest size a compressed core may decompress to (bytes, or with a suffix: 512Mi, 64Gi); past it the read stops with an error, as for a decompression bomb' -r
complete -c clw-diag -n "__fish_clw_diag_using_subcommand backtrace" -l format -d 'Output format: a table for people, JSON (the stable contract, see docs/json.md), CSV, or GitHub Actions annotations (triage)' -r -f -a "table\t''
json\t''
csv\t''
github\t'GitHub Actions annotations (triage only)'
folded\t'Folded stacks for flame graphs: flamegraph.pl, inferno (leaks and profile only)'"
complete -c clw-diag -n "__fish_clw_diag_using_subcommand backtrace" -l color -d 'When to colour the output; NO_COLOR in the environment means never for "auto"' -r -f -a "auto\t''
always\t''
never\t''"
complete -c clw-diag -n "__fish_clw_diag_using_subcommand backtrace" -l proc-root -d 'Read process files from this directory instead of /proc (e.g. a copied tree)' -r -F
complete -c clw-diag -n "__fish_clw_diag_using_subcommand backtrace" -l cgroup-root -d 'Read cgroup files from this directory instead of /sys/fs/cgroup' -r -F
complete -c clw-diag -n "__fish_clw_diag_using_subcommand backtrace" -l host-root -d 'Read the node\'s container runtime and kubelet files (Docker\'s config.v2.json, containerd bundles, CRI-O and podman files, /var/log/containers) under this directory, to name each cgroup\'s container, pod, compose service or unit' -r -F
complete -c clw-diag -n "__fish_clw_diag_using_subcommand backtrace" -l consistent -d 'With --pid: hold all threads at once (one consistent moment, e.g. for a deadlock), instead of one at a time'
complete -c clw-diag -n "__fish_clw_diag_using_subcommand backtrace" -l folded -d 'With --samples: print the stacks in the folded format of flamegraph.pl and inferno (`thread;outer;…;inner COUNT`), instead of the table'
complete -c clw-diag -n "__fish_clw_diag_using_subcommand backtrace" -l crashed-only -d 'Print only the crashing thread'
complete -c clw-diag -n "__fish_clw_diag_using_subcommand backtrace" -l debuginfod -d 'Fetch missing debug files (and executables or libraries missing on disk) by build ID from the servers in DEBUGINFOD_URLS. Also on whenever DEBUGINFOD_URLS is set; never otherwise. Cached as elfutils does (DEBUGINFOD_CACHE_PATH, else ~/.cache/debuginfod_client); DEBUGINFOD_TIMEOUT in seconds (default 90)'
complete -c clw-diag -n "__fish_clw_diag_using_subcommand backtrace" -l json -d 'Shorthand for --format json'
complete -c clw-diag -n "__fish_clw_diag_using_subcommand backtrace" -s q -l quiet -d 'Print only the data: no notes or warnings on stderr'
complete -c clw-diag -n "__fish_clw_diag_using_subcommand backtrace" -s v -l verbose -d 'Say more on stderr about what is read (repeat for more)'
complete -c clw-diag -n "__fish_clw_diag_using_subcommand backtrace" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c clw-diag -n "__fish_clw_diag_using_subcommand backtrace" -s V -l version -d 'Print version'
complete -c clw-diag -n "__fish_clw_diag_using_subcommand coredumps" -l since -d 'Only crashes at or after this time: a duration back from now (30m, 2h, 1d) or a timestamp (2024-04-15T10:00:00Z)' -r
complete -c clw-diag -n "__fish_clw_diag_using_subcommand coredumps" -l dir -d 'The store directory [default: /var/lib/systemd/coredump]' -r -F
complete -c clw-diag -n "__fish_clw_diag_using_subcommand coredumps" -l journal-dir -d 'Read the journal files in DIR (journalctl --directory; e.g. a copied /var/log/journal)' -r -F
complete -c clw-diag -n "__fish_clw_diag_using_subcommand coredumps" -l journal-file -d 'Read this journal file (journalctl --file)' -r -F
complete -c clw-diag -n "__fish_clw_diag_using_subcommand coredumps" -l format -d 'Output format: a table for people, JSON (the stable contract, see docs/json.md), CSV, or GitHub Actions annotations (triage)' -r -f -a "table\t''
json\t''
csv\t''
github\t'GitHub Actions annotations (triage only)'
folded\t'Folded stacks for flame graphs: flamegraph.pl, inferno (leaks and profile only)'"
complete -c clw-diag -n "__fish_clw_diag_using_subcommand coredumps" -l color -d 'When to colour the output; NO_COLOR in the environment means never for "auto"' -r -f -a "auto\t''
always\t''
never\t''"
complete -c clw-diag -n "__fish_clw_diag_using_subcommand coredumps" -l proc-root -d 'Read process files from this directory instead of /proc (e.g. a copied tree)' -r -F
complete -c clw-diag -n "__fish_clw_diag_using_subcommand coredumps" -l cgroup-root -d 'Read cgroup files from this directory instead of /sys/fs/cgroup' -r -F
complete -c clw-diag -n "__fish_clw_diag_using_subcommand coredumps" -l host-root -d 'Read the node\'s container runtime and kubelet files (Docker\'s config.v2.json, containerd bundles, CRI-O and podman files, /var/log/containers) under this directory, to name each cgroup\'s container, pod, compose service or unit' -r -F
complete -c clw-diag -n "__fish_clw_diag_using_subcommand coredumps" -l no-journal -d 'Do not read the journal: list from the file names only'
complete -c clw-diag -n "__fish_clw_diag_using_subcommand coredumps" -l json -d 'Shorthand for --format json'
complete -c clw-diag -n "__fish_clw_diag_using_subcommand coredumps" -s q -l quiet -d 'Print only the data: no notes or warnings on stderr'
complete -c clw-diag -n "__fish_clw_diag_using_subcommand coredumps" -s v -l verbose -d 'Say more on stderr about what is read (repeat for more)'
complete -c clw-diag -n "__fish_clw_diag_using_subcommand coredumps" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c clw-diag -n "__fish_clw_diag_using_subcommand coredumps" -s V -l version -d 'Print version'
complete -c clw-diag -n "__fish_clw_diag_using_subcommand leaks" -l duration -d 'Stop after this long (500ms, 30s, 5m); default: Ctrl-C or the process\'s end' -r
complete -c clw-diag -n "__fish_clw_diag_using_subcommand leaks" -l sample-bytes -d 'Mean bytes between sampled allocations (512Ki, 64Ki; 1 = every allocation, exact)' -r
complete -c clw-diag -n "__fish_clw_diag_using_subcommand leaks" -l unwind -d 'How stacks are taken' -r -f -a "auto\t'fp when the executable keeps frame pointers, else cfi'
fp\t'The kernel\'s frame-pointer walk (cheap; complete only with frame pointers everywhere)'
cfi\t'Copied stacks unwound with CFI (complete without frame pointers; costs a copy per sample)'"
complete -c clw-diag -n "__fish_clw_diag_using_subcommand leaks" -l stack-bytes -d 'Bytes of stack copied per sampled allocation with --unwind cfi (4096, 8192 or 16384)' -r
complete -c clw-diag -n "__fish_clw_diag_using_subcommand leaks" -l top -d 'Show this many stacks, most bytes first (0: all)' -r
complete -c clw-diag -n "__fish_clw_diag_using_subcommand leaks" -l alloc-symbols -d 'Also probe allocator functions under this symbol prefix (je_, _rjem_, mi_, tc_); repeatable' -r
complete -c clw-diag -n "__fish_clw_diag_using_subcommand leaks" -l max-overhead -d 'Warn when the probes\' traps alone cost more than this share of a core (percent)' -r
complete -c clw-diag -n "__fish_clw_diag_using_subcommand leaks" -l debug-dir -d 'Extra directory searched for separate debug files (repeatable)' -r -F
complete -c clw-diag -n "__fish_clw_diag_using_subcommand leaks" -s o -l output -d 'Write the profile to FILE instead of stdout (a profiled command\'s own output stays on stdout)' -r -F
complete -c clw-diag -n "__fish_clw_diag_using_subcommand leaks" -l format -d 'Output format: a table for people, JSON (the stable contract, see docs/json.md), CSV, or GitHub Actions annotations (triage)' -r -f -a "table\t''
json\t''
csv\t''
github\t'GitHub Actions annotations (triage only)'
folded\t'Folded stacks for flame graphs: flamegraph.pl, inferno (leaks and profile only)'"
complete -c clw-diag -n "__fish_clw_diag_using_subcommand leaks" -l color -d 'When to colour the output; NO_COLOR in the environment means never for "auto"' -r -f -a "auto\t''
always\t''
never\t''"
complete -c clw-diag -n "__fish_clw_diag_using_subcommand leaks" -l proc-root -d 'Read process files from this directory instead of /proc (e.g. a copied tree)' -r -F
complete -c clw-diag -n "__fish_clw_diag_using_subcommand leaks" -l cgroup-root -d 'Read cgroup files from this directory instead of /sys/fs/cgroup' -r -F
complete -c clw-diag -n "__fish_clw_diag_using_subcommand leaks" -l host-root -d 'Read the node\'s container runtime and kubelet files (Docker\'s config.v2.json, containerd bundles, CRI-O and podman files, /var/log/containers) under this directory, to name each cgroup\'s container, pod, compose service or unit' -r -F
complete -c clw-diag -n "__fish_clw_diag_using_subcommand leaks" -l debuginfod -d 'Ask debuginfod servers (DEBUGINFOD_URLS) for debug files by build ID'
complete -c clw-diag -n "__fish_clw_diag_using_subcommand leaks" -l json -d 'Shorthand for --format json'
complete -c clw-diag -n "__fish_clw_diag_using_subcommand leaks" -s q -l quiet -d 'Print only the data: no notes or warnings on stderr'
complete -c clw-diag -n "__fish_clw_diag_using_subcommand leaks" -s v -l verbose -d 'Say more on stderr about what is read (repeat for more)'
complete -c clw-diag -n "__fish_clw_diag_using_subcommand leaks" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c clw-diag -n "__fish_clw_diag_using_subcommand leaks" -s V -l version -d 'Print version'
complete -c clw-diag -n "__fish_clw_diag_using_subcommand profile" -l duration -d 'Stop after this long (500ms, 30s, 5m); default: Ctrl-C or the process\'s end' -r
complete -c clw-diag -n "__fish_clw_diag_using_subcommand profile" -l sample-bytes -d 'Mean bytes between sampled allocations (512Ki, 64Ki; 1 = every allocation, exact)' -r
complete -c clw-diag -n "__fish_clw_diag_using_subcommand profile" -l unwind -d 'How stacks are taken' -r -f -a "auto\t'fp when the executable keeps frame pointers, else cfi'
fp\t'The kernel\'s frame-pointer walk (cheap; complete only with frame pointers everywhere)'
cfi\t'Copied stacks unwound with CFI (complete without frame pointers; costs a copy per sample)'"
complete -c clw-diag -n "__fish_clw_diag_using_subcommand profile" -l stack-bytes -d 'Bytes of stack copied per sampled allocation with --unwind cfi (4096, 8192 or 16384)' -r
complete -c clw-diag -n "__fish_clw_diag_using_subcommand profile" -l top -d 'Show this many stacks, most bytes first (0: all)' -r
complete -c clw-diag -n "__fish_clw_diag_using_subcommand profile" -l alloc-symbols -d 'Also probe allocator functions under this symbol prefix (je_, _rjem_, mi_, tc_); repeatable' -r
complete -c clw-diag -n "__fish_clw_diag_using_subcommand profile" -l max-overhead -d 'Warn when the probes\' traps alone cost more than this share of a core (percent)' -r
complete -c clw-diag -n "__fish_clw_diag_using_subcommand profile" -l debug-dir -d 'Extra directory searched for separate debug files (repeatable)' -r -F
complete -c clw-diag -n "__fish_clw_diag_using_subcommand profile" -s o -l output -d 'Write the profile to FILE instead of stdout (a profiled command\'s own output stays on stdout)' -r -F
complete -c clw-diag -n "__fish_clw_diag_using_subcommand profile" -l format -d 'Output format: a table for people, JSON (the stable contract, see docs/json.md), CSV, or GitHub Actions annotations (triage)' -r -f -a "table\t''
json\t''
csv\t''
github\t'GitHub Actions annotations (triage only)'
folded\t'Folded stacks for flame graphs: flamegraph.pl, inferno (leaks and profile only)'"
complete -c clw-diag -n "__fish_clw_diag_using_subcommand profile" -l color -d 'When to colour the output; NO_COLOR in the environment means never for "auto"' -r -f -a "auto\t''
always\t''
never\t''"
complete -c clw-diag -n "__fish_clw_diag_using_subcommand profile" -l proc-root -d 'Read process files from this directory instead of /proc (e.g. a copied tree)' -r -F
complete -c clw-diag -n "__fish_clw_diag_using_subcommand profile" -l cgroup-root -d 'Read cgroup files from this directory instead of /sys/fs/cgroup' -r -F
complete -c clw-diag -n "__fish_clw_diag_using_subcommand profile" -l host-root -d 'Read the node\'s container runtime and kubelet files (Docker\'s config.v2.json, containerd bundles, CRI-O and podman files, /var/log/containers) under this directory, to name each cgroup\'s container, pod, compose service or unit' -r -F
complete -c clw-diag -n "__fish_clw_diag_using_subcommand profile" -l debuginfod -d 'Ask debuginfod servers (DEBUGINFOD_URLS) for debug files by build ID'
complete -c clw-diag -n "__fish_clw_diag_using_subcommand profile" -l json -d 'Shorthand for --format json'
complete -c clw-diag -n "__fish_clw_diag_using_subcommand profile" -s q -l quiet -d 'Print only the data: no notes or warnings on stderr'
complete -c clw-diag -n "__fish_clw_diag_using_subcommand profile" -s v -l verbose -d 'Say more on stderr about what is read (repeat for more)'
complete -c clw-diag -n "__fish_clw_diag_using_subcommand profile" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c clw-diag -n "__fish_clw_diag_using_subcommand profile" -s V -l version -d 'Print version'
complete -c clw-diag -n "__fish_clw_diag_using_subcommand symbolize" -s e -l exe -d 'The executable or library the addresses belong to' -r -F
complete -c clw-diag -n "__fish_clw_diag_using_subcommand symbolize" -l text -d 'Rewrite the raw backtraces found in FILE (or standard input): glibc backtrace_symbols, sanitizer, gdb "?? ()" and Rust RUST_BACKTRACE=full frames get function, file and line' -r -F
complete -c clw-diag -n "__fish_clw_diag_using_subcommand symbolize" -l maps -d 'With --text: the memory map (/proc/PID/maps format) for absolute addresses' -r -F
complete -c clw-diag -n "__fish_clw_diag_using_subcommand symbolize" -l pid -d 'With --text: read the memory map of this running process' -r
complete -c clw-diag -n "__fish_clw_diag_using_subcommand symbolize" -l core -d 'With --text: take the memory map from this core dump\'s NT_FILE note (the process that printed the backtrace, after it crashed)' -r -F
complete -c clw-diag -n "__fish_clw_diag_using_subcommand symbolize" -l debug-dir -d 'Also look for separate debug files in DIR' -r -F
complete -c clw-diag -n "__fish_clw_diag_using_subcommand symbolize" -l format -d 'Output format: a table for people, JSON (the stable contract, see docs/json.md), CSV, or GitHub Actions annotations (triage)' -r -f -a "table\t''
json\t''
csv\t''
github\t'GitHub Actions annotations (triage only)'
folded\t'Folded stacks for flame graphs: flamegraph.pl, inferno (leaks and profile only)'"
complete -c clw-diag -n "__fish_clw_diag_using_subcommand symbolize" -l color -d 'When to colour the output; NO_COLOR in the environment means never for "auto"' -r -f -a "auto\t''
always\t''
never\t''"
complete -c clw-diag -n "__fish_clw_diag_using_subcommand symbolize" -l proc-root -d 'Read process files from this directory instead of /proc (e.g. a copied tree)' -r -F
complete -c clw-diag -n "__fish_clw_diag_using_subcommand symbolize" -l cgroup-root -d 'Read cgroup files from this directory instead of /sys/fs/cgroup' -r -F
complete -c clw-diag -n "__fish_clw_diag_using_subcommand symbolize" -l host-root -d 'Read the node\'s container runtime and kubelet files (Docker\'s config.v2.json, containerd bundles, CRI-O and podman files, /var/log/containers) under this directory, to name each cgroup\'s container, pod, compose service or unit' -r -F
complete -c clw-diag -n "__fish_clw_diag_using_subcommand symbolize" -s f -l functions -d 'Print function names'
complete -c clw-diag -n "__fish_clw_diag_using_subcommand symbolize" -s i -l inlines -d 'Print the callers of inlined functions too'
complete -c clw-diag -n "__fish_clw_diag_using_subcommand symbolize" -s C -l demangle -d 'Demangle C++ and Rust names'
complete -c clw-diag -n "__fish_clw_diag_using_subcommand symbolize" -s a -l addresses -d 'Print each address before its lines'
complete -c clw-diag -n "__fish_clw_diag_using_subcommand symbolize" -s p -l pretty-print -d 'Print each address on one line ("pretty")'
complete -c clw-diag -n "__fish_clw_diag_using_subcommand symbolize" -s s -l basenames -d 'Print file base names only'
complete -c clw-diag -n "__fish_clw_diag_using_subcommand symbolize" -l debuginfod -d 'Fetch missing debug files by build ID from the servers in DEBUGINFOD_URLS (also on whenever DEBUGINFOD_URLS is set; never otherwise)'
complete -c clw-diag -n "__fish_clw_diag_using_subcommand symbolize" -l json -d 'Shorthand for --format json'
complete -c clw-diag -n "__fish_clw_diag_using_subcommand symbolize" -s q -l quiet -d 'Print only the data: no notes or warnings on stderr'
complete -c clw-diag -n "__fish_clw_diag_using_subcommand symbolize" -s v -l verbose -d 'Say more on stderr about what is read (repeat for more)'
complete -c clw-diag -n "__fish_clw_diag_using_subcommand symbolize" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c clw-diag -n "__fish_clw_diag_using_subcommand symbolize" -s V -l version -d 'Print version'
complete -c clw-diag -n "__fish_clw_diag_using_subcommand serve" -l listen -d 'Address and port to listen on (9477 by default; use 0.0.0.0:PORT for every interface)' -r
complete -c clw-diag -n "__fish_clw_diag_using_subcommand serve" -l top -d 'Per-process series for this many processes, the largest by RSS' -r
complete -c clw-diag -n "__fish_clw_diag_using_subcommand serve" -l cgroup -d 'Also export this memory cgroup (those with a limit of their own always are). Repeatable' -r
complete -c clw-diag -n "__fish_clw_diag_using_subcommand serve" -l max-connections -d 'Connections held at once [default: min(256, open-file limit / 2 - 16)]' -r
complete -c clw-diag -n "__fish_clw_diag_using_subcommand serve" -l format -d 'Output format: a table for people, JSON (the stable contract, see docs/json.md), CSV, or GitHub Actions annotations (triage)' -r -f -a "table\t''
json\t''
csv\t''
github\t'GitHub Actions annotations (triage only)'
folded\t'Folded stacks for flame graphs: flamegraph.pl, inferno (leaks and profile only)'"
complete -c clw-diag -n "__fish_clw_diag_using_subcommand serve" -l color -d 'When to colour the output; NO_COLOR in the environment means never for "auto"' -r -f -a "auto\t''
always\t''
never\t''"
complete -c clw-diag -n "__fish_clw_diag_using_subcommand serve" -l proc-root -d 'Read process files from this directory instead of /proc (e.g. a copied tree)' -r -F
complete -c clw-diag -n "__fish_clw_diag_using_subcommand serve" -l cgroup-root -d 'Read cgroup files from this directory instead of /sys/fs/cgroup' -r -F
complete -c clw-diag -n "__fish_clw_diag_using_subcommand serve" -l host-root -d 'Read the node\'s container runtime and kubelet files (Docker\'s config.v2.json, containerd bundles, CRI-O and podman files, /var/log/containers) under this directory, to name each cgroup\'s container, pod, compose service or unit' -r -F
complete -c clw-diag -n "__fish_clw_diag_using_subcommand serve" -l pss -d 'Also read smaps_rollup of the top processes for clw_process_pss_bytes (walks their page tables under their mmap lock on every scrape)'
complete -c clw-diag -n "__fish_clw_diag_using_subcommand serve" -l json -d 'Shorthand for --format json'
complete -c clw-diag -n "__fish_clw_diag_using_subcommand serve" -s q -l quiet -d 'Print only the data: no notes or warnings on stderr'
complete -c clw-diag -n "__fish_clw_diag_using_subcommand serve" -s v -l verbose -d 'Say more on stderr about what is read (repeat for more)'
complete -c clw-diag -n "__fish_clw_diag_using_subcommand serve" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c clw-diag -n "__fish_clw_diag_using_subcommand serve" -s V -l version -d 'Print version'
complete -c clw-diag -n "__fish_clw_diag_using_subcommand completions" -l dir -d 'Write the completions of every shell into DIR instead' -r -F
complete -c clw-diag -n "__fish_clw_diag_using_subcommand completions" -l format -d 'Output format: a table for people, JSON (the stable contract, see docs/json.md), CSV, or GitHub Actions annotations (triage)' -r -f -a "table\t''
json\t''
csv\t''
github\t'GitHub Actions annotations (triage only)'
folded\t'Folded stacks for flame graphs: flamegraph.pl, inferno (leaks and profile only)'"
complete -c clw-diag -n "__fish_clw_diag_using_subcommand completions" -l color -d 'When to colour the output; NO_COLOR in the environment means never for "auto"' -r -f -a "auto\t''
always\t''
never\t''"
complete -c clw-diag -n "__fish_clw_diag_using_subcommand completions" -l proc-root -d 'Read process files from this directory instead of /proc (e.g. a copied tree)' -r -F
complete -c clw-diag -n "__fish_clw_diag_using_subcommand completions" -l cgroup-root -d 'Read cgroup files from this directory instead of /sys/fs/cgroup' -r -F
complete -c clw-diag -n "__fish_clw_diag_using_subcommand completions" -l host-root -d 'Read the node\'s container runtime and kubelet files (Docker\'s config.v2.json, containerd bundles, CRI-O and podman files, /var/log/containers) under this directory, to name each cgroup\'s container, pod, compose service or unit' -r -F
complete -c clw-diag -n "__fish_clw_diag_using_subcommand completions" -l json -d 'Shorthand for --format json'
complete -c clw-diag -n "__fish_clw_diag_using_subcommand completions" -s q -l quiet -d 'Print only the data: no notes or warnings on stderr'
complete -c clw-diag -n "__fish_clw_diag_using_subcommand completions" -s v -l verbose -d 'Say more on stderr about what is read (repeat for more)'
complete -c clw-diag -n "__fish_clw_diag_using_subcommand completions" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c clw-diag -n "__fish_clw_diag_using_subcommand completions" -s V -l version -d 'Print version'
complete -c clw-diag -n "__fish_clw_diag_using_subcommand man" -l dir -d 'Write clw-diag.1 and one page per subcommand into DIR instead of printing clw-diag.1' -r -F
complete -c clw-diag -n "__fish_clw_diag_using_subcommand man" -l format -d 'Output format: a table for people, JSON (the stable contract, see docs/json.md), CSV, or GitHub Actions annotations (triage)' -r -f -a "table\t''
json\t''
csv\t''
github\t'GitHub Actions annotations (triage only)'
folded\t'Folded stacks for flame graphs: flamegraph.pl, inferno (leaks and profile only)'"
complete -c clw-diag -n "__fish_clw_diag_using_subcommand man" -l color -d 'When to colour the output; NO_COLOR in the environment means never for "auto"' -r -f -a "auto\t''
always\t''
never\t''"
complete -c clw-diag -n "__fish_clw_diag_using_subcommand man" -l proc-root -d 'Read process files from this directory instead of /proc (e.g. a copied tree)' -r -F
complete -c clw-diag -n "__fish_clw_diag_using_subcommand man" -l cgroup-root -d 'Read cgroup files from this directory instead of /sys/fs/cgroup' -r -F
complete -c clw-diag -n "__fish_clw_diag_using_subcommand man" -l host-root -d 'Read the node\'s container runtime and kubelet files (Docker\'s config.v2.json, containerd bundles, CRI-O and podman files, /var/log/containers) under this directory, to name each cgroup\'s container, pod, compose service or unit' -r -F
complete -c clw-diag -n "__fish_clw_diag_using_subcommand man" -l json -d 'Shorthand for --format json'
complete -c clw-diag -n "__fish_clw_diag_using_subcommand man" -s q -l quiet -d 'Print only the data: no notes or warnings on stderr'
complete -c clw-diag -n "__fish_clw_diag_using_subcommand man" -s v -l verbose -d 'Say more on stderr about what is read (repeat for more)'
complete -c clw-diag -n "__fish_clw_diag_using_subcommand man" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c clw-diag -n "__fish_clw_diag_using_subcommand man" -s V -l version -d 'Print version'
complete -c clw-diag -n "__fish_clw_diag_using_subcommand help; and not __fish_seen_subcommand_from sample vmmap triage record analyze oom-rank recommend report backtrace coredumps leaks profile symbolize serve completions man help" -f -a "sample" -d 'Snapshot of host, memory cgroups and processes, with pressure states'
complete -c clw-diag -n "__fish_clw_diag_using_subcommand help; and not __fish_seen_subcommand_from sample vmmap triage record analyze oom-rank recommend report backtrace coredumps leaks profile symbolize serve completions man help" -f -a "vmmap" -d 'Where a process\'s memory is: heap, stacks, code, file data, shared memory, kernel'
complete -c clw-diag -n "__fish_clw_diag_using_subcommand help; and not __fish_seen_subcommand_from sample vmmap triage record analyze oom-rank recommend report backtrace coredumps leaks profile symbolize serve completions man help" -f -a "triage" -d 'Find OOM kills, abnormal exits and crashes in kernel, container, systemd, runtime and CI logs'
complete -c clw-diag -n "__fish_clw_diag_using_subcommand help; and not __fish_seen_subcommand_from sample vmmap triage record analyze oom-rank recommend report backtrace coredumps leaks profile symbolize serve completions man help" -f -a "record" -d 'Record a memory trace of a process, a cgroup or a command (JSON Lines, crash-safe)'
complete -c clw-diag -n "__fish_clw_diag_using_subcommand help; and not __fish_seen_subcommand_from sample vmmap triage record analyze oom-rank recommend report backtrace coredumps leaks profile symbolize serve completions man help" -f -a "analyze" -d 'Analyse recorded traces: leak verdict, rate with a confidence interval, time to limit'
complete -c clw-diag -n "__fish_clw_diag_using_subcommand help; and not __fish_seen_subcommand_from sample vmmap triage record analyze oom-rank recommend report backtrace coredumps leaks profile symbolize serve completions man help" -f -a "oom-rank" -d 'Who the kernel\'s OOM killer would kill first in a cgroup or on the host, and why'
complete -c clw-diag -n "__fish_clw_diag_using_subcommand help; and not __fish_seen_subcommand_from sample vmmap triage record analyze oom-rank recommend report backtrace coredumps leaks profile symbolize serve completions man help" -f -a "recommend" -d 'Memory request and limit from observed usage: traces, a cgroup, or Prometheus'
complete -c clw-diag -n "__fish_clw_diag_using_subcommand help; and not __fish_seen_subcommand_from sample vmmap triage record analyze oom-rank recommend report backtrace coredumps leaks profile symbolize serve completions man help" -f -a "report" -d 'One incident report: snapshot, OOM kill order, kernel and worker logs, cores, summary'
complete -c clw-diag -n "__fish_clw_diag_using_subcommand help; and not __fish_seen_subcommand_from sample vmmap triage record analyze oom-rank recommend report backtrace coredumps leaks profile symbolize serve completions man help" -f -a "backtrace" -d 'Unwind and symbolize every thread of a core dump, like gdb\'s `thread apply all bt`'
complete -c clw-diag -n "__fish_clw_diag_using_subcommand help; and not __fish_seen_subcommand_from sample vmmap triage record analyze oom-rank recommend report backtrace coredumps leaks profile symbolize serve completions man help" -f -a "coredumps" -d 'List the crashes systemd-coredump stored (files and journal entries), newest first'
complete -c clw-diag -n "__fish_clw_diag_using_subcommand help; and not __fish_seen_subcommand_from sample vmmap triage record analyze oom-rank recommend report backtrace coredumps leaks profile symbolize serve completions man help" -f -a "leaks" -d 'Attach to a process: the call stacks holding the memory it allocates and keeps'
complete -c clw-diag -n "__fish_clw_diag_using_subcommand help; and not __fish_seen_subcommand_from sample vmmap triage record analyze oom-rank recommend report backtrace coredumps leaks profile symbolize serve completions man help" -f -a "profile" -d 'Run a command under the heap profiler: the stacks holding what it never freed'
complete -c clw-diag -n "__fish_clw_diag_using_subcommand help; and not __fish_seen_subcommand_from sample vmmap triage record analyze oom-rank recommend report backtrace coredumps leaks profile symbolize serve completions man help" -f -a "symbolize" -d 'Resolve addresses to function, file and line (addr2line-compatible, inline frames)'
complete -c clw-diag -n "__fish_clw_diag_using_subcommand help; and not __fish_seen_subcommand_from sample vmmap triage record analyze oom-rank recommend report backtrace coredumps leaks profile symbolize serve completions man help" -f -a "serve" -d 'Serve host, cgroup and process memory metrics for Prometheus (OpenMetrics) at /metrics'
complete -c clw-diag -n "__fish_clw_diag_using_subcommand help; and not __fish_seen_subcommand_from sample vmmap triage record analyze oom-rank recommend report backtrace coredumps leaks profile symbolize serve completions man help" -f -a "completions" -d 'Print shell completions (bash, zsh, fish, elvish, powershell)'
complete -c clw-diag -n "__fish_clw_diag_using_subcommand help; and not __fish_seen_subcommand_from sample vmmap triage record analyze oom-rank recommend report backtrace coredumps leaks profile symbolize serve completions man help" -f -a "man" -d 'Print the man page (or write every page with --dir)'
complete -c clw-diag -n "__fish_clw_diag_using_subcommand help; and not __fish_seen_subcommand_from sample vmmap triage record analyze oom-rank recommend report backtrace coredumps leaks profile symbolize serve completions man help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c clw-diag -n "__fish_clw_diag_using_subcommand help; and __fish_seen_subcommand_from analyze" -f -a "memory-trace" -d 'Leak verdict, leak rate with a confidence interval, and time to the memory limit'
