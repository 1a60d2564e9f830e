#!/usr/bin/env bash
# A real Kafka-protocol broker for the integration tests and the load
# harness: Tansu (Apache-2.0, https://github.com/tansu-io/tansu), installed
# from crates.io when missing and started on loopback.
#
#   scripts/broker.sh install          install tansu into ~/.cargo/bin if missing (~15 min the first time)
#   scripts/broker.sh start [PORT]     start it on 127.0.0.1:PORT (default 19092), wait until it answers
#   scripts/broker.sh stop             stop the broker this script started
#   scripts/broker.sh status           print whether it runs
#
# Environment: SATPAM_BROKER_STORAGE (default memory://tansu/; e.g.
# sqlite:///$PWD/target/broker/tansu.db for a file-backed one: Tansu drops
# the first slash of the path, so an absolute path takes four),
# SATPAM_BROKER_DIR (pid and log files; default target/broker),
# SATPAM_BROKER_ADVERTISED (host:port advertised to clients in metadata;
# default the listener; e.g. the port of a TLS proxy in front of it),
# SATPAM_BROKER_ARGS (extra `tansu broker` arguments, e.g. --authentication).
#
# A known difference from Kafka: a fetch from an offset inside a record batch
# is answered with the batches that start after it (Kafka sends the batch
# that holds the offset), so a consumer resuming mid-batch never sees the rest
# of it. Test producers write one record per batch (satpam-testkit's
# producer_on); satpam counts such jumps in satpam_kafka_offset_gaps_total.
set -euo pipefail

cd "$(dirname "$0")/.."
DIR="${SATPAM_BROKER_DIR:-$PWD/target/broker}"
STORAGE="${SATPAM_BROKER_STORAGE:-memory://tansu/}"
TANSU_VERSION="0.6.0"
mkdir -p "$DIR"

tansu_bin() {
  if command -v tansu >/dev/null 2>&1; then command -v tansu; return; fi
  if [ -x "$HOME/.cargo/bin/tansu" ]; then echo "$HOME/.cargo/bin/tansu"; return; fi
  return 1
}

install() {
  if bin=$(tansu_bin); then
    echo "broker: tansu found at $bin"
    return
  fi
  echo "broker: installing tansu $TANSU_VERSION from crates.io (first time only; ~15 min on 2 cores)"
  cargo install tansu --version "$TANSU_VERSION" --locked --features dynostore,libsql
}

port_open() {
  (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && exec 3>&- 3<&-
}

start() {
  local port="${1:-19092}"
  install
  local bin; bin=$(tansu_bin)
  if [ -f "$DIR/pid" ] && kill -0 "$(cat "$DIR/pid")" 2>/dev/null; then
    echo "broker: already running (pid $(cat "$DIR/pid"))"
    return
  fi
  if port_open "$port"; then
    echo "broker: port $port is taken by another process" >&2
    exit 1
  fi
  echo "broker: starting tansu on 127.0.0.1:$port, storage $STORAGE, log $DIR/tansu.log"
  RUST_LOG="${RUST_LOG:-warn}" nohup "$bin" broker \
    --listener-url "tcp://127.0.0.1:$port" \
    --advertised-listener-url "tcp://${SATPAM_BROKER_ADVERTISED:-127.0.0.1:$port}" \
    --storage-engine "$STORAGE" \
    ${SATPAM_BROKER_ARGS:-} \
    >"$DIR/tansu.log" 2>&1 &
  echo $! >"$DIR/pid"
  for _ in $(seq 1 100); do
    if port_open "$port"; then
      echo "broker: ready on 127.0.0.1:$port (pid $(cat "$DIR/pid"))"
      return
    fi
    if ! kill -0 "$(cat "$DIR/pid")" 2>/dev/null; then
      echo "broker: tansu exited; its log:" >&2
      cat "$DIR/tansu.log" >&2
      exit 1
    fi
    sleep 0.2
  done
  echo "broker: tansu did not open port $port in 20 s" >&2
  exit 1
}

stop() {
  if [ -f "$DIR/pid" ]; then
    local pid; pid=$(cat "$DIR/pid")
    if kill "$pid" 2>/dev/null; then
      for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      kill -9 "$pid" 2>/dev/null || true
      echo "broker: stopped (pid $pid)"
    fi
    rm -f "$DIR/pid"
  else
    echo "broker: not running"
  fi
}

status() {
  if [ -f "$DIR/pid" ] && kill -0 "$(cat "$DIR/pid")" 2>/dev/null; then
    echo "broker: running (pid $(cat "$DIR/pid"))"
  else
    echo "broker: not running"
    return 1
  fi
}

case "${1:-}" in
  install) install ;;
  start) start "${2:-}" ;;
  stop) stop ;;
  status) status ;;
  *) sed -n '2,14p' "$0"; exit 2 ;;
esac
