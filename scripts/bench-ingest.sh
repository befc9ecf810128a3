#!/usr/bin/env bash
# Ingest benchmark: usercom against the throughput floor, on the same generated stream,
# with the databases on disk and on tmpfs.
#
# Usage:
#   scripts/bench-ingest.sh [EVENTS]
#
#   EVENTS      number of events, first argument or environment (default 1000000)
#   PAIRS       floor/usercom pairs timed per place, in turns (default 3); medians are
#               reported
#   PLACES      where the databases go, any of "disk tmpfs" (default both; empty: only
#               the extras below):
#                 disk   $BENCH_DIR (default ${TMPDIR:-/tmp}/usercom-bench)
#                 tmpfs  $SHM_DIR (default /dev/shm/usercom-bench), which takes the disk
#                        out of the comparison
#   KEEP_DBS=1  keep the last pair's databases (they are deleted after each run otherwise)
#   PROVENANCE_COST=1
#               also time, PAIRS times in turns on tmpfs, usercom with and without
#               --no-provenance, and report the CPU time provenance adds (median of each)
#   GZ_FILES    also time a back-fill of the same events split into this many gzip files
#               in a folder on disk, a rerun (checkpoints) and a --no-resume rerun
#               (default 0: skipped)
#
# One run:
#   1. cargo build --release --examples --bins
#   2. generates $BENCH_DIR/events-EVENTS-seed42.ndjson with examples/gen_events.rs, unless
#      that file exists already (the seed is fixed, so the file is always the same)
#   3. reads the file once so every run finds it in the page cache
#   4. for each place, PAIRS times: the floor (examples/floor.rs: serde_json::Value and
#      one INSERT OR IGNORE per event with the raw line, 10,000-row transactions, WAL,
#      synchronous=NORMAL) on a fresh database, then usercom on a fresh database:
#        usercom --db DB keys create
#        usercom --db DB ingest FILE --api-key KEY --quiet --json
#      (exit 1, "some events were rejected", is accepted)
#   5. prints one line per run and a table of medians per place: wall seconds, CPU
#      seconds (user + system), usercom/floor ratios of both, and peak RSS.
# Wall time, CPU time and peak RSS come from GNU time (/usr/bin/time -f '%e %U %S %M').
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

events="${1:-${EVENTS:-1000000}}"
pairs="${PAIRS:-3}"
places="${PLACES-disk tmpfs}"
seed=42
bench_dir="${BENCH_DIR:-${TMPDIR:-/tmp}/usercom-bench}"
shm_dir="${SHM_DIR:-/dev/shm/usercom-bench}"
target_dir="${CARGO_TARGET_DIR:-target}"
gnu_time=/usr/bin/time

log() { printf '%s\n' "$*" >&2; }
die() { log "bench-ingest: $*"; exit 1; }

[[ "$events" =~ ^[1-9][0-9]*$ ]] || die "EVENTS must be a positive integer, got '$events'"
[[ "$pairs" =~ ^[1-9][0-9]*$ ]] || die "PAIRS must be a positive integer, got '$pairs'"
[[ -x "$gnu_time" ]] || die "GNU time is needed at $gnu_time (Debian: apt-get install time)"
for place in $places; do
    [[ "$place" == disk || "$place" == tmpfs ]] || die "PLACES may hold disk and tmpfs, got '$place'"
done

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
cat "$input" >/dev/null # warm the page cache, so no run pays for the first read

ingest_flags=(--json)
if "$usercom" ingest --help 2>/dev/null | grep -q -- '--quiet'; then
    ingest_flags+=(--quiet)
fi

# timed OUT_PREFIX COMMAND...: runs COMMAND under GNU time with stdout in OUT_PREFIX.out and
# stderr in OUT_PREFIX.err; leaves "wall user sys peak_rss_kib" in OUT_PREFIX.time and
# returns the command's exit status.
timed() {
    local prefix=$1
    shift
    local rc=0
    "$gnu_time" -f '%e %U %S %M' -o "$prefix.time.raw" "$@" >"$prefix.out" 2>"$prefix.err" || rc=$?
    # GNU time writes "Command exited with non-zero status N" before the numbers.
    tail -n 1 "$prefix.time.raw" >"$prefix.time"
    return "$rc"
}

# new_key DB: creates the database DB with a write key and prints the key.
new_key() {
    local key
    key=$("$usercom" --db "$1" keys create 2>"$logs/keys.err") ||
        die "usercom keys create failed: $(tail -n 5 "$logs/keys.err")"
    key="${key//[[:space:]]/}"
    [[ -n "$key" ]] || die "usercom keys create printed no key"
    printf '%s' "$key"
}

# ingest_timed OUT_PREFIX DB KEY INPUT [FLAGS...]: `usercom ingest` under timed; exit 1
# (some events rejected) is accepted, anything worse stops the benchmark.
ingest_timed() {
    local prefix=$1 db=$2 key=$3 input=$4 rc=0
    shift 4
    timed "$prefix" "$usercom" --db "$db" ingest "$input" --api-key "$key" \
        "${ingest_flags[@]}" "$@" || rc=$?
    ((rc <= 1)) || die "usercom ingest exited with $rc: $(tail -n 5 "$prefix.err")"
}

# The median of a space-separated list, for the awk summaries.
awk_median='
    function median(list,    n, a, i, j, t) {
        n = split(list, a, " ")
        for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t }
        return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
    }'

results=$(mktemp)
logs=$(mktemp -d)
trap 'rm -rf "$results" "$logs"' EXIT

for place in $places; do
    dir="$bench_dir"
    [[ "$place" == tmpfs ]] && dir="$shm_dir"
    mkdir -p "$dir"
    for pair in $(seq 1 "$pairs"); do
        run_dir=$(mktemp -d "$dir/run.XXXXXX")
        log "==> $place, pair $pair of $pairs: floor"
        timed "$logs/floor" "$floor" "$input" "$run_dir/floor.db" ||
            die "floor failed: $(tail -n 5 "$logs/floor.err")"
        grep -q '^floor: [0-9]* events\|^floor: [0-9]* rows' "$logs/floor.out" ||
            die "unexpected floor output: $(cat "$logs/floor.out")"
        echo "$place floor $pair $(cat "$logs/floor.time")" >>"$results"
        [[ "${KEEP_DBS:-0}" == 1 && "$pair" == "$pairs" ]] || rm -f "$run_dir"/floor.db*

        log "==> $place, pair $pair of $pairs: usercom"
        db="$run_dir/usercom.db"
        ingest_timed "$logs/usercom" "$db" "$(new_key "$db")" "$input"
        echo "$place usercom $pair $(cat "$logs/usercom.time")" >>"$results"
        if command -v jq >/dev/null && jq -e 'type == "object"' "$logs/usercom.out" >/dev/null 2>&1; then
            log "    $(jq -r '"received \(.received), applied \(.applied), rejected \(.rejected), duplicates \(.duplicates)"' "$logs/usercom.out")"
        fi
        if [[ "${KEEP_DBS:-0}" == 1 && "$pair" == "$pairs" ]]; then
            log "    databases kept in $run_dir"
        else
            rm -rf "$run_dir"
        fi
    done
done

awk -v lines="$input_lines" -v bytes="$input_bytes" -v seed="$seed" -v pairs="$pairs" 'BEGIN {
    printf "ingest benchmark: %d events, %.1f MB (%.0f bytes/line), seed %d, %d pairs per place\n",
        lines, bytes / 1e6, bytes / lines, seed, pairs }'
printf 'input: %s\n\n' "$input"
if [[ -s "$results" ]]; then
echo "runs (place, program, pair, wall s, user s, sys s, peak RSS KiB):"
sed 's/^/  /' "$results"
echo
# Medians per place and program, then one row per place.
awk -v lines="$input_lines" "$awk_median"'
    function ratio(a, b) { return b > 0 ? a / b : 0 }
    {
        key = $1 " " $2
        wall[key] = wall[key] " " $4
        cpu[key] = cpu[key] " " ($5 + $6)
        rss[key] = rss[key] " " $7
        if (!($1 in seen)) { seen[$1] = 1; order[++n] = $1 }
    }
    END {
        printf "| %-5s | %9s | %10s | %10s | %10s | %12s | %10s | %11s |\n", "place", "floor s", "usercom s", "ratio", "floor CPU s", "usercom CPU s", "CPU ratio", "usercom RSS"
        printf "|-------|-----------|------------|------------|-------------|---------------|------------|-------------|\n"
        for (i = 1; i <= n; i++) {
            p = order[i]
            fw = median(wall[p " floor"]); uw = median(wall[p " usercom"])
            fc = median(cpu[p " floor"]); uc = median(cpu[p " usercom"])
            ur = median(rss[p " usercom"])
            printf "| %-5s | %9.2f | %10.2f | %10.2f | %11.2f | %13.2f | %10.2f | %7.1f MiB |\n", p, fw, uw, ratio(uw, fw), fc, uc, ratio(uc, fc), ur / 1024
        }
        printf "\nmedians of the pairs; usercom events/s on disk and tmpfs: "
        for (i = 1; i <= n; i++) printf "%s%s %.0f", (i > 1 ? ", " : ""), order[i], ratio(lines, median(wall[order[i] " usercom"]))
        printf "\n"
    }' "$results"
fi

if [[ "${PROVENANCE_COST:-0}" == 1 ]]; then
    mkdir -p "$shm_dir"
    prov_results=$(mktemp)
    for pair in $(seq 1 "$pairs"); do
        for mode in with without; do
            run_dir=$(mktemp -d "$shm_dir/run.XXXXXX")
            db="$run_dir/usercom.db"
            extra=()
            [[ "$mode" == without ]] && extra=(--no-provenance)
            log "==> provenance cost, pair $pair of $pairs: usercom $mode provenance"
            ingest_timed "$logs/prov" "$db" "$(new_key "$db")" "$input" "${extra[@]}"
            echo "$mode $(cat "$logs/prov.time") $(stat -c %s "$db")" >>"$prov_results"
            rm -rf "$run_dir"
        done
    done
    echo
    echo "provenance cost on tmpfs (mode, wall s, user s, sys s, peak RSS KiB, database bytes):"
    sed 's/^/  /' "$prov_results"
    awk -v lines="$input_lines" "$awk_median"'
        { cpu[$1] = cpu[$1] " " ($3 + $4); size[$1] = size[$1] " " $6; rss[$1] = rss[$1] " " $5 }
        END {
            w = median(cpu["with"]); wo = median(cpu["without"])
            printf "\nCPU seconds, median: with provenance %.2f, without %.2f: +%.1f%%\n", w, wo, (w / wo - 1) * 100
            printf "peak RSS, median: with %.1f MiB, without %.1f MiB\n", median(rss["with"]) / 1024, median(rss["without"]) / 1024
            printf "database: with %.0f MB, without %.0f MB: %.0f bytes per event\n", median(size["with"]) / 1e6, median(size["without"]) / 1e6, (median(size["with"]) - median(size["without"])) / lines
        }' "$prov_results"
    rm -f "$prov_results"
fi

gz_files="${GZ_FILES:-0}"
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
    run_dir=$(mktemp -d "$bench_dir/run.XXXXXX")
    [[ "${KEEP_DBS:-0}" == 1 ]] || trap 'rm -rf "$results" "$logs" "$run_dir"' EXIT
    db2="$run_dir/backfill.db"
    key2=$(new_key "$db2")
    for run in backfill rerun rerun_no_resume; do
        extra=()
        [[ "$run" == rerun_no_resume ]] && extra=(--no-resume)
        log "==> usercom $run"
        ingest_timed "$run_dir/$run" "$db2" "$key2" "$folder" "${extra[@]}"
    done
    read -r bf_secs _ _ bf_kib <"$run_dir/backfill.time"
    read -r rr_secs _ _ rr_kib <"$run_dir/rerun.time"
    read -r nr_secs _ _ nr_kib <"$run_dir/rerun_no_resume.time"
    awk -v lines="$input_lines" -v n="$gz_files" -v gzb="$gz_bytes" \
        -v bs="$bf_secs" -v bk="$bf_kib" -v rs="$rr_secs" -v rk="$rr_kib" \
        -v ns="$nr_secs" -v nk="$nr_kib" '
        function ratio(a, b) { return b > 0 ? a / b : 0 }
        BEGIN {
            printf "\nback-fill: the same events as %d gzip files in a folder (%.1f MB compressed)\n\n",
                n, gzb / 1e6
            printf "%-26s %10s %9s %11s %14s\n", "", "events", "seconds", "events/s", "peak RSS MiB"
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
