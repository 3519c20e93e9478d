#!/usr/bin/env bash
# Real services for Backlot's integration tests, on 127.0.0.1 only.
#
#   scripts/services.sh up|down|status|logs [kafka] [s3] [cassandra] [redis] [registry]
#
# With no service named, acts on all of them. Each service has its own script
# in scripts/services/<name>.sh; state (jar cache, venv, data, logs, pids) lives
# under $BACKLOT_SERVICES_DIR (default: .services/ at the repo root, ignored by git).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# BACKLOT_CASSANDRA=off leaves Cassandra out of the default set (its tests are then skipped);
# BACKLOT_REDIS=off leaves Redis out (the example then keeps per-gateway rate limits);
# BACKLOT_REGISTRY=off leaves the Apicurio schema registry out (the registry-mode tests are then skipped).
all_services=(kafka s3)
[[ ${BACKLOT_CASSANDRA:-} == off ]] || all_services+=(cassandra)
[[ ${BACKLOT_REDIS:-} == off ]] || all_services+=(redis)
[[ ${BACKLOT_REGISTRY:-} == off ]] || all_services+=(registry)

usage() {
  echo "usage: $0 up|down|status|logs [${all_services[*]}]" >&2
  exit 64
}

[[ $# -ge 1 ]] || usage
action="$1"
shift
case "$action" in up | down | status | logs) ;; *) usage ;; esac

services=("$@")
[[ ${#services[@]} -gt 0 ]] || services=("${all_services[@]}")

status=0
for service in "${services[@]}"; do
  script="$here/services/$service.sh"
  [[ -f "$script" ]] || {
    echo "unknown service '$service' (known: kafka s3 cassandra redis registry)" >&2
    exit 64
  }
  bash "$script" "$action" || status=$?
  # `up` fails fast: a service that did not come up is an error for the caller.
  if [[ $action == up && $status -ne 0 ]]; then exit "$status"; fi
done
exit "$status"
