#!/usr/bin/env bash
# The whole suite: typecheck, lint, unit tests, then end-to-end tests against the real engine.
# Ends with one line "N passed, N failed"; the exit code is non-zero if anything failed.
set -uo pipefail
cd "$(dirname "$0")/.."
export TURBO_TELEMETRY_DISABLED=1
bash test/env/up.sh || exit 1
rm -f packages/*/test-results.json test/test-results.json
turbo run typecheck lint test --continue && turbo run test:e2e
status=$?
node scripts/test-summary.mjs
summary=$?
exit $((status != 0 ? status : summary))
