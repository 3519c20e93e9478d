# shellcheck shell=bash
# Helpers shared by scripts/services/<name>.sh (sourced, not run). A service
# script sets these, then sources this file:
#
#   SERVICE        its name, for messages (kafka, s3, cassandra, redis)
#   HOST, PORT     where it listens (127.0.0.1 only)
#   STATE_DIR      its state: LOG_FILE, PID_FILE and LOCK_FILE live there
#   READY_TIMEOUT  seconds to wait for readiness; READY_POLL seconds between probes
#   STOP_TIMEOUT   seconds to wait for exit after SIGTERM, before SIGKILL
#   READY_WHAT     what the readiness probe checks, for messages ("answer PING")
#   FOREIGN        what a server of this kind is called, for messages ("a Redis server")
#
# and defines two functions:
#
#   is_our_cmdline CMDLINE  true if a process with this command line is our server
#                           (with is_ours, guards against a reused PID)
#   answers                 true if a server on $HOST:$PORT answers the readiness probe
#
# For `service_up` it also defines `service_prepare` (first-run setup; it sets
# the array LAUNCH to the server's command line) and sets PORTS (every port the
# server binds). `service_main "$@"` dispatches up|down|status|logs.

LOCK_FILE=${LOCK_FILE:-$STATE_DIR/$SERVICE.lock}
LOG_FILE=${LOG_FILE:-$STATE_DIR/$SERVICE.log}
PID_FILE=${PID_FILE:-$STATE_DIR/$SERVICE.pid}
READY_POLL=${READY_POLL:-0.5}

log() { printf '%s: %s\n' "$SERVICE" "$*" >&2; }
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

# True if PID is alive. A zombie counts as dead: the detached server is
# reparented, and its new parent may be slow to reap it.
is_alive() {
  local state
  kill -0 "$1" 2>/dev/null || return 1
  state=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) || return 1
  [[ $state != Z ]]
}

# The command line of PID, arguments separated by spaces (fails if it is gone).
cmdline_of() {
  tr '\0' ' ' <"/proc/$1/cmdline" 2>/dev/null
}

# True if PID is alive and is our server.
is_ours() {
  local cmdline
  is_alive "$1" || return 1
  cmdline=$(cmdline_of "$1") || return 1
  is_our_cmdline "$cmdline"
}

# PID of our running server, or fail.
running_pid() {
  local pid
  pid=$(saved_pid)
  [[ -n $pid ]] && is_ours "$pid" && printf '%s\n' "$pid"
}

# True if something accepts TCP connections on $HOST:$1.
port_open() {
  (exec 3<>"/dev/tcp/$HOST/$1") 2>/dev/null
}

# Serialise concurrent up/down calls (e.g. parallel test suites) on fd 9.
take_lock() {
  mkdir -p -- "$STATE_DIR"
  command -v flock >/dev/null 2>&1 || return 0
  exec 9>"$LOCK_FILE"
  flock -w 300 9 || die "timed out waiting for another $SERVICE.sh holding $LOCK_FILE"
}

# Poll until the server answers; fail early if the process dies.
wait_ready() {
  local pid=$1 deadline=$((SECONDS + READY_TIMEOUT))
  while ((SECONDS < deadline)); do
    answers && return 0
    is_alive "$pid" || {
      log "error: process $pid exited during startup"
      return 1
    }
    sleep "$READY_POLL"
  done
  log "error: did not $READY_WHAT on $HOST:$PORT within ${READY_TIMEOUT}s"
  return 1
}

print_log_tail() {
  [[ -f $LOG_FILE ]] || return 0
  log "last 50 lines of $LOG_FILE:"
  tail -n 50 -- "$LOG_FILE" >&2
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

# Starts "$@" detached and records its PID in $PID_FILE and $LAUNCHED_PID: own
# session (setsid) and no stdin, so it outlives this shell and its terminal;
# output appended to $LOG_FILE; 9>&- so it does not hold the lock. The subshell
# is not a process-group leader, so setsid execs in place and $! is the server.
launch() {
  (exec setsid "$@" </dev/null >>"$LOG_FILE" 2>&1 9>&-) &
  LAUNCHED_PID=$!
  printf '%s\n' "$LAUNCHED_PID" >"$PID_FILE"
}

# Waits for the launched server; on failure shows its log, stops it and exits.
wait_launched() {
  if ! wait_ready "$LAUNCHED_PID"; then
    print_log_tail
    stop_pid "$LAUNCHED_PID" # do not leave a half-started server behind
    rm -f -- "$PID_FILE"
    exit 1
  fi
}

# Copies the runtime classpath of the Maven pom $1 into $2 unless it matches
# the pom already (a stamp file), swapping the folder in whole so that an
# interrupted fetch is redone.
fetch_maven_libs() {
  local pom=$1 libs_dir=$2 want have=""
  want=$(sha256sum "$pom" | awk '{print $1}')
  if [[ -f $libs_dir/.pom.sha256 ]]; then read -r have <"$libs_dir/.pom.sha256" || true; fi
  [[ $want == "$have" ]] && return 0

  command -v mvn >/dev/null 2>&1 || die "mvn is required to fetch the $SERVICE jars"
  log "fetching jars from $pom into $libs_dir"
  local tmp="$libs_dir.tmp" mvn_log="$STATE_DIR/mvn.log"
  rm -rf -- "$tmp"
  # Output goes to mvn.log (maven 3.8 -q still prints colour codes); shown on failure.
  if ! mvn -q -B -Dstyle.color=never -f "$pom" dependency:copy-dependencies \
    -DincludeScope=runtime -DoutputDirectory="$tmp" >"$mvn_log" 2>&1; then
    cat -- "$mvn_log" >&2
    rm -rf -- "$tmp"
    die "mvn dependency:copy-dependencies failed (log: $mvn_log)"
  fi
  printf '%s\n' "$want" >"$tmp/.pom.sha256"
  rm -rf -- "$libs_dir"
  mv -- "$tmp" "$libs_dir"
}

# --- subcommands ------------------------------------------------------------

# up: idempotent; uses a foreign server that already answers; refuses a port
# taken by something else; otherwise prepares, launches and waits.
service_up() {
  local pid start=$SECONDS p
  take_lock

  if pid=$(running_pid); then
    if wait_ready "$pid"; then
      echo "$SERVICE: already running at $HOST:$PORT (pid $pid)"
      return 0
    fi
    print_log_tail
    exit 1
  fi
  rm -f -- "$PID_FILE" # stale

  if answers; then
    echo "$SERVICE: $FOREIGN not started by this script already answers at $HOST:$PORT; using it"
    return 0
  fi
  for p in "${PORTS[@]}"; do
    port_open "$p" && die "port $HOST:$p is already in use (and nothing on $HOST:$PORT does $READY_WHAT)"
  done

  LAUNCH=()
  service_prepare
  printf '\n===== %s %s.sh up =====\n' "$(date -Is)" "$SERVICE" >>"$LOG_FILE"
  launch "${LAUNCH[@]}"
  wait_launched
  echo "$SERVICE: up at $HOST:$PORT (pid $LAUNCHED_PID, $((SECONDS - start))s)"
}

# down [--wipe]: stops our server (saved PID only); --wipe also removes $WIPE_DIR when the service has one.
service_down() {
  local wipe=false pid
  case "${1:-}" in
  "") ;;
  --wipe) [[ -n ${WIPE_DIR:-} ]] && wipe=true || die "$SERVICE keeps no data: usage: $SERVICE.sh down" ;;
  *) die "usage: $SERVICE.sh down${WIPE_DIR:+ [--wipe]}" ;;
  esac
  if [[ ! -d $STATE_DIR ]]; then
    echo "$SERVICE: not running"
    return 0
  fi
  take_lock

  if pid=$(running_pid); then
    stop_pid "$pid"
    echo "$SERVICE: stopped (pid $pid)"
  else
    echo "$SERVICE: not running"
  fi
  rm -f -- "$PID_FILE"
  if $wipe; then
    rm -rf -- "$WIPE_DIR"
    echo "$SERVICE: wiped $WIPE_DIR"
  fi
}

# status: exit 0 if our server runs, 3 if not.
service_status() {
  local pid
  if pid=$(running_pid); then
    if answers; then
      echo "running (pid $pid) at $HOST:$PORT"
    else
      echo "running (pid $pid) at $HOST:$PORT, does not $READY_WHAT yet"
    fi
    return 0
  fi
  if answers; then
    echo "stopped (but $FOREIGN not started by this script answers at $HOST:$PORT)"
  else
    echo "stopped"
  fi
  exit 3
}

# logs [-f]: the last 100 lines of the server's log (-f: follow).
service_logs() {
  [[ -f $LOG_FILE ]] || die "no log yet at $LOG_FILE"
  case "${1:-}" in
  "") tail -n 100 -- "$LOG_FILE" ;;
  -f) tail -n 100 -F -- "$LOG_FILE" ;;
  *) die "usage: $SERVICE.sh logs [-f]" ;;
  esac
}

# Dispatches the subcommand to cmd_up/cmd_down/cmd_status/cmd_logs when the
# script defines them, else to the service_* defaults above.
service_main() {
  local cmd=${1:-}
  shift || true
  case "$cmd" in
  up | down | status | logs)
    if declare -F "cmd_$cmd" >/dev/null; then "cmd_$cmd" "$@"; else "service_$cmd" "$@"; fi
    ;;
  *)
    echo "usage: $SERVICE.sh up|down${WIPE_DIR:+ [--wipe]}|status|logs [-f]" >&2
    exit 2
    ;;
  esac
}
