#!/usr/bin/env bash
# Ingest benchmark: usercom against the throughput floor, on the same generated stream.
#
# Usage:
#   scripts/bench-ingest.sh [EVENTS]
#
#   EVENTS      number of events, first argument or environment (default 1000000)
#   BENCH_DIR   where the input and the databases go (default ${TMPDIR:-/tmp}/usercom-bench);
#               BENCH_DIR=/dev/shm/usercom-bench takes the disk out of the comparison
#   KEEP_DBS=1  keep this run's databases (they are deleted at exit otherwise)
#   GZ_FILES    the back-fill part splits the same events into this many gzip files in a
#               folder (default 24); GZ_FILES=0 skips it
#
# One run:
#   1. cargo build --release --examples --bins
#   2. generates $BENCH_DIR/events-EVENTS-seed42.ndjson with examples/gen_events.rs, unless
#      that file exists already (the seed is fixed, so the file is always the same)
#   3. reads the file once so both contenders find it in the page cache
#   4. times examples/floor.rs on it (serde_json::Value + one INSERT OR IGNORE per event)
#   5. times usercom on it, on a fresh database:
#        usercom --db DB keys create
#        usercom --db DB ingest FILE --api-key KEY --quiet --json
#      (exit 1, "some events were rejected", is accepted)
#   6. prints events, seconds, events/s and peak RSS for both, and usercom_time/floor_time.
#   7. back-fill: the same events as GZ_FILES gzip files in a folder (split on line
#      boundaries, gzip -6, made once under $BENCH_DIR), times
#        usercom --db DB2 ingest FOLDER --api-key KEY --quiet --json     (fresh database)
#      then the same command again (every file skipped by its checkpoint), and once more
#      with --no-resume (every file read again, every event a duplicate).
# Wall time and peak RSS come from GNU time (/usr/bin/time -f '%e %M').
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

events="${1:-${EVENTS:-1000000}}"
seed=42
bench_dir="${BENCH_DIR:-${TMPDIR:-/tmp}/usercom-bench}"
target_dir="${CARGO_TARGET_DIR:-target}"
gnu_time=/usr/bin/time

log() { printf '%s\n' "$*" >&2; }
die() { log "bench-ingest: $*"; exit 1; }

[[ "$events" =~ ^[1-9][0-9]*$ ]] || die "EVENTS must be a positive integer, got '$events'"
[[ -x "$gnu_time" ]] || die "GNU time is needed at $gnu_time"

log "==> cargo build --release --examples --bins"
cargo build --release --examples --bins

gen="$target_dir/release/examples/gen_events"
floor="$target_dir/release/examples/floor"
usercom="$target_dir/release/usercom"
for bin in "$gen" "$floor" "$usercom"; do
    [[ -x "$bin" ]] || die "missing $bin after the build"
done

mkdir -p "$bench_dir"
input="$bench_dir/events-$events-seed$seed.ndjson"
if [[ -s "$input" ]]; then
    log "==> reusing $input"
else
    log "==> generating $events events into $input"
    "$gen" --events "$events" --seed "$seed" --out "$input.partial"
    mv "$input.partial" "$input"
fi
input_bytes=$(wc -c <"$input")
input_lines=$(wc -l <"$input")
cat "$input" >/dev/null # warm the page cache, so neither run pays for the first read

run_dir=$(mktemp -d "$bench_dir/run.XXXXXX")
if [[ "${KEEP_DBS:-0}" == 1 ]]; then
    log "==> databases are kept in $run_dir"
else
    trap 'rm -rf "$run_dir"' EXIT
fi

# timed OUT_PREFIX COMMAND...: runs COMMAND under GNU time with stdout in OUT_PREFIX.out and
# stderr in OUT_PREFIX.err; leaves "seconds peak_rss_kib" in OUT_PREFIX.time and returns
# the command's exit status.
timed() {
    local prefix=$1
    shift
    local rc=0
    "$gnu_time" -f '%e %M' -o "$prefix.time.raw" "$@" >"$prefix.out" 2>"$prefix.err" || rc=$?
    # GNU time writes "Command exited with non-zero status N" before the numbers.
    tail -n 1 "$prefix.time.raw" >"$prefix.time"
    return "$rc"
}

log "==> floor"
timed "$run_dir/floor" "$floor" "$input" "$run_dir/floor.db" ||
    die "floor failed: $(tail -n 5 "$run_dir/floor.err")"
read -r floor_secs floor_kib <"$run_dir/floor.time"
grep -q '^floor: [0-9]* events' "$run_dir/floor.out" ||
    die "unexpected floor output: $(cat "$run_dir/floor.out")"

log "==> usercom"
db="$run_dir/usercom.db"
key=$("$usercom" --db "$db" keys create 2>"$run_dir/keys.err") ||
    die "usercom keys create failed: $(tail -n 5 "$run_dir/keys.err")"
key="${key//[[:space:]]/}"
[[ -n "$key" ]] || die "usercom keys create printed no key"
ingest_flags=(--json)
if "$usercom" ingest --help 2>/dev/null | grep -q -- '--quiet'; then
    ingest_flags+=(--quiet)
fi
rc=0
timed "$run_dir/usercom" "$usercom" --db "$db" ingest "$input" --api-key "$key" \
    "${ingest_flags[@]}" || rc=$?
if ((rc > 1)); then
    die "usercom ingest exited with $rc: $(tail -n 5 "$run_dir/usercom.err")"
fi
read -r usercom_secs usercom_kib <"$run_dir/usercom.time"
summary="$run_dir/usercom.out"
if command -v jq >/dev/null && jq -e 'type == "object"' "$summary" >/dev/null 2>&1; then
    usercom_summary=$(jq -r '"received \(.received), applied \(.applied), rejected \(.rejected), skipped \(.skipped), duplicates \(.duplicates), ignored_values \(.ignored_values)"' "$summary")
else
    usercom_summary=$(head -c 300 "$summary")
fi

# events/s is input lines per second for both, so the ratio of rates is the time ratio.
awk -v lines="$input_lines" -v bytes="$input_bytes" -v seed="$seed" -v input="$input" \
    -v fs="$floor_secs" -v fk="$floor_kib" -v us="$usercom_secs" -v uk="$usercom_kib" '
    function ratio(a, b) { return b > 0 ? a / b : 0 }
    BEGIN {
        printf "ingest benchmark: %d events, %.1f MB (%.0f bytes/line), seed %d\n",
            lines, bytes / 1e6, ratio(bytes, lines), seed
        printf "input: %s\n\n", input
        printf "%-8s %10s %9s %11s %14s\n", "", "events", "seconds", "events/s", "peak RSS MiB"
        printf "%-8s %10d %9.2f %11.0f %14.1f\n", "floor", lines, fs, ratio(lines, fs), fk / 1024
        printf "%-8s %10d %9.2f %11.0f %14.1f\n", "usercom", lines, us, ratio(lines, us), uk / 1024
        printf "\nratio usercom_time/floor_time: %.2f\n\n", ratio(us, fs)
    }'
cat "$run_dir/floor.out"
tail -n 1 "$run_dir/floor.err"
echo "usercom: exit $rc, $usercom_summary"

gz_files="${GZ_FILES:-24}"
if ((gz_files > 0)); then
    folder="$bench_dir/events-$events-seed$seed-gz$gz_files"
    if [[ -d "$folder" ]]; then
        log "==> reusing $folder"
    else
        log "==> splitting into $gz_files gzip files in $folder"
        mkdir -p "$folder.partial"
        split -n "l/$gz_files" -d -a 2 --additional-suffix=.ndjson "$input" "$folder.partial/part-"
        gzip -6 "$folder.partial"/*.ndjson
        mv "$folder.partial" "$folder"
    fi
    gz_bytes=$(cat "$folder"/*.gz | wc -c)
    db2="$run_dir/backfill.db"
    key2=$("$usercom" --db "$db2" keys create 2>>"$run_dir/keys.err")
    key2="${key2//[[:space:]]/}"
    for run in backfill rerun rerun_no_resume; do
        extra=()
        [[ "$run" == rerun_no_resume ]] && extra=(--no-resume)
        log "==> usercom $run"
        rc2=0
        timed "$run_dir/$run" "$usercom" --db "$db2" ingest "$folder" --api-key "$key2" \
            "${ingest_flags[@]}" "${extra[@]}" || rc2=$?
        ((rc2 <= 1)) || die "usercom ingest ($run) exited with $rc2: $(tail -n 5 "$run_dir/$run.err")"
    done
    read -r bf_secs bf_kib <"$run_dir/backfill.time"
    read -r rr_secs rr_kib <"$run_dir/rerun.time"
    read -r nr_secs nr_kib <"$run_dir/rerun_no_resume.time"
    awk -v lines="$input_lines" -v n="$gz_files" -v gzb="$gz_bytes" -v us="$usercom_secs" \
        -v uk="$usercom_kib" -v bs="$bf_secs" -v bk="$bf_kib" -v rs="$rr_secs" -v rk="$rr_kib" \
        -v ns="$nr_secs" -v nk="$nr_kib" '
        function ratio(a, b) { return b > 0 ? a / b : 0 }
        BEGIN {
            printf "\nback-fill: the same events as %d gzip files in a folder (%.1f MB compressed)\n\n",
                n, gzb / 1e6
            printf "%-26s %10s %9s %11s %14s\n", "", "events", "seconds", "events/s", "peak RSS MiB"
            printf "%-26s %10d %9.2f %11.0f %14.1f\n", "plain file", lines, us, ratio(lines, us), uk / 1024
            printf "%-26s %10d %9.2f %11.0f %14.1f\n", "gzip folder", lines, bs, ratio(lines, bs), bk / 1024
            printf "%-26s %10s %9.2f %11s %14.1f\n", "rerun (checkpoints)", "-", rs, "-", rk / 1024
            printf "%-26s %10d %9.2f %11.0f %14.1f\n", "rerun --no-resume", lines, ns, ratio(lines, ns), nk / 1024
        }'
    if command -v jq >/dev/null; then
        for run in backfill rerun rerun_no_resume; do
            echo "$run: $(jq -r '"received \(.received), applied \(.applied), duplicates \(.duplicates), files \(.files | length)"' "$run_dir/$run.out")"
        done
    fi
fi
