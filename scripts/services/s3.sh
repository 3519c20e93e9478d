#!/usr/bin/env bash
# S3-compatible server on 127.0.0.1 for integration tests: moto's standalone
# server (PyPI, pinned in s3/requirements.txt) in a private venv, started through
# s3/moto_s3_server.py, which patches moto's gaps (conditional
# CompleteMultipartUpload/CopyObject, atomic conditional writes). Clients use
# path-style addressing (forcePathStyle: true); any credentials are accepted.
# Objects live in memory only: they are gone after `down`.
#
#   scripts/services/s3.sh up          start (idempotent) and wait until ListBuckets answers
#   scripts/services/s3.sh down        stop our server (saved PID only); all objects are lost
#   scripts/services/s3.sh status      exit 0 if our server runs, 3 if not
#   scripts/services/s3.sh logs [-f]   last 100 lines of the server log (-f: follow)
#
# Environment:
#   BACKLOT_SERVICES_DIR        state root (default: <repo root>/.services); state in ./s3
#   BACKLOT_S3_PORT             port (default 9000)
#   BACKLOT_S3_REGION, BACKLOT_S3_ACCESS_KEY_ID, BACKLOT_S3_SECRET_ACCESS_KEY
#                               used to sign the readiness probe (default us-east-1, test, test)
#   BACKLOT_S3_READY_TIMEOUT    seconds to wait for readiness (default 60)
#   BACKLOT_S3_STOP_TIMEOUT     seconds to wait for exit after SIGTERM (default 10)
#   BACKLOT_PYTHON              python used to create the venv (default python3, 3.9+)
#
# Needs python3 with the venv module (pip reaches PyPI on first run or when
# s3/requirements.txt changes) and curl (readiness probe).
set -euo pipefail

SCRIPT_DIR=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)
REPO_ROOT=$(cd -- "$SCRIPT_DIR/../.." && pwd)
REQUIREMENTS="$SCRIPT_DIR/s3/requirements.txt"
LAUNCHER="$SCRIPT_DIR/s3/moto_s3_server.py"

HOST=127.0.0.1
PORT=${BACKLOT_S3_PORT:-9000}
REGION=${BACKLOT_S3_REGION:-us-east-1}
ACCESS_KEY=${BACKLOT_S3_ACCESS_KEY_ID:-test}
SECRET_KEY=${BACKLOT_S3_SECRET_ACCESS_KEY:-test}
READY_TIMEOUT=${BACKLOT_S3_READY_TIMEOUT:-60}
STOP_TIMEOUT=${BACKLOT_S3_STOP_TIMEOUT:-10}
PYTHON=${BACKLOT_PYTHON:-python3}

SERVICES_DIR=${BACKLOT_SERVICES_DIR:-$REPO_ROOT/.services}
mkdir -p -- "$SERVICES_DIR"
SERVICES_DIR=$(cd -- "$SERVICES_DIR" && pwd)
STATE_DIR="$SERVICES_DIR/s3"
VENV_DIR="$STATE_DIR/venv"
VENV_PY="$VENV_DIR/bin/python"
VENV_STAMP="$VENV_DIR/.requirements.sha256"
LOCK_FILE="$STATE_DIR/.lock"

SERVICE=s3
READY_POLL=0.2
READY_WHAT="answer ListBuckets"
FOREIGN="an S3 server"
# shellcheck source=scripts/services/lib.sh
source "$SCRIPT_DIR/lib.sh"

[[ $PORT =~ ^[0-9]+$ ]] || die "BACKLOT_S3_PORT must be a port number, got '$PORT'"

# Our server: the venv's python running our launcher.
is_our_cmdline() {
  [[ $1 == "$VENV_PY "* && $1 == *"$LAUNCHER"* ]]
}

# Port our server PID listens on (the value after -p on its command line).
port_of() {
  local -a args
  mapfile -d '' -t args <"/proc/$1/cmdline" 2>/dev/null || return 1
  local i
  for ((i = 0; i < ${#args[@]} - 1; i++)); do
    [[ ${args[i]} == -p ]] && printf '%s\n' "${args[i + 1]}" && return 0
  done
  return 1
}

# --- readiness probe --------------------------------------------------------

# curl signs with SigV4 itself (curl >= 7.75); older curl sends unsigned, which
# moto accepts too.
CURL_SIGN=()
if command -v curl >/dev/null 2>&1 && curl --help all 2>/dev/null | grep -q -- '--aws-sigv4'; then
  CURL_SIGN=(--aws-sigv4 "aws:amz:$REGION:s3" --user "$ACCESS_KEY:$SECRET_KEY")
fi

# ListBuckets on $HOST:$PORT. Returns 0 if it answered a bucket list, 1 if
# nothing accepts connections, 2 if an S3 server answered with an S3 error
# (e.g. it rejects our credentials), 3 if something that is not S3 answered.
s3_probe() {
  command -v curl >/dev/null 2>&1 || die "curl is required (apt-get install -y curl)"
  local out rc=0 code
  out=$(curl -sS -m 5 "${CURL_SIGN[@]}" -w '\n%{http_code}' "http://$HOST:$PORT/" 2>/dev/null) || rc=$?
  ((rc == 7)) && return 1 # connection refused
  ((rc == 0)) || return 3
  code=${out##*$'\n'}
  if [[ $code == 200 && $out == *"<ListAllMyBucketsResult"* ]]; then return 0; fi
  if [[ $out == *"<Error>"*"<Code>"* ]]; then return 2; fi
  return 3
}

# True if an S3 server answers ListBuckets on $HOST:$PORT.
answers() { s3_probe; }

# --- setup ----------------------------------------------------------------

# (Re)create the venv unless its stamp matches requirements.txt and the python
# that built it. Built from scratch on any change; the stamp is written last, so
# an interrupted install is redone on the next `up`.
ensure_venv() {
  command -v "$PYTHON" >/dev/null 2>&1 || die "$PYTHON not found (set BACKLOT_PYTHON)"
  local pyver want have=""
  pyver=$("$PYTHON" -c 'import sys; assert sys.version_info >= (3, 9), sys.version; print(sys.version.split()[0])') ||
    die "$PYTHON must be Python 3.9 or newer"
  want="$(sha256sum <"$REQUIREMENTS" | awk '{print $1}') python-$pyver"
  if [[ -f $VENV_STAMP ]]; then read -r have <"$VENV_STAMP" || true; fi
  if [[ $want == "$have" ]] && "$VENV_PY" -c '' 2>/dev/null; then return 0; fi

  log "creating $VENV_DIR (python $pyver) from $REQUIREMENTS"
  local pip_log="$STATE_DIR/pip.log"
  rm -rf -- "$VENV_DIR"
  "$PYTHON" -m venv "$VENV_DIR" >"$pip_log" 2>&1 || {
    cat -- "$pip_log" >&2
    die "python -m venv failed (on Debian: apt-get install -y python3-venv)"
  }
  if ! "$VENV_PY" -m pip install --disable-pip-version-check --no-input -q \
    -r "$REQUIREMENTS" >>"$pip_log" 2>&1; then
    tail -n 50 -- "$pip_log" >&2
    die "pip install -r $REQUIREMENTS failed (log: $pip_log)"
  fi
  printf '%s\n' "$want" >"$VENV_STAMP"
}

# --- subcommands ----------------------------------------------------------

cmd_up() {
  local pid rc start=$SECONDS
  take_lock

  if pid=$(running_pid); then
    local port
    port=$(port_of "$pid") || port="?"
    [[ $port == "$PORT" ]] || die "our server (pid $pid) already runs on port $port; run 'down' first to use port $PORT"
    if wait_ready "$pid"; then
      echo "s3: already running at http://$HOST:$PORT (pid $pid)"
      return 0
    fi
    print_log_tail
    exit 1
  fi
  rm -f -- "$PID_FILE" # stale

  rc=0
  s3_probe || rc=$?
  case $rc in
  0 | 2)
    echo "s3: an S3 server not started by this script already answers at http://$HOST:$PORT; using it"
    return 0
    ;;
  3) die "port $HOST:$PORT is in use by something that is not an S3 server" ;;
  esac

  ensure_venv

  # Rotate: keep the previous run's log as s3.log.1 (moto logs every request).
  [[ -f $LOG_FILE ]] && mv -f -- "$LOG_FILE" "$LOG_FILE.1"
  printf '===== %s s3.sh up (port %s) =====\n' "$(date -Is)" "$PORT" >"$LOG_FILE"

  # moto settings, pinned to AWS's values so that a stray environment variable
  # cannot make tests pass here and fail on AWS:
  #   S3_UPLOAD_PART_MIN_SIZE   5 MiB minimum for all but the last part (EntityTooSmall)
  #   MOTO_S3_DEFAULT_MAX_KEYS  ListObjects page size when MaxKeys is not given
  # Left at moto's defaults: no signature/IAM checks (INITIAL_NO_AUTH_ACTION_COUNT)
  # and permissive CORS on every response (MOTO_DISABLE_GLOBAL_CORS).
  # `env` execs python in place, so the recorded PID is the server's.
  launch env S3_UPLOAD_PART_MIN_SIZE=5242880 MOTO_S3_DEFAULT_MAX_KEYS=1000 PYTHONUNBUFFERED=1 \
    "$VENV_PY" "$LAUNCHER" -H "$HOST" -p "$PORT"
  wait_launched
  echo "s3: up at http://$HOST:$PORT (pid $LAUNCHED_PID, $((SECONDS - start))s)"
}

cmd_status() {
  local pid port rc=0
  if pid=$(running_pid); then
    port=$(port_of "$pid") || port=$PORT
    if [[ $port != "$PORT" ]]; then
      echo "stopped on port $PORT (our server, pid $pid, runs on port $port)"
      exit 3
    fi
    s3_probe || rc=$?
    if ((rc == 0)); then
      echo "running (pid $pid) at http://$HOST:$port"
    else
      echo "running (pid $pid) at http://$HOST:$port, not answering ListBuckets yet"
    fi
    return 0
  fi
  s3_probe || rc=$?
  if ((rc == 0 || rc == 2)); then
    echo "stopped (but an S3 server not started by this script answers at http://$HOST:$PORT)"
  else
    echo "stopped"
  fi
  exit 3
}

service_main "$@"
