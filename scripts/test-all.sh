#!/usr/bin/env bash
# The whole suite: format check, typecheck, lint, unit tests, then end-to-end tests against the real engine.
# Ends with one line "N passed, N failed"; the exit code is non-zero if anything failed.
set -uo pipefail
cd "$(dirname "$0")/.."
export TURBO_TELEMETRY_DISABLED=1
MULTIARCH_BROWSER=1 bash test/env/up.sh || exit 1
rm -f packages/*/test-results.json test/test-results*.json
# The formatter's check is part of the suite: an unformatted tree fails it like a failing test.
npx biome format . >/dev/null 2>&1 || { echo "unformatted files: run pnpm format"; npx biome format . 2>&1 | tail -20; fmt=1; }
turbo run typecheck lint test --continue && turbo run test:e2e
status=$?
[ "${fmt:-0}" = 0 ] || status=1
node scripts/test-summary.mjs
summary=$?
exit $((status != 0 ? status : summary))
