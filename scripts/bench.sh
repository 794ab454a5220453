#!/usr/bin/env bash
# npm run bench [-- --runs N] [-- --out FILE]: rf-agent vs git pull + restart on a disposable server.
# Builds rf-agent, then runs bench/bench.ts; the server is torn down however the bench ends.
set -euo pipefail
cd "$(dirname "$0")/.."
export RF_BENCH_SERVER=${RF_BENCH_SERVER:-rf-bench-$$}
# bench.ts tears down in its own finally; this covers a bench killed before it could.
trap 'bash scripts/server.sh down "$RF_BENCH_SERVER" || true' EXIT
npm run build
npx tsx bench/bench.ts "$@"
