#!/usr/bin/env bash
# Server time of the web UI's pages and of the read API's answers to the same queries
# on the benchmark database (1,000,000 events by default), as `usercom serve` reports
# it in each answer's `Server-Timing` header.
#
#   scripts/bench-ui.sh [--dir DIR] [--runs R] [--events N] [--bin PATH]
#
# --bin times that usercom binary (an earlier build, to compare) instead of building
# this tree's release binary.
# The database (DIR/bench.db, default /tmp/usercom-bench) is the one
# scripts/bench-queries.sh builds (and times the same queries on the CLI); it is built
# with that script when missing. The read API is asked with an admin key, created once
# and kept in DIR/admin.key. Each page or answer is fetched once to warm up, then R
# times (default 10); the mean and slowest server times, and the mean time curl took
# for the whole answer (`time_total`, transfer included), are printed in milliseconds
# as a markdown table (also written to DIR/ui-results.md). Targets: the users list's
# first page, a profile with its timeline and a company page under 200 ms (one user or
# company through the API: 20 ms, as `users show`); filtered lists under 1 s and stats
# under 0.5 s.
set -euo pipefail
cd "$(dirname "$0")/.."

dir=/tmp/usercom-bench
runs=10
events=1000000
bin=
while [ $# -gt 0 ]; do
    case "$1" in
        --dir) dir="$2"; shift 2 ;;
        --runs) runs="$2"; shift 2 ;;
        --events) events="$2"; shift 2 ;;
        --bin) bin=$(realpath "$2"); shift 2 ;;
        -h|--help) sed -n '2,/^set -euo/{/^#/p}' "$0"; exit 0 ;;
        *) echo "unknown argument: $1 (see --help)" >&2; exit 2 ;;
    esac
done

db="$dir/bench.db"
if [ ! -s "$db" ]; then
    scripts/bench-queries.sh --dir "$dir" --events "$events" --runs 1 >&2
fi
if [ -z "$bin" ]; then
    cargo build --release --quiet --bin usercom
    bin="$PWD/target/release/usercom"
fi
u() { "$bin" --db "$db" "$@"; }

user=$(u users list --sort page_views:desc --limit 1 --csv | sed -n 2p | cut -d, -f1)
company=$(u companies list --sort members:desc --limit 1 --csv | sed -n 2p | cut -d, -f1)
last=$(u events stats --by day --csv | tail -n 1 | cut -d, -f1)
since30=$(date -u -d "$last -29 days" +%F)

out=$(mktemp)
"$bin" --db "$db" serve --listen 127.0.0.1:0 >"$out" 2>/dev/null &
server=$!
trap 'kill "$server" 2>/dev/null || true; rm -f "$out"' EXIT
for _ in $(seq 100); do
    [ -s "$out" ] && break
    sleep 0.1
done
base=$(head -n 1 "$out" | sed 's/^listening on //')

if [ ! -s "$dir/admin.key" ]; then
    u keys create --admin --name bench-read >"$dir/admin.key"
fi
key=$(cat "$dir/admin.key")

enc() { python3 -c 'import sys, urllib.parse; print(urllib.parse.quote(sys.argv[1], safe=""))' "$1"; }
pages=(
    "users list, first page|/ui/users"
    "profile with timeline|/ui/users/$(enc "$user")"
    "company page|/ui/companies/$(enc "$company")"
    "users where country=Poland|/ui/users?where=$(enc country=Poland)"
    "users did Order Completed in 30 days|/ui/users?did=$(enc 'Order Completed')&since=$since30"
    "... and not visited /pricing|/ui/users?did=$(enc 'Order Completed')&since=$since30&not_visited=$(enc /pricing)"
    "companies list|/ui/companies"
    "events stats (by name, by week)|/ui/events?period=week"
    "events stats, 30 days by day|/ui/events?since=$since30"
    "page views stats (by name, day, top URLs)|/ui/pages"
    "rejections|/ui/rejections"
    "settings|/ui/settings"
    "API: users, first page|/v1/users"
    "API: one user with recent activity|/v1/users/$(enc "$user")"
    "API: one company|/v1/companies/$(enc "$company")"
    "API: users where country=Poland|/v1/users?where=$(enc country=Poland)"
    "API: users did Order Completed in 30 days|/v1/users?did=$(enc 'Order Completed')&since=$since30"
    "API: ... and not visited /pricing|/v1/users?did=$(enc 'Order Completed')&since=$since30&not_visited=$(enc /pricing)"
    "API: users visited /pricing|/v1/users?visited=$(enc /pricing)"
    "API: users sorted by custom_integer|/v1/users?sort=$(enc custom_integer:desc)&limit=20"
    "API: every user as ndjson|/v1/users?limit=0&format=ndjson"
    "API: companies|/v1/companies"
    "API: events stats by name|/v1/stats/events"
    "API: events stats by week|/v1/stats/events?by=week"
    "API: events stats, 30 days by day|/v1/stats/events?by=day&since=$since30"
    "API: events stats by user|/v1/stats/events?by=user&limit=10"
    "API: page views stats by URL|/v1/stats/pages"
    "API: page views stats by name|/v1/stats/pages?by=name"
    "API: page views stats by month|/v1/stats/pages?by=month"
)

{
    echo "| page or answer | mean ms | max ms | curl total ms |"
    echo "| --- | ---: | ---: | ---: |"
    for entry in "${pages[@]}"; do
        name=${entry%%|*}
        path=${entry#*|}
        auth=()
        case "$path" in /v1/*) auth=(-u "$key:") ;; esac
        times=()
        for i in $(seq 0 "$runs"); do
            # The server's time, then curl's total.
            t=$(curl -s -o /dev/null -D - -w 'total %{time_total}\n' "${auth[@]}" "$base$path" |
                tr -d '\r' | sed -n 's/^server-timing: app;dur=//Ip; s/^total //p' | paste -sd' ')
            [ "$i" -gt 0 ] && times+=("$t")
        done
        printf '%s\n' "${times[@]}" | awk -v n="$name" \
            '{s+=$1; c+=$2; if ($1>m) m=$1}
             END {printf "| %s | %.1f | %.1f | %.1f |\n", n, s/NR, m, c*1000/NR}'
    done
} | tee "$dir/ui-results.md"
