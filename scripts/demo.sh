#!/usr/bin/env bash
# npm run demo: a zero-downtime deploy and rollback of the example app under load, on a
# disposable systemd + nginx server booted on this machine (scripts/server.sh).
#
# 1. checks what the demo needs and installs what is missing (saying so), then builds rf-agent;
# 2. runs scripts/demo/demo.ts, which boots the server "rf-demo", deploys 1.0.0, then deploys
#    1.0.1 and rolls it back while load.mjs keeps HTTP and websocket traffic going, and prints
#    what the load saw;
# 3. always takes the server down again, also on Ctrl-C or an error.
#
# Exit status: 0 when the deploy and the rollback succeeded with zero failed requests and zero
# dropped websocket sessions; 1 otherwise (or when a prerequisite is missing); 130 on Ctrl-C.
set -euo pipefail

SERVER_NAME=rf-demo
POLICY_RC=/usr/sbin/policy-rc.d
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
cd "$REPO"

if [ -t 1 ] && [ -z "${NO_COLOR:-}" ]; then
  BOLD=$'\e[1m' RED=$'\e[31m' GREEN=$'\e[32m' DIM=$'\e[2m' RESET=$'\e[0m'
else
  BOLD="" RED="" GREEN="" DIM="" RESET=""
fi

say() { printf '[%s] %s\n' "$(date +%T)" "$*"; }
step() { printf '[%s] %s▶ %s%s\n' "$(date +%T)" "$BOLD" "$*" "$RESET"; }
note() { printf '  %s\n' "$*"; }
ok() { printf '  %s✓%s %s\n' "$GREEN" "$RESET" "$*"; }
die() {
  printf '%sdemo: %s%s\n' "$RED" "$*" "$RESET" >&2
  exit 1
}

# ------------------------------------------------------------------ cleanup
policy_rc_ours=0
# shellcheck disable=SC2317 # reached through the trap
cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  if [ "$policy_rc_ours" = 1 ]; then rm -f "$POLICY_RC"; fi
  # demo.ts takes its server down itself; this is for when it could not (killed, crashed).
  if [ -d "${RF_SERVER_STATE:-/run/rf-agent-test-servers}/$SERVER_NAME" ]; then
    say "taking down leftover server '$SERVER_NAME'"
    bash scripts/server.sh down "$SERVER_NAME" || true
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ------------------------------------------------------------------ prerequisites
apt_install() {
  export DEBIAN_FRONTEND=noninteractive
  note "${DIM}\$ apt-get install -y $*${RESET}"
  if ! apt-get install -y -q "$@"; then
    note "install failed; refreshing the package lists (apt-get update) and trying again"
    apt-get update -q
    apt-get install -y -q "$@"
  fi
}

step "checking prerequisites"

[ "$(id -u)" = 0 ] || die "run as root (it boots a disposable systemd server with namespaces)"

[ -x /lib/systemd/systemd ] ||
  die "no /lib/systemd/systemd on this machine: the disposable server boots it as its PID 1. Install it: apt-get install -y systemd"

if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  die "node and npm are needed (Node >= 20.19). Install Node.js 20 and run again."
fi
node -e 'const [a, b] = process.versions.node.split(".").map(Number); process.exit(a > 20 || (a === 20 && b >= 19) ? 0 : 1)' ||
  die "Node $(node -v) is too old: rf-agent needs Node >= 20.19."

# Tools the server scripts, the test helpers and rf-agent run (the server shares this machine's
# files through an overlay, so what is installed here is what the server has).
declare -A TOOL_PACKAGE=(
  [unshare]=util-linux [nsenter]=util-linux [setpriv]=util-linux [flock]=util-linux
  [pgrep]=procps [pkill]=procps [ss]=iproute2 [git]=git [curl]=curl [diff]=diffutils
)
missing=()
for tool in "${!TOOL_PACKAGE[@]}"; do
  command -v "$tool" >/dev/null || missing+=("${TOOL_PACKAGE[$tool]}")
done
if [ ${#missing[@]} -gt 0 ]; then
  mapfile -t missing < <(printf '%s\n' "${missing[@]}" | sort -u)
  say "installing missing tools: ${missing[*]}"
  apt_install "${missing[@]}"
fi

if [ ! -x /usr/sbin/nginx ]; then
  say "installing nginx-light, WITHOUT starting it on this host (policy-rc.d forbids service starts"
  note "during the install; only the disposable server runs nginx)"
  if [ -e "$POLICY_RC" ]; then
    note "$POLICY_RC already exists: leaving it as it is"
  else
    printf '#!/bin/sh\nexit 101\n' >"$POLICY_RC"
    chmod +x "$POLICY_RC"
    policy_rc_ours=1
  fi
  apt_install nginx-light
  if [ "$policy_rc_ours" = 1 ]; then
    rm -f "$POLICY_RC"
    policy_rc_ours=0
  fi
  [ -x /usr/sbin/nginx ] || die "nginx-light is installed but there is no /usr/sbin/nginx"
fi

if [ ! -x /usr/bin/python3 ]; then
  say "installing python3 and python3-venv (the app runs in a venv made by /usr/bin/python3)"
  apt_install python3 python3-venv
elif ! /usr/bin/python3 -c 'import ensurepip, venv' 2>/dev/null; then
  say "installing python3-venv (rf-agent makes the app's venv with /usr/bin/python3 -m venv)"
  apt_install python3-venv
fi
/usr/bin/python3 -c 'import ensurepip, venv' 2>/dev/null ||
  die "/usr/bin/python3 still cannot make a venv (no ensurepip): check apt-get install python3-venv"

if [ ! -d /opt/pypi/simple ]; then
  pyver=$(/usr/bin/python3 -c 'import sys; print("%d.%d" % sys.version_info[:2])')
  die "no Python wheel mirror at /opt/pypi/simple.
  The server has no internet, so rf-agent pip-installs the app's requirements
  (examples/app/requirements.txt: fastapi, uvicorn, streamlit and their dependencies, as wheels
  for CPython $pyver) from a local index: pip --index-url file:///opt/pypi/simple.
  Put a PEP 503 \"simple\" index of those wheels there and run again."
fi
for pkg in fastapi uvicorn streamlit; do
  [ -d "/opt/pypi/simple/$pkg" ] ||
    die "the wheel mirror /opt/pypi/simple has no '$pkg': it needs the app's requirements (examples/app/requirements.txt) and their dependencies."
done

if [ ! -x node_modules/.bin/tsx ]; then
  say "node_modules is missing: npm ci"
  npm ci --no-audit --no-fund
fi
ok "root, systemd, nginx, python3-venv, wheel mirror, node_modules"

step "building rf-agent (npm run build)"
npm run --silent build
ok "dist/cli.js"

# ------------------------------------------------------------------ the demo
# Not exec: the EXIT trap must still run after it.
rc=0
# (npm_config_progress: no npx spinner between our lines)
RF_DEMO_SERVER=$SERVER_NAME npm_config_progress=false npx tsx scripts/demo/demo.ts || rc=$?
exit "$rc"
