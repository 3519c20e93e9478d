#!/usr/bin/env bash
# Single-node Apache Kafka 4.x broker (KRaft combined mode) on 127.0.0.1 for
# integration tests, run from Maven Central jars (no tarball, no Docker).
#
#   scripts/services/kafka.sh up            start (idempotent) and wait until it answers metadata
#   scripts/services/kafka.sh down [--wipe] stop our broker (saved PID only); --wipe also removes data/
#   scripts/services/kafka.sh status        exit 0 if our broker runs, 3 if not
#   scripts/services/kafka.sh logs [-f]     last 100 lines of the broker log (-f: follow)
#
# Environment:
#   BACKLOT_SERVICES_DIR           state root (default: <repo root>/.services); state in ./kafka
#   BACKLOT_KAFKA_PORT             client listener port (default 9092)
#   BACKLOT_KAFKA_CONTROLLER_PORT  KRaft controller port (default 9093)
#   BACKLOT_KAFKA_HEAP             JVM heap options (default "-Xms256m -Xmx512m")
#   BACKLOT_KAFKA_READY_TIMEOUT    seconds to wait for readiness (default 90)
#   BACKLOT_KAFKA_STOP_TIMEOUT     seconds to wait for exit after SIGTERM (default 30)
#
# Needs java 17+, mvn (first run / pom change only) and kcat (readiness check;
# falls back to a raw ApiVersions probe with node when kcat is missing).
set -euo pipefail

SCRIPT_DIR=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)
REPO_ROOT=$(cd -- "$SCRIPT_DIR/../.." && pwd)
POM="$SCRIPT_DIR/kafka/pom.xml"
LOG4J_CONF="$SCRIPT_DIR/kafka/log4j2.properties"

HOST=127.0.0.1
PORT=${BACKLOT_KAFKA_PORT:-9092}
CONTROLLER_PORT=${BACKLOT_KAFKA_CONTROLLER_PORT:-9093}
HEAP=${BACKLOT_KAFKA_HEAP:--Xms256m -Xmx512m}
READY_TIMEOUT=${BACKLOT_KAFKA_READY_TIMEOUT:-90}
STOP_TIMEOUT=${BACKLOT_KAFKA_STOP_TIMEOUT:-30}

SERVICES_DIR=${BACKLOT_SERVICES_DIR:-$REPO_ROOT/.services}
[[ $SERVICES_DIR == /* ]] || SERVICES_DIR=$PWD/$SERVICES_DIR # absolute: used in server.properties
STATE_DIR="$SERVICES_DIR/kafka"
LIBS_DIR="$STATE_DIR/libs"
LIBS_STAMP="$LIBS_DIR/.pom.sha256"
DATA_DIR="$STATE_DIR/data"
PROPS="$STATE_DIR/server.properties"
LOG_FILE="$STATE_DIR/kafka.log"
PID_FILE="$STATE_DIR/kafka.pid"

log() { printf 'kafka: %s\n' "$*" >&2; }
die() {
  log "error: $*"
  exit 1
}

# --- process helpers ------------------------------------------------------

# PID from the pid file, or nothing.
saved_pid() {
  local pid=""
  if [[ -f $PID_FILE ]]; then read -r pid <"$PID_FILE" || true; fi
  [[ $pid =~ ^[0-9]+$ ]] && printf '%s\n' "$pid"
  return 0
}

# True if PID is alive. A zombie counts as dead: the detached broker is
# reparented, and its new parent may be slow to reap it.
is_alive() {
  local state
  kill -0 "$1" 2>/dev/null || return 1
  state=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) || return 1
  [[ $state != Z ]]
}

# True if PID is alive and is our broker, i.e. a kafka.Kafka process started
# with our server.properties (guards against PID reuse).
is_our_broker() {
  local pid=$1 cmdline
  is_alive "$pid" || return 1
  cmdline=$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null) || return 1
  [[ $cmdline == *kafka.Kafka* && $cmdline == *"$PROPS"* ]]
}

# PID of our running broker, or fail.
running_pid() {
  local pid
  pid=$(saved_pid)
  [[ -n $pid ]] && is_our_broker "$pid" && printf '%s\n' "$pid"
}

# True if something accepts TCP connections on 127.0.0.1:$1.
port_open() {
  (exec 3<>"/dev/tcp/$HOST/$1") 2>/dev/null
}

# True if a Kafka broker on $PORT answers a metadata request with >= 1 broker.
answers_metadata() {
  # Probe the port first: kcat (librdkafka) backs off exponentially on refused connections.
  port_open "$PORT" || return 1
  if command -v kcat >/dev/null 2>&1; then
    # All-topics metadata: never `-t <name>`, which would auto-create that topic.
    local out
    out=$(kcat -L -b "$HOST:$PORT" -m 3 2>/dev/null) || return 1
    grep -Eq '^ *[1-9][0-9]* brokers:' <<<"$out"
  elif command -v node >/dev/null 2>&1; then
    # Fallback: raw ApiVersions v0 request (api_key 18), expect error_code 0.
    node -e '
      const s = require("net").connect(+process.argv[1], process.argv[2]);
      const req = Buffer.from([0,0,0,10, 0,18, 0,0, 0,0,0,1, 0xff,0xff]);
      let buf = Buffer.alloc(0);
      s.setTimeout(3000, () => process.exit(1));
      s.on("error", () => process.exit(1));
      s.on("connect", () => s.write(req));
      s.on("data", (d) => {
        buf = Buffer.concat([buf, d]);
        if (buf.length >= 10) process.exit(buf.readInt32BE(4) === 1 && buf.readInt16BE(8) === 0 ? 0 : 1);
      });
    ' "$PORT" "$HOST"
  else
    die "neither kcat nor node is installed; install kcat (apt-get install -y kcat)"
  fi
}

# --- setup ----------------------------------------------------------------

# Copy the runtime classpath into libs/ unless it matches the current pom.
fetch_libs() {
  local want have=""
  want=$(sha256sum "$POM" | awk '{print $1}')
  if [[ -f $LIBS_STAMP ]]; then read -r have <"$LIBS_STAMP" || true; fi
  [[ $want == "$have" ]] && return 0

  command -v mvn >/dev/null 2>&1 || die "mvn is required to fetch the Kafka jars"
  log "fetching jars from $POM into $LIBS_DIR"
  local tmp="$LIBS_DIR.tmp" mvn_log="$STATE_DIR/mvn.log"
  rm -rf -- "$tmp"
  # Output goes to mvn.log (maven 3.8 -q still prints colour codes); shown on failure.
  if ! mvn -q -B -Dstyle.color=never -f "$POM" dependency:copy-dependencies \
    -DincludeScope=runtime -DoutputDirectory="$tmp" >"$mvn_log" 2>&1; then
    cat -- "$mvn_log" >&2
    rm -rf -- "$tmp"
    die "mvn dependency:copy-dependencies failed (log: $mvn_log)"
  fi
  printf '%s\n' "$want" >"$tmp/.pom.sha256"
  rm -rf -- "$LIBS_DIR"
  mv -- "$tmp" "$LIBS_DIR" # swap in whole, so an interrupted fetch is redone
}

# Regenerated on every `up`, so port changes apply. The static quorum style
# (controller.quorum.voters, format without --standalone) keeps the controller
# endpoint out of the formatted data, so data/ survives a port change.
write_props() {
  cat >"$PROPS" <<EOF
# Generated by scripts/services/kafka.sh; edits are overwritten on 'up'.
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@$HOST:$CONTROLLER_PORT
listeners=PLAINTEXT://$HOST:$PORT,CONTROLLER://$HOST:$CONTROLLER_PORT
advertised.listeners=PLAINTEXT://$HOST:$PORT
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs=$DATA_DIR

# Single node: every internal topic has one replica, and few partitions
# (default 50) so that their creation on first use is quick.
offsets.topic.replication.factor=1
offsets.topic.num.partitions=3
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=3
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
share.coordinator.state.topic.num.partitions=3
default.replication.factor=1
min.insync.replicas=1

# Fast, predictable tests.
num.partitions=3
auto.create.topics.enable=true
delete.topic.enable=true
group.initial.rebalance.delay.ms=0
num.network.threads=2
num.io.threads=4
log.retention.hours=24
EOF
}

java_cmd() {
  local heap
  read -r -a heap <<<"$HEAP"
  JAVA=(java "${heap[@]}" -XX:+UseG1GC -XX:MaxGCPauseMillis=20
    -Djava.awt.headless=true "-Dlog4j2.configurationFile=$LOG4J_CONF"
    -cp "$LIBS_DIR/*")
}

# A Kafka Uuid as `StorageTool random-uuid` prints it: 16 random bytes,
# base64url without padding, not starting with '-' (saves a JVM start).
random_cluster_id() {
  local id
  while :; do
    id=$(head -c 16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=')
    [[ $id != -* && ${#id} -eq 22 ]] && break
  done
  printf '%s\n' "$id"
}

format_storage() {
  [[ -f $DATA_DIR/meta.properties ]] && return 0
  local cluster_id
  java_cmd
  mkdir -p -- "$DATA_DIR"
  cluster_id=$(random_cluster_id)
  log "formatting $DATA_DIR (cluster id $cluster_id)"
  if ! "${JAVA[@]}" kafka.tools.StorageTool format -t "$cluster_id" -c "$PROPS" >>"$LOG_FILE" 2>&1; then
    print_log_tail
    die "storage format failed"
  fi
}

# Poll until the broker answers metadata; fail early if the process dies.
wait_ready() {
  local pid=$1 deadline=$((SECONDS + READY_TIMEOUT))
  while ((SECONDS < deadline)); do
    answers_metadata && return 0
    is_alive "$pid" || {
      log "error: broker process $pid exited during startup"
      return 1
    }
    sleep 0.5
  done
  log "error: broker did not answer metadata on $HOST:$PORT within ${READY_TIMEOUT}s"
  return 1
}

print_log_tail() {
  [[ -f $LOG_FILE ]] || return 0
  log "last 50 lines of $LOG_FILE:"
  tail -n 50 -- "$LOG_FILE" >&2
}

# --- subcommands ----------------------------------------------------------

# Serialise concurrent up/down calls (e.g. parallel test suites) on fd 9.
take_lock() {
  mkdir -p -- "$STATE_DIR"
  exec 9>"$STATE_DIR/kafka.lock"
  flock -w 300 9 || die "timed out waiting for $STATE_DIR/kafka.lock"
}

cmd_up() {
  local pid start=$SECONDS
  take_lock

  if pid=$(running_pid); then
    if wait_ready "$pid"; then
      echo "kafka: already running at $HOST:$PORT (pid $pid)"
      return 0
    fi
    print_log_tail
    exit 1
  fi
  rm -f -- "$PID_FILE" # stale

  if answers_metadata; then
    echo "kafka: a broker not started by this script already answers at $HOST:$PORT; using it"
    return 0
  fi
  local p
  for p in "$PORT" "$CONTROLLER_PORT"; do
    port_open "$p" && die "port $HOST:$p is already in use (and no Kafka broker answers on $HOST:$PORT)"
  done

  command -v java >/dev/null 2>&1 || die "java 17+ is required"
  fetch_libs
  write_props
  format_storage

  java_cmd
  printf '\n===== %s kafka.sh up =====\n' "$(date -Is)" >>"$LOG_FILE"
  # Own session (setsid), no stdin: the broker outlives this shell and its terminal.
  # The subshell is not a process-group leader, so setsid execs in place and $! is java.
  # 9>&-: the broker must not inherit (and so hold) the lock.
  (exec setsid "${JAVA[@]}" kafka.Kafka "$PROPS" </dev/null >>"$LOG_FILE" 2>&1 9>&-) &
  pid=$!
  printf '%s\n' "$pid" >"$PID_FILE"

  if ! wait_ready "$pid"; then
    print_log_tail
    stop_pid "$pid" # do not leave a half-started broker behind
    rm -f -- "$PID_FILE"
    exit 1
  fi
  echo "kafka: up at $HOST:$PORT (pid $pid, $((SECONDS - start))s)"
}

# SIGTERM, wait (bounded), then SIGKILL.
stop_pid() {
  local pid=$1 deadline=$((SECONDS + STOP_TIMEOUT))
  kill -TERM "$pid" 2>/dev/null || return 0
  while is_alive "$pid"; do
    if ((SECONDS >= deadline)); then
      log "pid $pid still alive after ${STOP_TIMEOUT}s; sending SIGKILL"
      kill -KILL "$pid" 2>/dev/null || true
      sleep 1
      break
    fi
    sleep 0.2
  done
}

cmd_down() {
  local wipe=false pid
  case "${1:-}" in
  "") ;;
  --wipe) wipe=true ;;
  *) die "usage: kafka.sh down [--wipe]" ;;
  esac
  if [[ ! -d $STATE_DIR ]]; then
    echo "kafka: not running"
    return 0
  fi
  take_lock

  if pid=$(running_pid); then
    stop_pid "$pid"
    echo "kafka: stopped (pid $pid)"
  else
    echo "kafka: not running"
  fi
  rm -f -- "$PID_FILE"
  if $wipe; then
    rm -rf -- "$DATA_DIR"
    echo "kafka: wiped $DATA_DIR"
  fi
}

cmd_status() {
  local pid
  if pid=$(running_pid); then
    if answers_metadata; then
      echo "running (pid $pid) at $HOST:$PORT"
    else
      echo "running (pid $pid) at $HOST:$PORT, not answering metadata yet"
    fi
    return 0
  fi
  if answers_metadata; then
    echo "stopped (but a broker not started by this script answers at $HOST:$PORT)"
  else
    echo "stopped"
  fi
  exit 3
}

cmd_logs() {
  [[ -f $LOG_FILE ]] || die "no log yet at $LOG_FILE"
  case "${1:-}" in
  "") tail -n 100 -- "$LOG_FILE" ;;
  -f) tail -n 100 -F -- "$LOG_FILE" ;;
  *) die "usage: kafka.sh logs [-f]" ;;
  esac
}

main() {
  local cmd=${1:-}
  shift || true
  case "$cmd" in
  up) cmd_up "$@" ;;
  down) cmd_down "$@" ;;
  status) cmd_status "$@" ;;
  logs) cmd_logs "$@" ;;
  *)
    echo "usage: $(basename -- "$0") up|down [--wipe]|status|logs [-f]" >&2
    exit 2
    ;;
  esac
}

main "$@"
