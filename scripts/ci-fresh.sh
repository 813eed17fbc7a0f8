#!/usr/bin/env bash
# The check that matters before handing work in: CI as a machine that has never seen the project runs it.
# Clones the committed `main` (not the work tree) into a new temporary folder and runs `.ci/run` there with
# an empty HOME, empty XDG folders and a new pnpm store, so no cache, stored login or earlier install is
# reused; the npm and Debian registries are reached as CI reaches them. Ends with `.ci/run`'s own
# `N passed, N failed` line; exit code is `.ci/run`'s.
#
#   bash scripts/ci-fresh.sh [--down] [--keep] [--ref REF]
#     --down   stop the test environment first (test/env/down.sh), so up.sh starts it as on a new machine
#     --keep   keep the temporary folder (clone, HOME, log) afterwards
#     --ref    what to clone (default: main)
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
ref=main down=0 keep=0
while [ $# -gt 0 ]; do
  case "$1" in
    --down) down=1 ;;
    --keep) keep=1 ;;
    --ref) ref=$2; shift ;;
    --ref=*) ref=${1#--ref=} ;;
    -h | --help) sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "ci-fresh: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done

tmp=$(mktemp -d /tmp/multiarch-ci-fresh.XXXXXX)
cleanup() { [ "$keep" = 1 ] && echo "ci-fresh: kept $tmp" >&2 || rm -rf "$tmp"; }
trap cleanup EXIT
mkdir -p "$tmp/home" "$tmp/cache" "$tmp/config" "$tmp/data" "$tmp/state" "$tmp/pnpm-store"

git clone --quiet --no-hardlinks --branch "$ref" "$root" "$tmp/multiarch" || { echo "ci-fresh: cannot clone $ref" >&2; exit 2; }
echo "ci-fresh: $(git -C "$tmp/multiarch" log -1 --format='%h %s') in $tmp/multiarch" >&2
[ "$down" = 1 ] && bash "$tmp/multiarch/test/env/down.sh" >&2

start=$(date +%s)
# env -i: only what CI's machine has (PATH, root), nothing of this shell's or this user's state.
env -i PATH="$PATH" USER=root LOGNAME=root SHELL=/bin/bash LANG=C.UTF-8 CI=true \
  HOME="$tmp/home" XDG_CACHE_HOME="$tmp/cache" XDG_CONFIG_HOME="$tmp/config" XDG_DATA_HOME="$tmp/data" \
  XDG_STATE_HOME="$tmp/state" npm_config_store_dir="$tmp/pnpm-store" \
  bash "$tmp/multiarch/.ci/run" </dev/null 2>&1 | tee "$tmp/ci.log"
status=${PIPESTATUS[0]}
elapsed=$(($(date +%s) - start))

summary=$(grep -E '^([A-Za-z]+: )?[0-9]+ passed, [0-9]+ failed' "$tmp/ci.log" | tail -1)
[ "$keep" = 1 ] || cp "$tmp/ci.log" "$root/ci-fresh.log"
echo "ci-fresh: .ci/run exited $status after ${elapsed}s ($((elapsed / 60)) min $((elapsed % 60)) s); log: $([ "$keep" = 1 ] && echo "$tmp/ci.log" || echo "$root/ci-fresh.log")"
if [ -z "$summary" ]; then
  echo "ci-fresh: .ci/run printed no 'N passed, N failed' line" >&2
  echo "0 passed, 1 failed"
  exit $((status != 0 ? status : 1))
fi
echo "$summary"
exit "$status"
