#!/usr/bin/env bash
# One-time setup on a fresh Debian machine (as root): pnpm, dependencies, the test environment
# (dockerd + buildx + QEMU + registries + base images) and the CLI build. Safe to re-run.
set -euo pipefail
cd "$(dirname "$0")/.."
export TURBO_TELEMETRY_DISABLED=1
if ! command -v pnpm >/dev/null 2>&1; then
  # corepack's signature check fails against the registry here; npm installs pnpm fine.
  npm install -g pnpm@10 >/dev/null
fi
pnpm install --frozen-lockfile
bash test/env/up.sh
pnpm build
