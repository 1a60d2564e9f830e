#!/usr/bin/env bash
# Issue 12's measurements of durable partition state, in one run on one
# machine (results: loadtest/results/<date>-fleet-state.md):
#
#  1. Throughput with the state topic (kafka.state_store = "kafka") against
#     none ("none"), alternated A/B/A/B: each round is a fresh set of topics
#     and a fresh satpam serve, and `satpam-loadgen run --target kafka` with
#     a drain of DRAIN events (a backlog produced as fast as possible and
#     timed while satpam works it off). The state is written every
#     STATE_INTERVAL_MS (default 5 s: six times the default's writes, so a
#     drain of a few seconds pays for several whole-partition checkpoints).
#  2. Restore: an instance that holds ACCOUNTS accounts on one partition
#     stops with SIGTERM (which writes the partition's state to the state
#     topic), a second starts in the same group and restores it; its log's
#     "state restored from the state topic" line gives the bytes, accounts,
#     read and decode time.
#
# Needs target/release/{satpam,satpam-loadgen} (cargo build --release) and
# scripts/broker.sh (Tansu). Usage: loadtest/fleet-state.sh [rounds]
# (0 rounds: the restore half only)
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${1:-2}
PORT=${PORT:-19392}
DRAIN=${DRAIN:-1500000}
ACCOUNTS=${ACCOUNTS:-100000}
# Event time per account in the restore half: 0.05 h is ~12 events each
# (1.2 M for 100k accounts), enough to hold every account in state. The
# generator's own sizing would give each account two hours (48 M events).
RESTORE_HOURS=${RESTORE_HOURS:-0.05}
STATE_INTERVAL_MS=${STATE_INTERVAL_MS:-5000}
SATPAM=target/release/satpam
LOADGEN=target/release/satpam-loadgen
work=$(mktemp -d)
export SATPAM_BROKER_DIR="$work/broker"
cleanup() {
  [ -n "${serve_pid:-}" ] && kill "$serve_pid" 2>/dev/null || true
  scripts/broker.sh stop >/dev/null 2>&1 || true
}
trap cleanup EXIT
scripts/broker.sh start "$PORT" >/dev/null
BROKERS=127.0.0.1:$PORT

# serve NAME STORE TOPIC-PREFIX: satpam serve on free ports in the background.
serve() {
  local name=$1 store=$2 prefix=$3
  cat > "$work/$name.toml" <<EOF
[engine]
reload_poll_ms = 0
[grpc]
listen = "127.0.0.1:50351"
[metrics]
listen = "127.0.0.1:9764"
[kafka]
brokers = "$BROKERS"
group_id = "$prefix.group"
events_topic = "$prefix.events"
signals_topic = "$prefix.signals"
dead_letter_topic = "$prefix.events.dlq"
audit_topic = ""
state_store = "$store"
state_interval_ms = $STATE_INTERVAL_MS
[kafka.consumer]
"fetch.wait.max.ms" = "10"
[sinks]
jsonl = ""
[audit]
path = ""
[limits]
max_future_ms = 0
max_past_ms = 0
EOF
  SATPAM_LOG=info,librdkafka=warn "$SATPAM" serve --config "$work/$name.toml" > "$work/$name.log" 2>&1 &
  serve_pid=$!
  for _ in $(seq 1 300); do
    curl -fsS http://127.0.0.1:9764/readyz >/dev/null 2>&1 && return
    sleep 0.1
  done
  echo "satpam ($name) did not become ready"; cat "$work/$name.log"; exit 1
}
stop() {
  kill -TERM "$serve_pid"
  wait "$serve_pid" || true
  serve_pid=""
}

echo "machine: $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg), $(date -u +%FT%TZ)"
echo "throughput: $ROUNDS rounds of kafka/none, drain $DRAIN events, state every $STATE_INTERVAL_MS ms"
for round in $(seq 1 "$ROUNDS"); do
  for store in kafka none; do
    prefix="fs-$round-$store"
    "$LOADGEN" topics --brokers "$BROKERS" --topic "$prefix.events" --signals-topic "$prefix.signals" --partitions 4 >/dev/null
    serve "$prefix" "$store" "$prefix"
    "$LOADGEN" run --target kafka --brokers "$BROKERS" --topic "$prefix.events" --signals-topic "$prefix.signals" \
      --metrics http://127.0.0.1:9764/metrics --consumer-property fetch.wait.max.ms=10 \
      --rate 20000 --duration 5s --drain-events "$DRAIN" --no-baseline --json > "$work/$prefix.json"
    rate=$(python3 -c 'import json,sys; print(round(json.load(open(sys.argv[1]))["drain_rate"]))' "$work/$prefix.json")
    echo "round $round, state_store = $store: drain $rate events/s"
    stop
  done
done

echo "restore: $ACCOUNTS accounts on one partition"
prefix="fs-restore"
"$LOADGEN" topics --brokers "$BROKERS" --topic "$prefix.events" --signals-topic "$prefix.signals" --partitions 1 >/dev/null
serve "$prefix-a" kafka "$prefix"
"$LOADGEN" run --target kafka --brokers "$BROKERS" --topic "$prefix.events" --signals-topic "$prefix.signals" \
  --metrics http://127.0.0.1:9764/metrics --consumer-property fetch.wait.max.ms=10 \
  --accounts "$ACCOUNTS" --hours "$RESTORE_HOURS" --rate 60000 --duration 20s --drain-events 0 \
  --no-baseline --json > "$work/$prefix.json"
curl -fsS http://127.0.0.1:9764/metrics | grep -E '^satpam_state_(entries|bytes)' || true
stop
serve "$prefix-b" kafka "$prefix"
# Ready answers before the group assigns the partition; the restore
# follows the assignment.
for _ in $(seq 1 1800); do
  grep -q "state restored from the state topic" "$work/$prefix-b.log" && break
  sleep 0.1
done
grep "state restored from the state topic" "$work/$prefix-b.log" | tail -1 \
  || { echo "no restore within 180 s"; tail -20 "$work/$prefix-b.log"; exit 1; }
curl -fsS http://127.0.0.1:9764/metrics | grep -E '^satpam_state_(entries|bytes)' || true
stop
echo "logs and JSON in $work"
trap - EXIT
cleanup
