
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
            cand --json 'Shorthand for --format json'
            cand -q 'Print only the data: no notes or warnings on stderr'
            cand --quiet 'Print only the data: no notes or warnings on stderr'
            cand -v 'Say more on stderr about what is read (repeat for more)'
            cand --verbose 'Say more on stderr about what is read (repeat for more)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
            cand sample 'Snapshot of host, memory cgroups and processes, with pressure states'
            cand vmmap 'Where a process''s memory is: heap, stacks, code, file data, shared memory, kernel'
            cand triage 'Find OOM kills, abnormal exits and crashes in kernel, container, systemd, runtime and CI logs'
            cand completions 'Print shell completions (bash, zsh, fish, elvish, powershell)'
            cand man 'Print the man page (or write every page with --dir)'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'clw-diag;sample'= {
            cand --pid 'Only this process (repeatable; ''self'' is clw-diag itself)'
            cand --cgroup 'Only this memory cgroup and its processes: a path relative to the memory hierarchy (/kubepods/pod1, as /proc/PID/cgroup prints it) or absolute (/sys/fs/cgroup/...). Repeatable'
            cand --top 'How many processes to show'
            cand --sort 'Rank processes by this figure (pss and uss read smaps_rollup of every process: slower)'
            cand --watch 'Refresh every DURATION (e.g. 2s, 500ms, 1m) until Ctrl-C; JSON output becomes JSON Lines'
            cand --format 'Output format: a table for people, JSON (the stable contract, see docs/json.md), CSV, or GitHub Actions annotations (triage)'
            cand --color 'When to colour the output; NO_COLOR in the environment means never for "auto"'
            cand --proc-root 'Read process files from this directory instead of /proc (e.g. a copied tree)'
            cand --cgroup-root 'Read cgroup files from this directory instead of /sys/fs/cgroup'
            cand --all 'Show every process, not only the top N'
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
            cand --since 'Only events at or after this time: a duration back from now (30m, 2h, 1d) or a timestamp (2024-04-15T10:00:00Z, "2024-04-15 10:00:00"). Events without a time are kept'
            cand --fail-on 'Exit with code 1 when events of this class are found (for CI)'
            cand --kmsg 'The kernel log device read by --dmesg'
            cand --format 'Output format: a table for people, JSON (the stable contract, see docs/json.md), CSV, or GitHub Actions annotations (triage)'
            cand --color 'When to colour the output; NO_COLOR in the environment means never for "auto"'
            cand --proc-root 'Read process files from this directory instead of /proc (e.g. a copied tree)'
            cand --cgroup-root 'Read cgroup files from this directory instead of /sys/fs/cgroup'
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
        &'clw-diag;completions'= {
            cand --dir 'Write the completions of every shell into DIR instead'
            cand --format 'Output format: a table for people, JSON (the stable contract, see docs/json.md), CSV, or GitHub Actions annotations (triage)'
            cand --color 'When to colour the output; NO_COLOR in the environment means never for "auto"'
            cand --proc-root 'Read process files from this directory instead of /proc (e.g. a copied tree)'
            cand --cgroup-root 'Read cgroup files from this directory instead of /sys/fs/cgroup'
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
        &'clw-diag;help;completions'= {
        }
        &'clw-diag;help;man'= {
        }
        &'clw-diag;help;help'= {
        }
    ]
    $completions[$command]
}
