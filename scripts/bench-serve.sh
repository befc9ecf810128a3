#!/usr/bin/env bash
# Load benchmark of `usercom serve`, in one command:
#
#   scripts/bench-serve.sh [--events N] [--singles N] [--batch N] [--single-connections N]
#                          [--batch-connections N] [--wrk-threads N] [--events-file FILE]
#                          [--work DIR]
#
# 1. builds usercom and the event generator (examples/gen_events.rs) in release mode and
#    generates N realistic Segment events (or takes --events-file);
# 2. measures `usercom ingest` on them, into a fresh database (events/s: the baseline);
# 3. starts `usercom serve` on a fresh database and drives it over loopback with wrk:
#    first single-event requests (POST /v1/identify, /v1/track, ... one event each),
#    then 100-event batches (POST /v1/batch) of all N events, every event sent exactly
#    once per load, over keep-alive connections (256 for single events, 64 for
#    batches; 2 wrk threads);
# 4. stops the server with SIGTERM and checks the database: every event answered 200 is
#    there, and the count of events in it equals what was acknowledged.
#
# The load tool is wrk (Debian's package), installed by this script when it is missing
# and it runs as root or may use sudo without a password (`apt-get update && apt-get
# install -y wrk`). Why wrk: the load
# tool shares the 2 cores with the server, and wrk (C, one epoll loop per thread, each
# request formatted once, up front, by the Lua script below) is cheap: in a system-wide
# profile of the single-event load it took 4% of the CPU samples and the server 25%,
# where a client on hyper/tokio would spend about what the server's HTTP side spends
# per request. Its Lua hook sends each event exactly once, which tools that replay one
# body (oha, ab) cannot. While the load runs, the script waits with shell builtins
# only (no process started per poll).
#
# Prints requests/s, events/s, p50/p99 latency and errors for both loads, and the batch
# events/s as a share of `usercom ingest`'s. Exits non-zero if an event is lost or a
# request failed. Needs: cargo, python3, wrk (installed if missing, as above). Only
# loopback is used.
set -euo pipefail

EVENTS=200000
SINGLES=60000
BATCH=100
SINGLE_CONNECTIONS=256
BATCH_CONNECTIONS=64
WRK_THREADS=2
EVENTS_FILE=""
WORK=""
while [ $# -gt 0 ]; do
    case "$1" in
        --events) EVENTS="$2"; shift 2 ;;
        --singles) SINGLES="$2"; shift 2 ;;
        --batch) BATCH="$2"; shift 2 ;;
        --single-connections) SINGLE_CONNECTIONS="$2"; shift 2 ;;
        --batch-connections) BATCH_CONNECTIONS="$2"; shift 2 ;;
        --wrk-threads) WRK_THREADS="$2"; shift 2 ;;
        --events-file) EVENTS_FILE="$2"; shift 2 ;;
        --work) WORK="$2"; shift 2 ;;
        -h|--help) sed -n '2,32p' "$0"; exit 0 ;;
        *) echo "bench-serve: unknown argument $1 (see --help)" >&2; exit 2 ;;
    esac
done

cd "$(dirname "$0")/.."
ROOT=$(pwd)
if ! command -v wrk >/dev/null; then
    # A fresh machine: Debian's wrk, installed here when we may (as root, or through
    # sudo when it asks for no password).
    as_root=()
    if [ "$(id -u)" -ne 0 ]; then
        if command -v sudo >/dev/null && sudo -n true 2>/dev/null; then as_root=(sudo -n); else as_root=(false); fi
    fi
    if [ "${as_root[0]:-}" != false ] && command -v apt-get >/dev/null; then
        echo "bench-serve: installing wrk (apt-get update && apt-get install -y wrk)..." >&2
        "${as_root[@]}" apt-get update -qq >/dev/null || true
        "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null || true
    fi
    command -v wrk >/dev/null || {
        echo "bench-serve: wrk is missing and could not be installed: run (as root)" \
             "apt-get update && apt-get install -y wrk" >&2
        exit 2
    }
fi
command -v python3 >/dev/null || { echo "bench-serve: python3 is missing" >&2; exit 2; }
for c in "$SINGLE_CONNECTIONS" "$BATCH_CONNECTIONS"; do
    [ $((c % WRK_THREADS)) -eq 0 ] || { echo "bench-serve: connections must be a multiple of --wrk-threads" >&2; exit 2; }
done
if [ -z "$WORK" ]; then
    WORK=$(mktemp -d /tmp/usercom-bench.XXXXXX)
else
    mkdir -p "$WORK"
fi
echo "bench-serve: working in $WORK" >&2

shopt -s nullglob
# A FIFO nobody writes to: `read -t` on it sleeps without starting a process.
mkfifo "$WORK/tick" 2>/dev/null || [ -p "$WORK/tick" ]
exec {TICK}<>"$WORK/tick"
SERVER_PID=""
WRK_PID=""
cleanup() {
    [ -n "$WRK_PID" ] && kill "$WRK_PID" 2>/dev/null || true
    [ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null || true
}
trap cleanup EXIT

echo "bench-serve: building (release)..." >&2
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
if [ -z "$EVENTS_FILE" ]; then
    cargo build --release --quiet --bin usercom --example gen_events
    EVENTS_FILE="$WORK/events.ndjson"
    "$TARGET/release/examples/gen_events" --events "$EVENTS" --out "$EVENTS_FILE"
else
    cargo build --release --quiet --bin usercom
fi
USERCOM="$TARGET/release/usercom"

now() { date +%s.%N; }

# ---- baseline: usercom ingest on the same events ----
rm -f "$WORK"/cli.db*
CLI_KEY=$("$USERCOM" --db "$WORK/cli.db" keys create 2>/dev/null)
started=$(now)
set +e
"$USERCOM" --db "$WORK/cli.db" ingest "$EVENTS_FILE" --api-key "$CLI_KEY" --quiet --json \
    --rejects "$WORK/cli-rejects.ndjson" > "$WORK/cli-summary.json" 2> "$WORK/cli.log"
code=$?
set -e
ended=$(now)
if [ $code -gt 1 ]; then
    echo "bench-serve: usercom ingest failed:" >&2; cat "$WORK/cli.log" >&2; exit 1
fi

# ---- request files: every valid event once, split over wrk threads ----
python3 - "$EVENTS_FILE" "$WORK" "$SINGLES" "$BATCH" "$WRK_THREADS" "$WRK_THREADS" <<'PY'
import json, os, sys
events_file, work, singles, batch = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
single_threads, batch_threads = int(sys.argv[5]), int(sys.argv[6])
rejected = set()
rejects = os.path.join(work, "cli-rejects.ndjson")
if os.path.exists(rejects):
    for line in open(rejects):
        rejected.add(json.loads(line)["line"])
events = []
with open(events_file, "rb") as f:
    for number, line in enumerate(f, 1):
        line = line.strip()
        if line and number not in rejected:
            events.append(line.decode())
# Singles: the first N events, on a fresh database. Batches: every event, on another
# fresh database, the very events `usercom ingest` was measured on.
single, rest = events[:singles], events
def spread(name, lines, threads):
    files = [open(os.path.join(work, f"{name}.{i}"), "w") for i in range(threads)]
    for n, line in enumerate(lines):
        files[n % threads].write(line + "\n")
    for f in files:
        f.close()
single_lines = []
for text in single:
    kind = json.loads(text).get("type", "track")
    single_lines.append(f"/v1/{kind}\t{text}")
spread("single", single_lines, single_threads)
batch_lines = ["/v1/batch\t{\"batch\":[" + ",".join(rest[i:i + batch]) + "]}"
               for i in range(0, len(rest), batch)]
spread("batch", batch_lines, batch_threads)
json.dump({"events": len(events), "rejected_by_ingest": len(rejected),
           "single_events": len(single), "batch_events": len(rest),
           "batch_requests": len(batch_lines)}, open(os.path.join(work, "plan.json"), "w"))
PY

cat > "$WORK/bench.lua" <<'LUA'
-- Each wrk thread posts the requests of its own file, each once, over its connections.
-- A connection asks for its next request only once its previous answer arrived; when
-- none is left, delay() parks it (wrk calls delay() after each answer), and when all
-- of a thread's connections are parked, every one of its requests was answered: the
-- thread marks itself done and stops. (No response() callback: wrk counts non-2xx
-- answers itself, and stays cheap.) Args: file prefix, Authorization header, done
-- directory, connections per thread.
local counter = 0
local threads = {}

function setup(thread)
    thread:set("id", counter)
    counter = counter + 1
    table.insert(threads, thread)
end

function init(args)
    local prefix = args[1]
    local auth = args[2]
    done_dir = args[3]
    connections = tonumber(args[4])
    reqs = {}
    for line in io.lines(prefix .. "." .. id) do
        local tab = line:find("\t", 1, true)
        reqs[#reqs + 1] = wrk.format("POST", line:sub(1, tab - 1),
            { ["Authorization"] = auth, ["Content-Type"] = "application/json" },
            line:sub(tab + 1))
    end
    sent, total, parked = 0, #reqs, 0
    -- wrk calls request() once on thread 0 before it starts, to check the script: that
    -- call must not use up a request.
    checking = id == 0
end

function delay()
    if sent < total then return 0 end
    parked = parked + 1
    if parked == connections then
        local f = io.open(done_dir .. "/" .. id, "w")
        f:close()
        wrk.thread:stop()
    end
    return 3600000
end

function request()
    if checking then
        checking = false
        return reqs[1] or wrk.format("GET", "/health")
    end
    if sent < total then
        sent = sent + 1
        return reqs[sent]
    end
    -- Another connection took the last one meanwhile.
    return wrk.format("GET", "/health")
end

function done(summary, latency, requests)
    local sent_total = 0
    for _, t in ipairs(threads) do
        sent_total = sent_total + t:get("sent")
    end
    io.write(string.format("RESULT sent %d answered %d failed %d duration_us %d p50_us %d "
        .. "p99_us %d max_us %d socket_errors %d\n", sent_total, summary.requests,
        summary.errors.status, summary.duration, latency:percentile(50),
        latency:percentile(99), latency.max,
        summary.errors.connect + summary.errors.read + summary.errors.write
        + summary.errors.timeout))
end
LUA

# Runs one load: $1 name (single|batch), $2 connections. Leaves $WORK/$1.result.
run_load() {
    local name=$1 connections=$2
    local db="$WORK/$name.db"
    rm -f "$db"*
    local key
    key=$("$USERCOM" --db "$db" keys create 2>/dev/null)
    local auth
    auth="Basic $(printf '%s:' "$key" | base64 -w0)"
    "$USERCOM" --db "$db" serve --listen 127.0.0.1:0 --json \
        > "$WORK/$name.server.json" 2> "$WORK/$name.server.log" &
    SERVER_PID=$!
    local addr=""
    for _ in $(seq 1 200); do
        # The first line on stdout: `listening on http://ADDR:PORT`.
        addr=$(sed -n '1s/^listening on http:\/\/\([^ ]*\).*/\1/p' "$WORK/$name.server.json" 2>/dev/null || true)
        [ -n "$addr" ] && break
        sleep 0.05
    done
    [ -n "$addr" ] || { echo "bench-serve: the server did not start" >&2; cat "$WORK/$name.server.log" >&2; exit 1; }
    rm -rf "$WORK/$name.done" && mkdir "$WORK/$name.done"
    wrk -t "$WRK_THREADS" -c "$connections" -d 600s --timeout 30s --latency \
        -s "$WORK/bench.lua" "http://$addr" -- "$WORK/$name" "$auth" "$WORK/$name.done" \
        $((connections / WRK_THREADS)) \
        > "$WORK/$name.wrk.txt" 2> "$WORK/$name.wrk.err" &
    WRK_PID=$!
    # Every thread done: stop wrk's clock (it would otherwise wait out -d). Polled
    # every 10 ms with shell builtins only (no process started per poll: the load
    # shares the CPU with the server).
    local finished=()
    while :; do
        finished=("$WORK/$name.done"/*)
        [ "${#finished[@]}" -lt "$WRK_THREADS" ] || break
        kill -0 "$WRK_PID" 2>/dev/null || break
        read -r -t 0.01 -u "$TICK" || true
    done
    kill -INT "$WRK_PID" 2>/dev/null || true
    wait "$WRK_PID" || true
    WRK_PID=""
    kill -TERM "$SERVER_PID"
    local server_code=0
    wait "$SERVER_PID" || server_code=$?
    SERVER_PID=""
    echo "$server_code" > "$WORK/$name.server.code"
    grep '^RESULT' "$WORK/$name.wrk.txt" > "$WORK/$name.result" || {
        echo "bench-serve: wrk gave no result:" >&2; cat "$WORK/$name.wrk.txt" "$WORK/$name.wrk.err" >&2; exit 1; }
}

echo "bench-serve: single-event requests ($SINGLE_CONNECTIONS connections)..." >&2
run_load single "$SINGLE_CONNECTIONS"
echo "bench-serve: $BATCH-event batches ($BATCH_CONNECTIONS connections)..." >&2
run_load batch "$BATCH_CONNECTIONS"

python3 - "$WORK" "$started" "$ended" "$BATCH" <<'PY'
import hashlib, json, os, sqlite3, sys
work, started, ended, batch = sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4])
plan = json.load(open(os.path.join(work, "plan.json")))
cli = json.load(open(os.path.join(work, "cli-summary.json")))
cli_seconds = ended - started
cli_rate = cli["received"] / cli_seconds
APPLIED = {"identify", "track", "page", "group"}

def expected_ids(name):
    """messageIds of every applicable event the load sent, read back from its files."""
    ids, events, n = set(), 0, 0
    while os.path.exists(os.path.join(work, f"{name}.{n}")):
        for line in open(os.path.join(work, f"{name}.{n}")):
            body = json.loads(line.split("\t", 1)[1])
            items = body["batch"] if name == "batch" else [body]
            for e in items:
                events += 1
                if e.get("type") in APPLIED and e.get("messageId"):
                    ids.add(str(e["messageId"]))
        n += 1
    return ids, events

failures = []
print(f"usercom ingest (baseline): {cli['received']} events in {cli_seconds:.2f}s = "
      f"{cli_rate:,.0f} events/s (applied {cli['applied']}, rejected {cli['rejected']}, "
      f"duplicates {cli['duplicates']})")
rates = {}
for name in ["single", "batch"]:
    r = open(os.path.join(work, f"{name}.result")).read().split()
    res = {r[i]: int(r[i + 1]) for i in range(1, len(r) - 1, 2)}
    seconds = res["duration_us"] / 1e6
    ids, events = expected_ids(name)
    db = sqlite3.connect(os.path.join(work, f"{name}.db"))
    # messageIds are remembered by the first 16 bytes of their SHA-256.
    stored = {bytes(row[0]) for row in db.execute("SELECT key FROM message_keys")}
    ids = {hashlib.sha256(i.encode()).digest()[:16] for i in ids}
    server_code = int(open(os.path.join(work, f"{name}.server.code")).read())
    # stdout: the `listening on` line, then the JSON summary.
    report = json.loads(open(os.path.join(work, f"{name}.server.json")).read().split("\n", 1)[1])
    # wrk also counts the few GET /health a connection sends when another took the last
    # request.
    requests = res["sent"]
    if res["answered"] < requests:
        failures.append(f"{name}: {requests} requests sent, {res['answered']} answered")
    lost = len(ids - stored)
    extra = len(stored - ids)
    errors = res["failed"] + res["socket_errors"]
    rates[name] = events / seconds
    label = "single-event requests" if name == "single" else f"{batch}-event batches"
    print(f"{label}: {requests} requests, {events} events in {seconds:.2f}s: "
          f"{requests / seconds:,.0f} requests/s, {events / seconds:,.0f} events/s, "
          f"latency p50 {res['p50_us'] / 1000:.2f} ms, p99 {res['p99_us'] / 1000:.2f} ms, "
          f"max {res['max_us'] / 1000:.1f} ms; errors {errors} (non-200 {res['failed']}, "
          f"socket {res['socket_errors']})")
    print(f"  database: {len(stored)} events stored, {len(ids)} distinct applicable events "
          f"acknowledged; lost {lost}, unexpected {extra}; server exit {server_code}, "
          f"{report['groups']} group commits ({report['received'] / max(report['groups'], 1):.1f} "
          f"events each)")
    if errors:
        failures.append(f"{name}: {errors} errors")
    if lost or extra:
        failures.append(f"{name}: {lost} lost, {extra} unexpected")
    if server_code != 0:
        failures.append(f"{name}: server exit {server_code}")
share = rates["batch"] / cli_rate
print(f"batch events/s vs usercom ingest: {rates['batch']:,.0f} / {cli_rate:,.0f} = {share:.0%}")
if failures:
    print("FAILED: " + "; ".join(failures))
    sys.exit(1)
PY
