#!/usr/bin/env bash
# npm run faults: the fault-injection matrix (test/integration/faults.test.ts) on a disposable server,
# under load, printed as a table and written as JSON to bench-results/faults-<timestamp>.json
# (or $RF_FAULTS_REPORT). Needs root, like every integration test. CI runs the same cases in `npm test`.
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" = 0 ] || { echo "faults.sh: must run as root (it boots a disposable systemd server)" >&2; exit 1; }
export RF_FAULTS_REPORT=${RF_FAULTS_REPORT:-bench-results/faults-$(date -u +%Y%m%dT%H%M%SZ).json}
npm run build
npx vitest run --project integration test/integration/faults.test.ts "$@"
