#!/usr/bin/env bash
# Times `users show` and each `users list` filter (and the aggregates) on a benchmark
# database built from examples/gen_events.rs.
#
#   scripts/bench-queries.sh [--events N] [--dir DIR] [--runs R] [--rebuild] [--bin PATH]
#
# --bin times that usercom binary (an earlier build, to compare) instead of building
# this tree's release binary.
# The database (DIR/bench.db, default /tmp/usercom-bench) is built once and reused:
# a key, the typed custom attributes the generator sends (as a User.com admin would
# define them), then `ingest`. Timings use hyperfine when installed, else a loop with
# `date +%s.%N`; each command is run R times (default 10) after one warm-up run and the
# mean and slowest wall-clock times and the mean CPU time (user + system, hyperfine only:
# steadier than wall-clock on a busy machine) are reported, in milliseconds, as a markdown table
# (also written to DIR/results.md). Filters are timed twice: `--count` (the filter
# alone) and the default table (the filter, the sort, and the first page of 100 rows).
set -euo pipefail
cd "$(dirname "$0")/.."

events=1000000
dir=/tmp/usercom-bench
runs=10
rebuild=0
bin=
while [ $# -gt 0 ]; do
    case "$1" in
        --events) events="$2"; shift 2 ;;
        --dir) dir="$2"; shift 2 ;;
        --runs) runs="$2"; shift 2 ;;
        --rebuild) rebuild=1; shift ;;
        --bin) bin=$(realpath "$2"); shift 2 ;;
        -h|--help) sed -n '2,/^set -euo/{/^#/p}' "$0"; exit 0 ;;
        *) echo "unknown argument: $1 (see --help)" >&2; exit 2 ;;
    esac
done

if [ -z "$bin" ]; then
    cargo build --release --quiet --bin usercom
    bin="$PWD/target/release/usercom"
fi
gen="$PWD/target/release/examples/gen_events"
mkdir -p "$dir"
db="$dir/bench.db"
u() { "$bin" --db "$db" "$@"; }

if [ "$rebuild" = 1 ] || [ ! -s "$db" ]; then
    rm -f "$db" "$db-wal" "$db-shm"
    cargo build --release --quiet --example gen_events
    echo "Generating $events events..." >&2
    "$gen" --events "$events" --out "$dir/events.ndjson"
    key=$(u keys create --name bench)
    u attrs define custom_integer --type number >/dev/null
    u attrs define logins --type number >/dev/null
    u attrs define vip --type boolean >/dev/null
    u attrs define signup_date --type date >/dev/null
    echo "Ingesting..." >&2
    start=$(date +%s.%N)
    u ingest "$dir/events.ndjson" --api-key "$key" --quiet
    end=$(date +%s.%N)
    echo "Ingested in $(echo "$end - $start" | bc) s" >&2
fi

# A real user and company to look at: the most active ones.
user=$(u users list --sort page_views:desc --limit 1 --csv | sed -n 2p | cut -d, -f1)
company=$(u companies list --sort members:desc --limit 1 --csv | sed -n 2p | cut -d, -f1)
# The data's last day, for "the last 30 days" of it.
last=$(u events stats --by day --csv | tail -n 1 | cut -d, -f1)
since30=$(date -u -d "$last -29 days" +%F)
seen7=$(date -u -d "$last -6 days" +%F)

commands=(
    "users show $user"
    "users show $user --json"
    "users list --count --where 'custom_integer>4000'"
    "users list --where 'custom_integer>4000'"
    "users list --count --where 'country=Poland'"
    "users list --where 'country=Poland'"
    "users list --count --where 'vip=true'"
    "users list --count --where 'signup_date>=2025-01-01'"
    "users list --count --where 'email~gmail'"
    "users list --count --where 'phone is null'"
    "users list --count --did 'Order Completed'"
    "users list --did 'Order Completed'"
    "users list --count --did 'Order Completed' --since $since30"
    "users list --count --did 'Order Completed' --at-least 3"
    "users list --count --not-did 'Order Completed'"
    "users list --count --visited /pricing"
    "users list --visited /pricing"
    "users list --count --not-visited /pricing"
    "users list --count --did 'Order Completed' --since $since30 --not-visited /pricing"
    "users list --count --in-company $company"
    "users list --in-company $company"
    "users list --count --seen-since $seen7"
    "users list --seen-since $seen7"
    "users list --sort last_seen:desc --limit 20"
    "users list --sort custom_integer:desc --limit 20"
    "companies list --where 'employees>=1000'"
    "events stats"
    "events stats --by week"
    "events stats --by day --since $since30"
    "events stats --by user --limit 10"
    "pages stats"
    "pages stats --by month"
    "users list --ndjson"
)

counts=$(sqlite3 "$db" "SELECT (SELECT count(*) FROM events) || ' events, ' || (SELECT count(*) FROM pages) || ' page views, ' || (SELECT count(*) FROM users) || ' users, ' || (SELECT count(*) FROM companies) || ' companies'" 2>/dev/null || echo "?")
results="$dir/results.md"
{
    echo "Database: $db ($counts; $(du -h "$db" | cut -f1))"
    echo "Machine: $(nproc) CPUs, $(uname -sr); $runs runs each after a warm-up; times in ms"
    echo
    echo "| command | mean | max | CPU |"
    echo "|---|---:|---:|---:|"
} > "$results"

run_one() {
    local cmd="$1"
    if command -v hyperfine >/dev/null; then
        local json="$dir/hyperfine.json"
        hyperfine --shell=bash --warmup 1 --runs "$runs" --export-json "$json" \
            --output=null "$bin --db $db $cmd" >/dev/null 2>&1
        python3 - "$json" <<'EOF'
import json, sys
r = json.load(open(sys.argv[1]))["results"][0]
print(f"{r['mean'] * 1000:.1f} {max(r['times']) * 1000:.1f} {(r['user'] + r['system']) * 1000:.1f}")
EOF
    else
        eval "u $cmd" >/dev/null 2>&1
        local total=0 max=0 s e ms
        for _ in $(seq "$runs"); do
            s=$(date +%s.%N)
            eval "u $cmd" >/dev/null 2>&1
            e=$(date +%s.%N)
            ms=$(echo "($e - $s) * 1000" | bc)
            total=$(echo "$total + $ms" | bc)
            max=$(echo "if ($ms > $max) $ms else $max" | bc)
        done
        printf "%.1f %.1f -\n" "$(echo "$total / $runs" | bc -l)" "$max"
    fi
}

for cmd in "${commands[@]}"; do
    read -r mean max cpu < <(run_one "$cmd")
    printf '| `usercom %s` | %s | %s | %s |\n' "$cmd" "$mean" "$max" "$cpu" | tee -a "$results"
done
echo "Results: $results" >&2
