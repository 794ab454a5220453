#!/usr/bin/env bash
# npm run fleet-demo: rolling deploys across three app hosts behind HAProxy with the rfagent.fleet
# Ansible collection, on disposable servers booted on this machine (scripts/server.sh, a lab bridge in
# its own network namespace). Installs what is missing first (scripts/setup-host.sh: ansible-core,
# haproxy, openssh-server, nginx... without starting any of them on this machine), builds rf-agent and
# its release (the single executable the hosts get), then runs scripts/demo/fleet-demo.ts, which
# always takes the lab down. Exit 0 when every step did what it should with no failed request and
# no dropped session.
set -euo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
cd "$REPO"
[ "$(id -u)" = 0 ] || { echo "fleet-demo: run as root (it boots disposable systemd servers with namespaces)" >&2; exit 1; }
bash scripts/setup-host.sh
npm run --silent build
npm run --silent release >/dev/null
npm_config_progress=false exec npx tsx scripts/demo/fleet-demo.ts
