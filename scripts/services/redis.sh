#!/usr/bin/env bash
# Redis on 127.0.0.1 for integration tests and the example's shared gateway
# rate limits: Debian's redis-server (no tarball, no Docker). In memory only:
# no RDB snapshots, no AOF, nothing kept after `down`.
#
#   scripts/services/redis.sh up          start (idempotent) and wait until it answers PING
#   scripts/services/redis.sh down        stop our server (saved PID only); all keys are lost
#   scripts/services/redis.sh status      exit 0 if our server runs, 3 if not
#   scripts/services/redis.sh logs [-f]   last 100 lines of the server log (-f: follow)
#
# Environment:
#   BACKLOT_SERVICES_DIR         state root (default: <repo root>/.services); state in ./redis
#   BACKLOT_REDIS_PORT           port (default 6379)
#   BACKLOT_REDIS_MAXMEMORY      memory cap (default 256mb; least recently used keys are evicted past it)
#   BACKLOT_REDIS_READY_TIMEOUT  seconds to wait for readiness (default 30)
#   BACKLOT_REDIS_STOP_TIMEOUT   seconds to wait for exit after SIGTERM (default 10)
#
# Needs redis-server and redis-cli (Debian: apt-get install -y redis-server).
set -euo pipefail

SCRIPT_DIR=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)
REPO_ROOT=$(cd -- "$SCRIPT_DIR/../.." && pwd)

HOST=127.0.0.1
PORT=${BACKLOT_REDIS_PORT:-6379}
MAXMEMORY=${BACKLOT_REDIS_MAXMEMORY:-256mb}
READY_TIMEOUT=${BACKLOT_REDIS_READY_TIMEOUT:-30}
STOP_TIMEOUT=${BACKLOT_REDIS_STOP_TIMEOUT:-10}

SERVICES_DIR=${BACKLOT_SERVICES_DIR:-$REPO_ROOT/.services}
[[ $SERVICES_DIR == /* ]] || SERVICES_DIR=$PWD/$SERVICES_DIR # absolute: the server's --dir
STATE_DIR="$SERVICES_DIR/redis"

SERVICE=redis
PORTS=("$PORT")
READY_POLL=0.1
READY_WHAT="answer PING"
FOREIGN="a Redis server"
# shellcheck source=scripts/services/lib.sh
source "$SCRIPT_DIR/lib.sh"

[[ $PORT =~ ^[0-9]+$ ]] || die "BACKLOT_REDIS_PORT must be a port number, got '$PORT'"

# Our server: a redis-server on our host (it shows `redis-server 127.0.0.1:<port>`
# as its command line), on whichever port it was started.
is_our_cmdline() {
  [[ $1 == "redis-server $HOST:"* ]]
}

# The port our server PID listens on, from its command line.
port_of() {
  local cmdline
  cmdline=$(cmdline_of "$1") || return 1
  cmdline=${cmdline#*"$HOST":}
  printf '%s\n' "${cmdline%% *}"
}

# One server per state dir: refuse to start a second one on another port.
cmd_up() {
  local pid port
  if pid=$(running_pid); then
    port=$(port_of "$pid")
    [[ $port == "$PORT" ]] || die "our server (pid $pid) already runs on port $port; run 'down' first to use port $PORT"
  fi
  service_up
}

cmd_status() {
  local pid port
  if pid=$(running_pid); then
    port=$(port_of "$pid")
    if [[ $port != "$PORT" ]]; then
      echo "stopped on port $PORT (our server, pid $pid, runs on port $port)"
      exit 3
    fi
  fi
  service_status
}

# True if a Redis server on $PORT answers PING with PONG (a real round trip, not just an open port).
answers() {
  port_open "$PORT" || return 1
  command -v redis-cli >/dev/null 2>&1 || die "redis-cli is required (apt-get install -y redis-server)"
  [[ $(timeout 3 redis-cli -h "$HOST" -p "$PORT" PING 2>/dev/null) == PONG ]]
}

# No persistence at all (no RDB, no AOF): state is in memory only, and the
# working dir (where redis-server would write) is our state dir.
service_prepare() {
  command -v redis-server >/dev/null 2>&1 || die "redis-server is required (apt-get install -y redis-server)"
  LAUNCH=(redis-server --bind "$HOST" --port "$PORT" --protected-mode yes
    --save '' --appendonly no --dir "$STATE_DIR"
    --maxmemory "$MAXMEMORY" --maxmemory-policy allkeys-lru
    --daemonize no --logfile '')
}

service_main "$@"
