#!/usr/bin/env bash
# Stops what test/env/up.sh started (registries, dockerd). Packages, images and registry data stay, so
# the next up.sh is quick. Pass --purge to delete the registry data and the generated credentials too.
set -uo pipefail
ENV_DIR=${MULTIARCH_ENV_DIR:-/run/multiarch-env}
DATA_DIR=${MULTIARCH_DATA_DIR:-/var/lib/multiarch-env}
stop() { # pidfile
  [ -f "$1" ] || return 0
  local pid; pid=$(cat "$1")
  if kill "$pid" 2>/dev/null; then
    for _ in $(seq 1 40); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
  fi
  rm -f "$1"
}
for f in "$ENV_DIR"/registry-*.pid; do [ -e "$f" ] && stop "$f"; done
stop "$ENV_DIR/token-server.pid"
stop "$ENV_DIR/dockerd2.pid"
stop "$ENV_DIR/dockerd.pid"
ip link delete multiarch0 2>/dev/null || true
rm -f "$ENV_DIR/env"
if [ "${1:-}" = "--purge" ]; then rm -rf "$DATA_DIR/plain" "$DATA_DIR/auth" "$DATA_DIR/token" "$DATA_DIR"/*.log; fi
echo "[env] stopped"
