#!/usr/bin/env bash
# test.sh [dist/test/... .test.js files] - `npm test`: installs the npm dependencies when
# node_modules is missing, makes the machine ready (setup.sh: packages, test daemons), builds,
# and runs the tests with Node's runner, 3 files at a time. Without arguments: every
# test/**/*.test.ts, as its compiled dist/test/**/*.test.js (so a test removed from test/ but
# still in dist/ is not run). Exit code: the runner's.
# Example: npm test -- dist/test/infra/peers.test.js
# Env: OUTPOST_TEST_CONCURRENCY (3), OUTPOST_TEST_TIMEOUT (per test, ms; 180000).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

[[ -d node_modules ]] || npm install
bash scripts/setup.sh
npx tsc -p .
mkdir -p test-artifacts

if (($#)); then
  files=("$@")
else
  files=()
  while IFS= read -r f; do files+=("dist/${f%.ts}.js"); done < <(find test -name '*.test.ts' | sort)
  if ((${#files[@]} == 0)); then echo "test.sh: no test files under test/" >&2; exit 1; fi
fi

exec node --test \
  --test-concurrency="${OUTPOST_TEST_CONCURRENCY:-3}" \
  --test-timeout="${OUTPOST_TEST_TIMEOUT:-180000}" \
  --test-reporter=spec \
  "${files[@]}"
