#!/usr/bin/env bash
# bench.sh [case...] - Outpost's loopback benchmark (`npm run bench -- submission e2e ...`).
# Makes sure the peers are there (scripts/setup.sh), builds, then runs dist/bench/main.js,
# which starts and stops everything it uses. Cases: submission e2e depth scan cluster
# (default: all). Env: BENCH_N (message count for quick runs), see bench/context.ts.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
if ! bash scripts/setup.sh; then
  echo "bench: setup reported a problem (see above); cases that need a missing peer will say so" >&2
fi
npx tsc -p .
exec node dist/bench/main.js "$@"
