#!/usr/bin/env bash
# Dump what `mailtriage classify` says about every shipped transcript and every
# Sisimai email into a folder, so two builds can be compared byte for byte:
#
#   scripts/output-snapshot.sh /tmp/out-before /path/to/old/mailtriage
#   scripts/output-snapshot.sh /tmp/out-after
#   diff -r /tmp/out-before /tmp/out-after && echo identical
#
# Each file is classified by its own process (`--format json`, what a one-ticket
# run compiles and caches), and each set once more in one batch (`--format
# jsonl`) with one and with two worker threads (caches shared and reused across
# tickets and threads). Not part of the test suite.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
OUT=${1:?usage: output-snapshot.sh OUT_DIR [BIN]}
BIN=${2:-$ROOT/target/release/mailtriage}
CORPUS=${CORPUS:-$ROOT/../shared/corpus/sisimai/emails}

rm -rf "$OUT"
mkdir -p "$OUT/transcripts" "$OUT/sisimai"

one() { # one FILE DEST
    "$BIN" classify --format json "$1" > "$2" 2>&1 || echo "exit status $?" >> "$2"
}
export -f one
export BIN OUT

(cd "$ROOT/transcripts" && for f in *.txt; do printf '%s\0' "$f"; done) |
    xargs -0 -P "$(nproc)" -I{} bash -c 'one "$0" "$OUT/transcripts/{}.json"' "$ROOT/transcripts/{}"
# The corpus's sub-folders become part of the file names (bsd/x.eml -> bsd_x.eml.json).
(cd "$CORPUS" && find . -type f -printf '%P\0') |
    xargs -0 -P "$(nproc)" -I{} bash -c 'one "$0" "$OUT/sisimai/$(printf %s "{}" | tr / _).json"' "$CORPUS/{}"

for jobs in 1 2; do
    (cd "$ROOT" && "$BIN" classify --jobs "$jobs" --format jsonl transcripts/ > "$OUT/batch-transcripts-j$jobs.jsonl" 2>&1) || true
    (cd "$CORPUS/.." && "$BIN" classify --jobs "$jobs" --format jsonl emails/ > "$OUT/batch-sisimai-j$jobs.jsonl" 2>&1) || true
done
echo "$(find "$OUT" -type f | wc -l) files in $OUT"
