#!/usr/bin/env bash
# Instructions the whole satpam service spends per Kafka event, counted by
# callgrind (user space, every thread: the workers, librdkafka's threads,
# the runtime), so that the service's overhead over the hot-path bench can
# be compared on a shared, noisy machine where CPU seconds cannot.
#
#   scripts/service-instructions.sh [SATPAM_BIN] [LOADGEN_BIN] [N]
#
# Defaults: target/release/satpam, target/release/satpam-loadgen, and
# N = 191843 (one pass of the hot-path bench's traffic: 200 accounts, 6 h,
# seed 11). Needs valgrind (Debian's valgrind) and the broker of
# scripts/broker.sh (started here on port 19392, stopped at the end).
#
# How: two `satpam-loadgen run --catch-up` runs, of N and 2N events, with
# satpam started under callgrind. What one event costs is the difference
# of the two totals over N, so start-up, rule compilation and shut-down
# cancel out. The /metrics server's share is taken out of both totals:
# the catch-up scrapes every 200 ms and under callgrind the run is ~50x
# longer, so it would count ~50x more scrapes per event than a real run.
# Kernel work (the sockets) is not counted.
#
# Compare with the bench's figure, counted the same way:
#   valgrind --tool=callgrind --toggle-collect='hotpath::hot_path*' \
#     target/release/deps/hotpath-<hash> --bench --profile-time 1 'hotpath/text$'
# (total over 191843 events).
set -euo pipefail

cd "$(dirname "$0")/.."
SATPAM="$(realpath "${1:-target/release/satpam}")"
LOADGEN="$(realpath "${2:-target/release/satpam-loadgen}")"
N="${3:-191843}"
PORT=19392
CORPORA="${SATPAM_CORPORA:-$(realpath ../shared/data/corpora 2>/dev/null || true)}"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/satpam-instructions.XXXXXX")"
export SATPAM_BROKER_DIR="$WORK/broker"

if ! command -v valgrind >/dev/null 2>&1; then
  echo "service-instructions: valgrind is missing (apt-get install -y valgrind)" >&2
  exit 2
fi

cat > "$WORK/satpam.toml" <<EOF
[engine]
reload_poll_ms = 0
[grpc]
listen = "127.0.0.1:0"
[metrics]
listen = "127.0.0.1:19393"
[kafka]
brokers = "127.0.0.1:$PORT"
group_id = "satpam-instructions"
[kafka.consumer]
"fetch.wait.max.ms" = "10"
[sinks]
jsonl = ""
[limits]
max_future_ms = 0
max_past_ms = 0
EOF

trap 'scripts/broker.sh stop >/dev/null 2>&1 || true' EXIT

# Inclusive instructions of the functions whose name ends with $2 in the
# callgrind file $1 (0 when absent).
inclusive() {
  callgrind_annotate --inclusive=yes --threshold=100 "$1" 2>/dev/null |
    awk -v f="$2" '{ line = $0; sub(/ *\[[^]]*\] *$/, "", line); sub(/ +$/, "", line) }
      substr(line, length(line) - length(f) + 1) == f { gsub(",", "", $1); if ($1 + 0 > best) best = $1 + 0 }
      END { print best + 0 }'
}

run() {
  local events="$1" out="$WORK/callgrind-$1.out"
  cat > "$WORK/satpam-under-callgrind" <<EOF
#!/usr/bin/env bash
exec valgrind --tool=callgrind --callgrind-out-file=$out "$SATPAM" "\$@"
EOF
  chmod +x "$WORK/satpam-under-callgrind"
  scripts/broker.sh stop >/dev/null 2>&1 || true
  scripts/broker.sh start "$PORT" >/dev/null
  "$LOADGEN" topics --brokers "127.0.0.1:$PORT" --partitions 4 >/dev/null
  echo "service-instructions: catch-up of $events events, satpam under callgrind (a minute or more)" >&2
  "$LOADGEN" run --target kafka --brokers "127.0.0.1:$PORT" \
    --metrics http://127.0.0.1:19393/metrics --consumer-property fetch.wait.max.ms=10 \
    --catch-up "$events" --accounts 200 --hours 6 --seed 11 --no-baseline \
    --satpam-config "$WORK/satpam.toml" --satpam-bin "$WORK/satpam-under-callgrind" \
    ${CORPORA:+--corpora "$CORPORA"} --json > "$WORK/report-$events.json" 2> "$WORK/loadgen-$events.log" ||
    { echo "service-instructions: the catch-up failed; see $WORK/loadgen-$events.log" >&2; exit 1; }
  local total metrics
  total=$(awk '/^summary:/ { print $2 }' "$out")
  metrics=$(inclusive "$out" 'axum::serve::handle_connection::{{closure}}::{{closure}}')
  echo "$total $metrics"
}

read -r t1 m1 < <(run "$N")
read -r t2 m2 < <(run "$((2 * N))")
per_event=$(( ((t2 - m2) - (t1 - m1)) / N ))
cat <<EOF
satpam: $SATPAM
events: $N and $((2 * N)) (catch-up, 4 partitions, --accounts 200 --hours 6 --seed 11)
instructions: $t1 and $t2 in all; /metrics server $m1 and $m2 (taken out)
per event: $per_event instructions (the difference over $N events)
files: $WORK
EOF
