#!/usr/bin/env bash
# Rerunnable throughput benchmark for `mailtriage classify` (see BENCHMARKS.md).
#
#   scripts/bench.sh                 # full run: 50,460 bounce files, 100,000 JSONL tickets
#   COPIES=6 RECORDS=10000 scripts/bench.sh   # a quick, smaller run
#
# It builds the release binary, replicates the Sisimai corpus
# (../shared/corpus/sisimai/emails) and transcripts/ into a temporary folder,
# times mailtriage (wall time, peak RSS via /usr/bin/time) with every core and
# with one, runs Sisimai (Debian's libsisimai-perl, through
# ../shared/tools/sisimai-run.pl --quiet) on the same files in the same run,
# measures start-up, and prints one table. Nothing here runs under cargo test.
#
# Environment: COPIES (corpus copies, default 60 = 50,460 files), RECORDS
# (JSONL tickets, default 100000), JOBS (default: every core), BENCH_DIR (keep
# the generated inputs there instead of a temporary folder), NO_SISIMAI=1,
# BIN (time another mailtriage binary, e.g. an older build, instead).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
CORPUS=${CORPUS:-$ROOT/../shared/corpus/sisimai/emails}
SISIMAI_RUN=${SISIMAI_RUN:-$ROOT/../shared/tools/sisimai-run.pl}
COPIES=${COPIES:-60}
RECORDS=${RECORDS:-100000}
JOBS=${JOBS:-$(nproc)}
BIN=${BIN:-$ROOT/target/release/mailtriage}

note() { printf '%s\n' "$*" >&2; }

[ -x /usr/bin/time ] || { note "bench: /usr/bin/time is needed for peak memory (apt-get install time)"; exit 2; }
[ -d "$CORPUS" ] || { note "bench: no corpus at $CORPUS"; exit 2; }

if [ "$BIN" = "$ROOT/target/release/mailtriage" ]; then
    note "== building release binary"
    (cd "$ROOT" && cargo build --release --quiet)
fi

if [ -n "${BENCH_DIR:-}" ]; then
    WORK=$BENCH_DIR
    mkdir -p "$WORK"
else
    WORK=$(mktemp -d "${TMPDIR:-/tmp}/mailtriage-bench.XXXXXX")
    trap 'rm -rf "$WORK"' EXIT
fi

# (a) the Sisimai corpus, COPIES times (hard links where the file system allows).
BOUNCES=$WORK/bounces
if [ ! -f "$BOUNCES/.complete-$COPIES" ]; then
    note "== replicating the Sisimai corpus $COPIES times into $BOUNCES"
    rm -rf "$BOUNCES" && mkdir -p "$BOUNCES"
    for i in $(seq -w 1 "$COPIES"); do
        cp -al "$CORPUS" "$BOUNCES/copy-$i" 2>/dev/null || cp -a "$CORPUS" "$BOUNCES/copy-$i"
    done
    touch "$BOUNCES/.complete-$COPIES"
fi

# (b) transcripts/ as RECORDS JSON Lines tickets.
TICKETS=$WORK/tickets.jsonl
if [ ! -f "$TICKETS.complete-$RECORDS" ]; then
    note "== writing $RECORDS JSON Lines tickets from transcripts/ to $TICKETS"
    perl -MJSON::PP -e '
        my ($n, @files) = @ARGV;
        my $json = JSON::PP->new->canonical;
        my @texts;
        for my $f (@files) { local $/; open my $fh, "<:raw", $f or die "$f: $!"; push @texts, [$f =~ s{.*/}{}r, scalar <$fh>]; }
        for my $i (0 .. $n - 1) {
            my ($name, $text) = @{ $texts[$i % @texts] };
            print $json->encode({ id => "$i/$name", transcript => $text }), "\n";
        }' "$RECORDS" "$ROOT"/transcripts/*.txt > "$TICKETS"
    touch "$TICKETS.complete-$RECORDS"
fi

FILES=$(find "$BOUNCES" -type f ! -name '.*' | wc -l)
BOUNCE_BYTES=$(find "$BOUNCES" -type f ! -name '.*' -printf '%s\n' | awk '{s+=$1} END {print s}')
TICKET_BYTES=$(stat -c %s "$TICKETS")

# Warm the page cache so every run reads from memory.
cat "$TICKETS" > /dev/null
find "$BOUNCES" -type f -exec cat {} + > /dev/null

# measure NAME COUNT BYTES COMMAND...: runs once, prints a row, sets
# SECONDS_TAKEN (wall) and CPU_TAKEN (user + system). Throughput per CPU
# second is the per-core figure, and it holds on a busy machine too.
measure() {
    local name=$1 count=$2 bytes=$3
    shift 3
    local log
    log=$(mktemp)
    /usr/bin/time -f '%e %U %S %M' -o "$log" "$@" > /dev/null 2> "$WORK/stderr.log" || true
    read -r wall user sys rss < <(tail -n 1 "$log")
    local status
    status=$(sed -n 's/^Command exited with non-zero status //p' "$log")
    rm -f "$log"
    if [ "${status:-0}" -ge 2 ]; then
        printf '%-42s failed with exit status %s: %s\n' "$name" "$status" "$(head -c 200 "$WORK/stderr.log")"
        SECONDS_TAKEN=0 CPU_TAKEN=0
        return
    fi
    SECONDS_TAKEN=$wall
    CPU_TAKEN=$(awk -v u="$user" -v s="$sys" 'BEGIN {print u + s}')
    awk -v n="$name" -v c="$count" -v b="$bytes" -v w="$wall" -v cpu="$CPU_TAKEN" -v r="$rss" 'BEGIN {
        if (w <= 0) w = 0.01; if (cpu <= 0) cpu = 0.01;
        printf "%-42s %8d %7.2f %7.2f %10.0f %8.1f %10.0f %9.1f %8.1f\n", n, c, w, cpu, c / w, b / w / 1e6, c / cpu, b / cpu / 1e6, r / 1024 }'
}

# An older build without --jobs runs on one thread anyway.
j() { if "$BIN" classify --help | grep -q -- --jobs; then echo "--jobs $1"; fi; }

printf '%-42s %8s %7s %7s %10s %8s %10s %9s %8s\n' "run" "tickets" "wall s" "cpu s" "tickets/s" "MB/s" "tickets/cs" "MB/cpu-s" "peak MiB"
measure "mailtriage, bounces, -j $JOBS" "$FILES" "$BOUNCE_BYTES" "$BIN" classify $(j "$JOBS") "$BOUNCES"
MT_BOUNCES=$SECONDS_TAKEN
measure "mailtriage, bounces, -j 1" "$FILES" "$BOUNCE_BYTES" "$BIN" classify $(j 1) "$BOUNCES"
MT_BOUNCES_CPU=$CPU_TAKEN
measure "mailtriage, JSONL tickets, -j $JOBS" "$RECORDS" "$TICKET_BYTES" "$BIN" classify $(j "$JOBS") --jsonl "$TICKETS"
measure "mailtriage, JSONL tickets, -j 1" "$RECORDS" "$TICKET_BYTES" "$BIN" classify $(j 1) --jsonl "$TICKETS"
measure "mailtriage, JSONL on stdin, -j $JOBS" "$RECORDS" "$TICKET_BYTES" sh -c "\"$BIN\" classify $(j "$JOBS") --jsonl - < \"$TICKETS\""

SISIMAI=
if [ -z "${NO_SISIMAI:-}" ]; then
    if ! perl -MSisimai -e 1 2>/dev/null; then
        note "== Sisimai is not installed; trying apt-get install libsisimai-perl"
        { apt-get install -y libsisimai-perl || sudo -n apt-get install -y libsisimai-perl; } > /dev/null 2>&1 || true
    fi
    if perl -MSisimai -e 1 2>/dev/null && [ -f "$SISIMAI_RUN" ]; then
        measure "sisimai $(perl -MSisimai -e 'print $Sisimai::VERSION'), bounces (one core)" "$FILES" "$BOUNCE_BYTES" perl "$SISIMAI_RUN" --quiet "$BOUNCES"
        SISIMAI=$SECONDS_TAKEN
        SISIMAI_CPU=$CPU_TAKEN
    else
        note "bench: Sisimai unavailable; no ratio"
    fi
fi

# Start-up: load and validate the embedded knowledge base, classify one
# ticket, write it; once per shipped transcript (best of 3 each), since what a
# ticket needs compiled differs: mean, median and worst.
echo
for f in "$ROOT"/transcripts/*.txt; do
    best=
    for _ in 1 2 3; do
        start=$(date +%s%N)
        "$BIN" classify --format jsonl "$f" > /dev/null 2>&1 || true
        end=$(date +%s%N)
        t=$(( (end - start) / 1000 ))
        if [ -z "$best" ] || [ "$t" -lt "$best" ]; then best=$t; fi
    done
    echo "$best"
done | sort -n | awk '{ t[NR] = $1; s += $1 } END {
    printf "start-up, one ticket per process over %d transcripts: mean %.1f ms, median %.1f ms, worst %.1f ms\n",
        NR, s / NR / 1000, t[int((NR + 1) / 2)] / 1000, t[NR] / 1000 }'
if command -v hyperfine > /dev/null; then
    ONE_OF=("$ROOT"/transcripts/*.txt)
    hyperfine -N --warmup 5 --runs 50 --export-json "$WORK/startup.json" "$BIN classify --format jsonl ${ONE_OF[0]}" > /dev/null 2>&1 || true
    awk -F: '/"mean"/ {gsub(/[ ,]/, "", $2); printf "start-up on %s (hyperfine, mean of 50): %.1f ms\n", FILENAME, $2 * 1000; exit}' "$WORK/startup.json" |
        sed "s|$WORK/startup.json|${ONE_OF[0]##*/}|"
fi

if [ -n "$SISIMAI" ]; then
    awk -v s="$SISIMAI" -v sc="$SISIMAI_CPU" -v m="$MT_BOUNCES" -v mc="$MT_BOUNCES_CPU" 'BEGIN {
        printf "messages/s, mailtriage vs Sisimai: %.1fx wall clock with every core, %.1fx per CPU second\n", s / m, sc / mc }'
fi
awk -v m="$(uname -m)" -v c="$(nproc)" -v f="$FILES" -v fb="$BOUNCE_BYTES" -v r="$RECORDS" -v tb="$TICKET_BYTES" 'BEGIN {
    printf "machine: %s, %s cores; inputs: %d files (%.1f MB), %d JSONL tickets (%.1f MB)\n", m, c, f, fb / 1e6, r, tb / 1e6 }'
