#!/usr/bin/env bash
# Apicurio Registry 3.x on 127.0.0.1 for integration tests: a real schema
# registry speaking the Confluent-compatible API (/apis/ccompat/v7), run from
# the Maven Central distribution (io.apicurio:apicurio-registry-app:3.3.3,
# classifier all, tar.gz; no Docker). In-memory storage: nothing is kept after `down`.
#
#   scripts/services/registry.sh up          start (idempotent) and wait until /apis/ccompat/v7/subjects answers 200
#   scripts/services/registry.sh down        stop our server (saved PID only); every schema is lost
#   scripts/services/registry.sh status      exit 0 if our server runs, 3 if not
#   scripts/services/registry.sh logs [-f]   last 100 lines of the server log (-f: follow)
#
# Environment:
#   BACKLOT_SERVICES_DIR                state root (default: <repo root>/.services); state in ./registry
#   BACKLOT_REGISTRY_PORT               HTTP port (default 8081)
#   BACKLOT_REGISTRY_MANAGEMENT_PORT    Quarkus management port (default 9001; its default 9000 is S3's)
#   BACKLOT_REGISTRY_HEAP               JVM heap options (default "-Xms64m -Xmx256m")
#   BACKLOT_REGISTRY_READY_TIMEOUT      seconds to wait for readiness (default 90)
#   BACKLOT_REGISTRY_STOP_TIMEOUT       seconds to wait for exit after SIGTERM (default 10)
#   BACKLOT_REGISTRY_JAVA_HOME          the Java 21+ to run it with (default: JAVA_HOME if it is 21+,
#                                       else the newest /usr/lib/jvm/* that is, else java on the PATH)
#
# Needs Java 21 or newer (Apicurio 3 is built for class version 65), mvn (first
# run only: the 158 MB distribution is cached in ./registry/dist) and curl.
set -euo pipefail

SCRIPT_DIR=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)
REPO_ROOT=$(cd -- "$SCRIPT_DIR/../.." && pwd)

VERSION=3.3.3
ARTIFACT="io.apicurio:apicurio-registry-app:$VERSION:tar.gz:all"

HOST=127.0.0.1
PORT=${BACKLOT_REGISTRY_PORT:-8081}
MANAGEMENT_PORT=${BACKLOT_REGISTRY_MANAGEMENT_PORT:-9001}
HEAP=${BACKLOT_REGISTRY_HEAP:--Xms64m -Xmx256m}
READY_TIMEOUT=${BACKLOT_REGISTRY_READY_TIMEOUT:-90}
STOP_TIMEOUT=${BACKLOT_REGISTRY_STOP_TIMEOUT:-10}

SERVICES_DIR=${BACKLOT_SERVICES_DIR:-$REPO_ROOT/.services}
[[ $SERVICES_DIR == /* ]] || SERVICES_DIR=$PWD/$SERVICES_DIR
STATE_DIR="$SERVICES_DIR/registry"
DIST_DIR="$STATE_DIR/dist/$VERSION"

SERVICE=registry
PORTS=("$PORT" "$MANAGEMENT_PORT")
READY_POLL=0.5
READY_WHAT="answer GET /apis/ccompat/v7/subjects with 200"
FOREIGN="a schema registry"
# shellcheck source=scripts/services/lib.sh
source "$SCRIPT_DIR/lib.sh"

[[ $PORT =~ ^[0-9]+$ ]] || die "BACKLOT_REGISTRY_PORT must be a port number, got '$PORT'"
[[ $MANAGEMENT_PORT =~ ^[0-9]+$ ]] || die "BACKLOT_REGISTRY_MANAGEMENT_PORT must be a port number, got '$MANAGEMENT_PORT'"
[[ $PORT != "$MANAGEMENT_PORT" ]] || die "BACKLOT_REGISTRY_PORT and BACKLOT_REGISTRY_MANAGEMENT_PORT must differ (both $PORT)"

# Our server: quarkus-run.jar of our distribution.
is_our_cmdline() {
  [[ $1 == *"$DIST_DIR/quarkus-run.jar"* ]]
}

# True if the Confluent-compatible API lists subjects (200), a real request, not just an open port.
answers() {
  port_open "$PORT" || return 1
  command -v curl >/dev/null 2>&1 || die "curl is required (apt-get install -y curl)"
  [[ $(curl -s -o /dev/null -w '%{http_code}' --max-time 3 "http://$HOST:$PORT/apis/ccompat/v7/subjects") == 200 ]]
}

# The major version of the java at $1 (e.g. 17, 21, 25), or nothing.
java_major() {
  local line
  line=$("$1" -version 2>&1 | head -n 1) || return 0
  line=${line#*version \"}
  line=${line%%[.\"-]*}
  [[ $line =~ ^[0-9]+$ ]] && printf '%s\n' "$line"
  return 0
}

# True if $1 is a java executable of version 21 or newer.
java_21() {
  local major
  [[ -x $1 ]] || return 1
  major=$(java_major "$1")
  [[ -n $major && $major -ge 21 ]]
}

# JAVA: a java 21+: BACKLOT_REGISTRY_JAVA_HOME (refused if older), else JAVA_HOME when it is 21+
# (a Java 17 JAVA_HOME, which Kafka and Cassandra are happy with, is passed over), else the
# newest one under /usr/lib/jvm, else `java` on the PATH.
find_java() {
  local candidate major best="" best_major=0
  if [[ -n ${BACKLOT_REGISTRY_JAVA_HOME:-} ]]; then
    java_21 "$BACKLOT_REGISTRY_JAVA_HOME/bin/java" ||
      die "BACKLOT_REGISTRY_JAVA_HOME=$BACKLOT_REGISTRY_JAVA_HOME has no bin/java of version 21 or newer (Apicurio Registry $VERSION needs Java 21+)"
    JAVA=$BACKLOT_REGISTRY_JAVA_HOME/bin/java
    return 0
  fi
  if [[ -n ${JAVA_HOME:-} ]]; then
    if java_21 "$JAVA_HOME/bin/java"; then
      JAVA=$JAVA_HOME/bin/java
      return 0
    fi
    log "JAVA_HOME=$JAVA_HOME is not Java 21+; looking under /usr/lib/jvm (set BACKLOT_REGISTRY_JAVA_HOME to choose)"
  fi
  for candidate in /usr/lib/jvm/*/bin/java; do
    [[ -x $candidate ]] || continue
    major=$(java_major "$candidate")
    if [[ -n $major && $major -ge 21 && $major -gt $best_major ]]; then
      best=$candidate
      best_major=$major
    fi
  done
  if [[ -z $best ]] && command -v java >/dev/null 2>&1 && java_21 "$(command -v java)"; then
    best=$(command -v java)
  fi
  [[ -n $best ]] || die "Apicurio Registry $VERSION needs Java 21+ and none was found (JAVA_HOME, /usr/lib/jvm/*, PATH): install one (e.g. a Temurin 21+ JDK) or set BACKLOT_REGISTRY_JAVA_HOME, or set BACKLOT_REGISTRY=off to run without the registry (its tests are then skipped)"
  JAVA=$best
}

# The distribution, fetched once with Maven into dist/<version> (swapped in whole: an interrupted fetch is redone).
fetch_dist() {
  [[ -f $DIST_DIR/quarkus-run.jar ]] && return 0
  command -v mvn >/dev/null 2>&1 || die "mvn is required to fetch $ARTIFACT"
  local tmp="$DIST_DIR.tmp" mvn_log="$STATE_DIR/mvn.log" archive
  rm -rf -- "$tmp"
  mkdir -p -- "$tmp"
  log "fetching $ARTIFACT into $DIST_DIR"
  if ! mvn -q -B -Dstyle.color=never org.apache.maven.plugins:maven-dependency-plugin:3.6.1:copy \
    "-Dartifact=$ARTIFACT" "-DoutputDirectory=$tmp" >"$mvn_log" 2>&1; then
    cat -- "$mvn_log" >&2
    rm -rf -- "$tmp"
    die "mvn dependency:copy of $ARTIFACT failed (log: $mvn_log)"
  fi
  archive=$(find "$tmp" -maxdepth 1 -name '*.tar.gz' -print -quit)
  [[ -n $archive ]] || die "mvn fetched no tar.gz into $tmp"
  tar -xzf "$archive" -C "$tmp"
  rm -f -- "$archive"
  # The archive holds one top folder (apicurio-registry-app-<version>/) or the files themselves.
  if [[ ! -f $tmp/quarkus-run.jar ]]; then
    local inner
    inner=$(find "$tmp" -mindepth 2 -maxdepth 2 -name quarkus-run.jar -printf '%h\n' -quit)
    [[ -n $inner ]] || die "no quarkus-run.jar in $ARTIFACT"
    mv -- "$inner" "$tmp.inner"
    rm -rf -- "$tmp"
    mv -- "$tmp.inner" "$tmp"
  fi
  rm -rf -- "$DIST_DIR"
  mv -- "$tmp" "$DIST_DIR"
}

service_prepare() {
  local heap
  find_java
  fetch_dist
  read -r -a heap <<<"$HEAP"
  # Both the API and the management interface on 127.0.0.1 only; the management port moved off 9000 (S3).
  LAUNCH=("$JAVA" "${heap[@]}" -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -Djava.awt.headless=true
    "-Dquarkus.http.host=$HOST" "-Dquarkus.http.port=$PORT"
    "-Dquarkus.management.host=$HOST" "-Dquarkus.management.port=$MANAGEMENT_PORT"
    -jar "$DIST_DIR/quarkus-run.jar")
}

service_main "$@"
