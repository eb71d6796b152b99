
use builtin;
use str;

set edit:completion:arg-completer[clw-diag] = {|@words|
    fn spaces {|n|
        builtin:repeat $n ' ' | str:join ''
    }
    fn cand {|text desc|
        edit:complex-candidate $text &display=$text' '(spaces (- 14 (wcswidth $text)))$desc
    }
    var command = 'clw-diag'
    for word $words[1..-1] {
        if (str:has-prefix $word '-') {
            break
        }
        set command = $command';'$word
    }
    var completions = [
        &'clw-diag'= {
            cand --format 'Output format: a table for people, JSON (the stable contract, see docs/json.md), CSV, or GitHub Actions annotations (triage)'
            cand --color 'When to colour the output; NO_COLOR in the environment means never for "auto"'
            cand --proc-root 'Read process files from this directory instead of /proc (e.g. a copied tree)'
            cand --cgroup-root 'Read cgroup files from this directory instead of /sys/fs/cgroup'
            cand --host-root 'Read the node''s container runtime and kubelet files (Docker''s config.v2.json, containerd bundles, CRI-O and podman files, /var/log/containers) under this directory, to name each cgroup''s container, pod, compose service or unit'
            cand --logs 'Also read these log files (a glob: ''*'' and ''?'' in the file name; repeatable)'
            cand --cores 'Look for core files in DIR (repeatable)'
            cand --since 'The window: a duration back from now (30m, 1.5h, 2d) or a timestamp (2024-04-15T10:00:00Z, "2024-04-15 10:00", UTC unless an offset is given) [default: 1h]'
            cand --trace 'A memory trace (clw-diag record, CSV, Prometheus JSON) for a leak verdict (repeatable)'
            cand --cgroup 'The memory cgroup of the incident, for the snapshot and the OOM kill order'
            cand --bundle 'Also write the raw inputs, redacted, to OUT.tar.gz (mode 0600)'
            cand --bundle-max 'Bound on what the bundle keeps, before compression (64Mi, 1Gi, 500M); each file also keeps at most 8 MiB and then says where it was cut'
            cand --section-timeout 'Time budget of each section (500ms, 30s, 2m; a bare number is seconds; at most 1d)'
            cand --kmsg 'The kernel log device'
            cand --worker-log-glob 'Replace the --worker-logs places (for tests)'
            cand --json 'Shorthand for --format json'
            cand -q 'Print only the data: no notes or warnings on stderr'
            cand --quiet 'Print only the data: no notes or warnings on stderr'
            cand -v 'Say more on stderr about what is read (repeat for more)'
            cand --verbose 'Say more on stderr about what is read (repeat for more)'
            cand --worker-logs 'Read the worker logs in their usual places: /var/log/clw/*.log, /var/log/claw/*.log'
            cand --force 'Replace an existing --bundle file (a regular file only: a device, FIFO, directory or symlink there is always refused)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
            cand sample 'Snapshot of host, memory cgroups and processes, with pressure states'
            cand vmmap 'Where a process''s memory is: heap, stacks, code, file data, shared memory, kernel'
            cand triage 'Find OOM kills, abnormal exits and crashes in kernel, container, systemd, runtime and CI logs'
            cand record 'Record a memory trace of a process, a cgroup or a command (JSON Lines, crash-safe)'
            cand analyze 'Analyse recorded traces: leak verdict, rate with a confidence interval, time to limit'
            cand oom-rank 'Who the kernel''s OOM killer would kill first in a cgroup or on the host, and why'
            cand recommend 'Memory request and limit from observed usage: traces, a cgroup, or Prometheus'
            cand report 'One incident report: snapshot, OOM kill order, kernel and worker logs, cores, summary'
            cand backtrace 'Unwind and symbolize every thread of a core dump, like gdb''s `thread apply all bt`'
            cand symbolize 'Resolve addresses to function, file and line (addr2line-compatible, inline frames)'
            cand serve 'Serve host, cgroup and process memory metrics for Prometheus (OpenMetrics) at /metrics'
            cand completions 'Print shell completions (bash, zsh, fish, elvish, powershell)'
            cand man 'Print the man page (or write every page with --dir)'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'clw-diag;sample'= {
            cand --pid 'Only this process (repeatable; ''self'' is clw-diag itself)'
            cand --cgroup 'Only this memory cgroup and its processes: a path relative to the memory hierarchy (/kubepods/pod1, as /proc/PID/cgroup prints it) or absolute (/sys/fs/cgroup/...), or a workload: ns/pod[/container], project/service, a container name (docker:NAME), an ID prefix (6+ hex), a pod UID, a unit (e.g. shop/web-5d8f7c9b4-x2x9z/hog). Repeatable'
            cand --top 'How many processes to show'
            cand --sort 'Rank processes by this figure (pss and uss read smaps_rollup of every process: slower)'
            cand --table 'With --format csv, the table to write (one CSV is one table): the processes, the memory cgroups or the host'
            cand --watch 'Refresh every DURATION (500ms, 2s, 1m; a bare number is seconds; at least 100ms) until Ctrl-C; JSON output becomes JSON Lines'
            cand --format 'Output format: a table for people, JSON (the stable contract, see docs/json.md), CSV, or GitHub Actions annotations (triage)'
            cand --color 'When to colour the output; NO_COLOR in the environment means never for "auto"'
            cand --proc-root 'Read process files from this directory instead of /proc (e.g. a copied tree)'
            cand --cgroup-root 'Read cgroup files from this directory instead of /sys/fs/cgroup'
            cand --host-root 'Read the node''s container runtime and kubelet files (Docker''s config.v2.json, containerd bundles, CRI-O and podman files, /var/log/containers) under this directory, to name each cgroup''s container, pod, compose service or unit'
            cand --all 'Show every process, not only the top N, and the pod sandbox and conmon cgroups'
            cand --json 'Shorthand for --format json'
            cand -q 'Print only the data: no notes or warnings on stderr'
            cand --quiet 'Print only the data: no notes or warnings on stderr'
            cand -v 'Say more on stderr about what is read (repeat for more)'
            cand --verbose 'Say more on stderr about what is read (repeat for more)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'clw-diag;vmmap'= {
            cand --sort 'Sort categories (and mappings) by this field, largest first; mappings default to address order'
            cand --format 'Output format: a table for people, JSON (the stable contract, see docs/json.md), CSV, or GitHub Actions annotations (triage)'
            cand --color 'When to colour the output; NO_COLOR in the environment means never for "auto"'
            cand --proc-root 'Read process files from this directory instead of /proc (e.g. a copied tree)'
            cand --cgroup-root 'Read cgroup files from this directory instead of /sys/fs/cgroup'
            cand --host-root 'Read the node''s container runtime and kubelet files (Docker''s config.v2.json, containerd bundles, CRI-O and podman files, /var/log/containers) under this directory, to name each cgroup''s container, pod, compose service or unit'
            cand --mappings 'Also print one row per mapping, like pmap -X'
            cand --verify 'Read smaps_rollup right after the pass and show whether its Rss and Pss match the sums'
            cand --json 'Shorthand for --format json'
            cand -q 'Print only the data: no notes or warnings on stderr'
            cand --quiet 'Print only the data: no notes or warnings on stderr'
            cand -v 'Say more on stderr about what is read (repeat for more)'
            cand --verbose 'Say more on stderr about what is read (repeat for more)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'clw-diag;triage'= {
            cand --since 'Only events at or after this time: a duration back from now (30m, 1.5h, 2d, 1w) or a timestamp (2024-04-15T10:00:00Z, "2024-04-15 10:00[:00]", UTC unless an offset such as +02:00 is given). Events without a time are kept'
            cand --fail-on 'Exit with code 1 when events of this class are found (for CI)'
            cand --kmsg 'The kernel log device read by --dmesg'
            cand --format 'Output format: a table for people, JSON (the stable contract, see docs/json.md), CSV, or GitHub Actions annotations (triage)'
            cand --color 'When to colour the output; NO_COLOR in the environment means never for "auto"'
            cand --proc-root 'Read process files from this directory instead of /proc (e.g. a copied tree)'
            cand --cgroup-root 'Read cgroup files from this directory instead of /sys/fs/cgroup'
            cand --host-root 'Read the node''s container runtime and kubelet files (Docker''s config.v2.json, containerd bundles, CRI-O and podman files, /var/log/containers) under this directory, to name each cgroup''s container, pod, compose service or unit'
            cand --dmesg 'Read the kernel ring buffer (/dev/kmsg), without blocking'
            cand --journal 'Read the systemd journal (runs journalctl -o json)'
            cand --json 'Shorthand for --format json'
            cand -q 'Print only the data: no notes or warnings on stderr'
            cand --quiet 'Print only the data: no notes or warnings on stderr'
            cand -v 'Say more on stderr about what is read (repeat for more)'
            cand --verbose 'Say more on stderr about what is read (repeat for more)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'clw-diag;record'= {
            cand --pid 'Record this process (''self'' for clw-diag itself)'
            cand --cgroup 'Record this memory cgroup: relative to the memory hierarchy, or absolute, or a workload (ns/pod[/container], project/service, a container name or docker:NAME, an ID prefix of 6+ hex, a pod UID, a unit; e.g. shop/web-5d8f7c9b4-x2x9z/hog). The header records the workload''s identity'
            cand --memory-limit 'Run the command inside a new memory cgroup with this limit: 512Mi or 2Gi (powers of 1024), 500M or 2G (powers of 1000, as Kubernetes), or bytes'
            cand -i 'Sampling interval (250ms, 1s, 1m; a bare number is seconds; at least 10ms)'
            cand --interval 'Sampling interval (250ms, 1s, 1m; a bare number is seconds; at least 10ms)'
            cand -d 'Stop after this long (90s, 30m, 1.5h, 1d; default: until the target exits or Ctrl-C)'
            cand --duration 'Stop after this long (90s, 30m, 1.5h, 1d; default: until the target exits or Ctrl-C)'
            cand -o 'The trace file to write (an existing regular file is replaced; a device, FIFO, directory or symlink there is refused)'
            cand --output 'The trace file to write (an existing regular file is replaced; a device, FIFO, directory or symlink there is refused)'
            cand --format 'Output format: a table for people, JSON (the stable contract, see docs/json.md), CSV, or GitHub Actions annotations (triage)'
            cand --color 'When to colour the output; NO_COLOR in the environment means never for "auto"'
            cand --proc-root 'Read process files from this directory instead of /proc (e.g. a copied tree)'
            cand --cgroup-root 'Read cgroup files from this directory instead of /sys/fs/cgroup'
            cand --host-root 'Read the node''s container runtime and kubelet files (Docker''s config.v2.json, containerd bundles, CRI-O and podman files, /var/log/containers) under this directory, to name each cgroup''s container, pod, compose service or unit'
            cand --children 'Include the process''s descendants, summed'
            cand --keep-oom-score 'Do not raise the recorder''s own oom_score_adj to 1000'
            cand --json 'Shorthand for --format json'
            cand -q 'Print only the data: no notes or warnings on stderr'
            cand --quiet 'Print only the data: no notes or warnings on stderr'
            cand -v 'Say more on stderr about what is read (repeat for more)'
            cand --verbose 'Say more on stderr about what is read (repeat for more)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'clw-diag;analyze'= {
            cand --format 'Output format: a table for people, JSON (the stable contract, see docs/json.md), CSV, or GitHub Actions annotations (triage)'
            cand --color 'When to colour the output; NO_COLOR in the environment means never for "auto"'
            cand --proc-root 'Read process files from this directory instead of /proc (e.g. a copied tree)'
            cand --cgroup-root 'Read cgroup files from this directory instead of /sys/fs/cgroup'
            cand --host-root 'Read the node''s container runtime and kubelet files (Docker''s config.v2.json, containerd bundles, CRI-O and podman files, /var/log/containers) under this directory, to name each cgroup''s container, pod, compose service or unit'
            cand --json 'Shorthand for --format json'
            cand -q 'Print only the data: no notes or warnings on stderr'
            cand --quiet 'Print only the data: no notes or warnings on stderr'
            cand -v 'Say more on stderr about what is read (repeat for more)'
            cand --verbose 'Say more on stderr about what is read (repeat for more)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
            cand memory-trace 'Leak verdict, leak rate with a confidence interval, and time to the memory limit'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'clw-diag;analyze;memory-trace'= {
            cand --metric 'The memory column to analyse, as the trace names it (anon_bytes) or as the source''s header does (rss_kb in a CSV or pidstat export); default: anon or RSS for processes, anon or working set for cgroups'
            cand --limit 'The memory limit to project against: 2048Mi or 2Gi (powers of 1024), 2G (10^9, as Kubernetes), or bytes more than 0 (default: the trace''s cgroup limit, else the host''s MemTotal)'
            cand --plot 'Draw memory over time, the envelope, the trend with its band, the limit and the projected crossing into this .svg or .png file (with several traces, the first)'
            cand --min-growth 'Growth over the analysed window below which a trend is only "suspected", percent'
            cand --min-rate 'Growth rate below which a leak is flagged as slow, in bytes per hour (1Mi = 2^20, 1M = 10^6, or bytes)'
            cand --format 'Output format: a table for people, JSON (the stable contract, see docs/json.md), CSV, or GitHub Actions annotations (triage)'
            cand --color 'When to colour the output; NO_COLOR in the environment means never for "auto"'
            cand --proc-root 'Read process files from this directory instead of /proc (e.g. a copied tree)'
            cand --cgroup-root 'Read cgroup files from this directory instead of /sys/fs/cgroup'
            cand --host-root 'Read the node''s container runtime and kubelet files (Docker''s config.v2.json, containerd bundles, CRI-O and podman files, /var/log/containers) under this directory, to name each cgroup''s container, pod, compose service or unit'
            cand --leak-detection 'Run the leak detection (the default analysis; kept for the runbooks'' command line)'
            cand --fail-on-leak 'Exit with code 1 when any verdict is leak'
            cand --json 'Shorthand for --format json'
            cand -q 'Print only the data: no notes or warnings on stderr'
            cand --quiet 'Print only the data: no notes or warnings on stderr'
            cand -v 'Say more on stderr about what is read (repeat for more)'
            cand --verbose 'Say more on stderr about what is read (repeat for more)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'clw-diag;analyze;help'= {
            cand memory-trace 'Leak verdict, leak rate with a confidence interval, and time to the memory limit'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'clw-diag;analyze;help;memory-trace'= {
        }
        &'clw-diag;analyze;help;help'= {
        }
        &'clw-diag;oom-rank'= {
            cand --cgroup 'Rank the processes of this memory cgroup and its descendants: a path as /proc/PID/cgroup prints it, a directory under the cgroup mount, or a workload: ns/pod[/container], project/service, a container name (docker:NAME), an ID prefix (6+ hex), a pod UID, a unit (e.g. labproj/hogsvc)'
            cand --top 'Show this many candidates in the table (JSON and CSV have all)'
            cand --format 'Output format: a table for people, JSON (the stable contract, see docs/json.md), CSV, or GitHub Actions annotations (triage)'
            cand --color 'When to colour the output; NO_COLOR in the environment means never for "auto"'
            cand --proc-root 'Read process files from this directory instead of /proc (e.g. a copied tree)'
            cand --cgroup-root 'Read cgroup files from this directory instead of /sys/fs/cgroup'
            cand --host-root 'Read the node''s container runtime and kubelet files (Docker''s config.v2.json, containerd bundles, CRI-O and podman files, /var/log/containers) under this directory, to name each cgroup''s container, pod, compose service or unit'
            cand --json 'Shorthand for --format json'
            cand -q 'Print only the data: no notes or warnings on stderr'
            cand --quiet 'Print only the data: no notes or warnings on stderr'
            cand -v 'Say more on stderr about what is read (repeat for more)'
            cand --verbose 'Say more on stderr about what is read (repeat for more)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'clw-diag;recommend'= {
            cand --cgroup 'A live memory cgroup: relative to the memory hierarchy, or absolute, or a workload (ns/pod[/container], project/service, a container name or docker:NAME, an ID prefix of 6+ hex, a pod UID, a unit; e.g. labproj/hogsvc)'
            cand --prometheus 'A Prometheus server''s base URL (http://host:9090)'
            cand --selector 'Label selector for the default query, e.g. ''namespace="shop",container="web"'''
            cand --query 'A PromQL query returning memory in bytes (instead of the default working-set query)'
            cand --since 'How far back to query Prometheus (30m, 1.5h, 7d, 1w; a bare number is seconds)'
            cand --timeout 'Timeout of each Prometheus request'
            cand --metric 'The memory column of trace files (default: anon or RSS, working set for cgroups)'
            cand --interval 'The interval whose peaks the policies use (30s, 5m, 1.5h, 1d; a bare number is seconds) [default: 5m, or shorter for a history under 100 minutes: the longest of 1s…5m that still gives 20 intervals]'
            cand --policy 'The policy, or all of them side by side'
            cand --backtest 'Fit on the first FRACTION of the history (default 0.7), replay the rest: intervals above the request and the limit, and the slack in GiB·hours'
            cand --emit 'Print a configuration snippet instead of the table'
            cand --plot 'Draw the interval peaks'' histogram with the request and limit lines (first target)'
            cand --format 'Output format: a table for people, JSON (the stable contract, see docs/json.md), CSV, or GitHub Actions annotations (triage)'
            cand --color 'When to colour the output; NO_COLOR in the environment means never for "auto"'
            cand --proc-root 'Read process files from this directory instead of /proc (e.g. a copied tree)'
            cand --cgroup-root 'Read cgroup files from this directory instead of /sys/fs/cgroup'
            cand --host-root 'Read the node''s container runtime and kubelet files (Docker''s config.v2.json, containerd bundles, CRI-O and podman files, /var/log/containers) under this directory, to name each cgroup''s container, pod, compose service or unit'
            cand --oom-metric 'Also count OOM kills from kube-state-metrics'' kube_pod_container_status_last_terminated_reason{reason="OOMKilled"}'
            cand --json 'Shorthand for --format json'
            cand -q 'Print only the data: no notes or warnings on stderr'
            cand --quiet 'Print only the data: no notes or warnings on stderr'
            cand -v 'Say more on stderr about what is read (repeat for more)'
            cand --verbose 'Say more on stderr about what is read (repeat for more)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'clw-diag;report'= {
            cand --logs 'Also read these log files (a glob: ''*'' and ''?'' in the file name; repeatable)'
            cand --cores 'Look for core files in DIR (repeatable)'
            cand --since 'The window: a duration back from now (30m, 1.5h, 2d) or a timestamp (2024-04-15T10:00:00Z, "2024-04-15 10:00", UTC unless an offset is given) [default: 1h]'
            cand --trace 'A memory trace (clw-diag record, CSV, Prometheus JSON) for a leak verdict (repeatable)'
            cand --cgroup 'The memory cgroup of the incident, for the snapshot and the OOM kill order'
            cand --bundle 'Also write the raw inputs, redacted, to OUT.tar.gz (mode 0600)'
            cand --bundle-max 'Bound on what the bundle keeps, before compression (64Mi, 1Gi, 500M); each file also keeps at most 8 MiB and then says where it was cut'
            cand --section-timeout 'Time budget of each section (500ms, 30s, 2m; a bare number is seconds; at most 1d)'
            cand --kmsg 'The kernel log device'
            cand --worker-log-glob 'Replace the --worker-logs places (for tests)'
            cand --format 'Output format: a table for people, JSON (the stable contract, see docs/json.md), CSV, or GitHub Actions annotations (triage)'
            cand --color 'When to colour the output; NO_COLOR in the environment means never for "auto"'
            cand --proc-root 'Read process files from this directory instead of /proc (e.g. a copied tree)'
            cand --cgroup-root 'Read cgroup files from this directory instead of /sys/fs/cgroup'
            cand --host-root 'Read the node''s container runtime and kubelet files (Docker''s config.v2.json, containerd bundles, CRI-O and podman files, /var/log/containers) under this directory, to name each cgroup''s container, pod, compose service or unit'
            cand --worker-logs 'Read the worker logs in their usual places: /var/log/clw/*.log, /var/log/claw/*.log'
            cand --force 'Replace an existing --bundle file (a regular file only: a device, FIFO, directory or symlink there is always refused)'
            cand --json 'Shorthand for --format json'
            cand -q 'Print only the data: no notes or warnings on stderr'
            cand --quiet 'Print only the data: no notes or warnings on stderr'
            cand -v 'Say more on stderr about what is read (repeat for more)'
            cand --verbose 'Say more on stderr about what is read (repeat for more)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'clw-diag;backtrace'= {
            cand --pid 'A live process instead of a core: every thread''s stack now ("self" is refused: a process cannot trace itself)'
            cand --samples 'With --pid: take N snapshots and count identical stacks (most frequent first)'
            cand --interval 'With --samples: time between snapshots (10ms to 1h)'
            cand --exe 'The executable that crashed, when it is not where the core says'
            cand --sysroot 'Find the mapped files under this root instead of / (e.g. a copied container image)'
            cand --debug-dir 'Also look for separate debug files (.build-id/xx/….debug, debuglink names) in DIR'
            cand --max-core-size 'The largest size a compressed core may decompress to (bytes, or with a suffix: 512Mi, 64Gi); past it the read stops with an error, as for a decompression bomb'
            cand --format 'Output format: a table for people, JSON (the stable contract, see docs/json.md), CSV, or GitHub Actions annotations (triage)'
            cand --color 'When to colour the output; NO_COLOR in the environment means never for "auto"'
            cand --proc-root 'Read process files from this directory instead of /proc (e.g. a copied tree)'
            cand --cgroup-root 'Read cgroup files from this directory instead of /sys/fs/cgroup'
            cand --host-root 'Read the node''s container runtime and kubelet files (Docker''s config.v2.json, containerd bundles, CRI-O and podman files, /var/log/containers) under this directory, to name each cgroup''s container, pod, compose service or unit'
            cand --consistent 'With --pid: hold all threads at once (one consistent moment, e.g. for a deadlock), instead of one at a time'
            cand --folded 'With --samples: print the stacks in the folded format of flamegraph.pl and inferno (`thread;outer;…;inner COUNT`), instead of the table'
            cand --crashed-only 'Print only the crashing thread'
            cand --debuginfod 'Fetch missing debug files (and executables or libraries missing on disk) by build ID from the servers in DEBUGINFOD_URLS. Also on whenever DEBUGINFOD_URLS is set; never otherwise. Cached as elfutils does (DEBUGINFOD_CACHE_PATH, else ~/.cache/debuginfod_client); DEBUGINFOD_TIMEOUT in seconds (default 90)'
            cand --json 'Shorthand for --format json'
            cand -q 'Print only the data: no notes or warnings on stderr'
            cand --quiet 'Print only the data: no notes or warnings on stderr'
            cand -v 'Say more on stderr about what is read (repeat for more)'
            cand --verbose 'Say more on stderr about what is read (repeat for more)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'clw-diag;symbolize'= {
            cand -e 'The executable or library the addresses belong to'
            cand --exe 'The executable or library the addresses belong to'
            cand --text 'Rewrite the raw backtraces found in FILE (or standard input): glibc backtrace_symbols, sanitizer, gdb "?? ()" and Rust RUST_BACKTRACE=full frames get function, file and line'
            cand --maps 'With --text: the memory map (/proc/PID/maps format) for absolute addresses'
            cand --pid 'With --text: read the memory map of this running process'
            cand --core 'With --text: take the memory map from this core dump''s NT_FILE note (the process that printed the backtrace, after it crashed)'
            cand --debug-dir 'Also look for separate debug files in DIR'
            cand --format 'Output format: a table for people, JSON (the stable contract, see docs/json.md), CSV, or GitHub Actions annotations (triage)'
            cand --color 'When to colour the output; NO_COLOR in the environment means never for "auto"'
            cand --proc-root 'Read process files from this directory instead of /proc (e.g. a copied tree)'
            cand --cgroup-root 'Read cgroup files from this directory instead of /sys/fs/cgroup'
            cand --host-root 'Read the node''s container runtime and kubelet files (Docker''s config.v2.json, containerd bundles, CRI-O and podman files, /var/log/containers) under this directory, to name each cgroup''s container, pod, compose service or unit'
            cand -f 'Print function names'
            cand --functions 'Print function names'
            cand -i 'Print the callers of inlined functions too'
            cand --inlines 'Print the callers of inlined functions too'
            cand -C 'Demangle C++ and Rust names'
            cand --demangle 'Demangle C++ and Rust names'
            cand -a 'Print each address before its lines'
            cand --addresses 'Print each address before its lines'
            cand -p 'Print each address on one line ("pretty")'
            cand --pretty-print 'Print each address on one line ("pretty")'
            cand -s 'Print file base names only'
            cand --basenames 'Print file base names only'
            cand --debuginfod 'Fetch missing debug files by build ID from the servers in DEBUGINFOD_URLS (also on whenever DEBUGINFOD_URLS is set; never otherwise)'
            cand --json 'Shorthand for --format json'
            cand -q 'Print only the data: no notes or warnings on stderr'
            cand --quiet 'Print only the data: no notes or warnings on stderr'
            cand -v 'Say more on stderr about what is read (repeat for more)'
            cand --verbose 'Say more on stderr about what is read (repeat for more)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'clw-diag;serve'= {
            cand --listen 'Address and port to listen on (9477 by default; use 0.0.0.0:PORT for every interface)'
            cand --top 'Per-process series for this many processes, the largest by RSS'
            cand --cgroup 'Also export this memory cgroup (those with a limit of their own always are). Repeatable'
            cand --max-connections 'Connections held at once [default: min(256, open-file limit / 2 - 16)]'
            cand --format 'Output format: a table for people, JSON (the stable contract, see docs/json.md), CSV, or GitHub Actions annotations (triage)'
            cand --color 'When to colour the output; NO_COLOR in the environment means never for "auto"'
            cand --proc-root 'Read process files from this directory instead of /proc (e.g. a copied tree)'
            cand --cgroup-root 'Read cgroup files from this directory instead of /sys/fs/cgroup'
            cand --host-root 'Read the node''s container runtime and kubelet files (Docker''s config.v2.json, containerd bundles, CRI-O and podman files, /var/log/containers) under this directory, to name each cgroup''s container, pod, compose service or unit'
            cand --pss 'Also read smaps_rollup of the top processes for clw_process_pss_bytes (walks their page tables under their mmap lock on every scrape)'
            cand --json 'Shorthand for --format json'
            cand -q 'Print only the data: no notes or warnings on stderr'
            cand --quiet 'Print only the data: no notes or warnings on stderr'
            cand -v 'Say more on stderr about what is read (repeat for more)'
            cand --verbose 'Say more on stderr about what is read (repeat for more)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'clw-diag;completions'= {
            cand --dir 'Write the completions of every shell into DIR instead'
            cand --format 'Output format: a table for people, JSON (the stable contract, see docs/json.md), CSV, or GitHub Actions annotations (triage)'
            cand --color 'When to colour the output; NO_COLOR in the environment means never for "auto"'
            cand --proc-root 'Read process files from this directory instead of /proc (e.g. a copied tree)'
            cand --cgroup-root 'Read cgroup files from this directory instead of /sys/fs/cgroup'
            cand --host-root 'Read the node''s container runtime and kubelet files (Docker''s config.v2.json, containerd bundles, CRI-O and podman files, /var/log/containers) under this directory, to name each cgroup''s container, pod, compose service or unit'
            cand --json 'Shorthand for --format json'
            cand -q 'Print only the data: no notes or warnings on stderr'
            cand --quiet 'Print only the data: no notes or warnings on stderr'
            cand -v 'Say more on stderr about what is read (repeat for more)'
            cand --verbose 'Say more on stderr about what is read (repeat for more)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'clw-diag;man'= {
            cand --dir 'Write clw-diag.1 and one page per subcommand into DIR instead of printing clw-diag.1'
            cand --format 'Output format: a table for people, JSON (the stable contract, see docs/json.md), CSV, or GitHub Actions annotations (triage)'
            cand --color 'When to colour the output; NO_COLOR in the environment means never for "auto"'
            cand --proc-root 'Read process files from this directory instead of /proc (e.g. a copied tree)'
            cand --cgroup-root 'Read cgroup files from this directory instead of /sys/fs/cgroup'
            cand --host-root 'Read the node''s container runtime and kubelet files (Docker''s config.v2.json, containerd bundles, CRI-O and podman files, /var/log/containers) under this directory, to name each cgroup''s container, pod, compose service or unit'
            cand --json 'Shorthand for --format json'
            cand -q 'Print only the data: no notes or warnings on stderr'
            cand --quiet 'Print only the data: no notes or warnings on stderr'
            cand -v 'Say more on stderr about what is read (repeat for more)'
            cand --verbose 'Say more on stderr about what is read (repeat for more)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'clw-diag;help'= {
            cand sample 'Snapshot of host, memory cgroups and processes, with pressure states'
            cand vmmap 'Where a process''s memory is: heap, stacks, code, file data, shared memory, kernel'
            cand triage 'Find OOM kills, abnormal exits and crashes in kernel, container, systemd, runtime and CI logs'
            cand record 'Record a memory trace of a process, a cgroup or a command (JSON Lines, crash-safe)'
            cand analyze 'Analyse recorded traces: leak verdict, rate with a confidence interval, time to limit'
            cand oom-rank 'Who the kernel''s OOM killer would kill first in a cgroup or on the host, and why'
            cand recommend 'Memory request and limit from observed usage: traces, a cgroup, or Prometheus'
            cand report 'One incident report: snapshot, OOM kill order, kernel and worker logs, cores, summary'
            cand backtrace 'Unwind and symbolize every thread of a core dump, like gdb''s `thread apply all bt`'
            cand symbolize 'Resolve addresses to function, file and line (addr2line-compatible, inline frames)'
            cand serve 'Serve host, cgroup and process memory metrics for Prometheus (OpenMetrics) at /metrics'
            cand completions 'Print shell completions (bash, zsh, fish, elvish, powershell)'
            cand man 'Print the man page (or write every page with --dir)'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'clw-diag;help;sample'= {
        }
        &'clw-diag;help;vmmap'= {
        }
        &'clw-diag;help;triage'= {
        }
        &'clw-diag;help;record'= {
        }
        &'clw-diag;help;analyze'= {
            cand memory-trace 'Leak verdict, leak rate with a confidence interval, and time to the memory limit'
        }
        &'clw-diag;help;analyze;memory-trace'= {
        }
        &'clw-diag;help;oom-rank'= {
        }
        &'clw-diag;help;recommend'= {
        }
        &'clw-diag;help;report'= {
        }
        &'clw-diag;help;backtrace'= {
        }
        &'clw-diag;help;symbolize'= {
        }
        &'clw-diag;help;serve'= {
        }
        &'clw-diag;help;completions'= {
        }
        &'clw-diag;help;man'= {
        }
        &'clw-diag;help;help'= {
        }
    ]
    $completions[$command]
}
