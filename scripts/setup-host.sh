#!/usr/bin/env bash
# Installs what the tests and the demo need on a fresh Debian machine of this kind, and checks
# what cannot be installed here. Safe to run again: it only installs what is missing.
set -euo pipefail

say() { printf '[setup] %s\n' "$*" >&2; }
die() {
  printf '[setup] ERROR: %s\n' "$*" >&2
  exit 1
}

[ "$(id -u)" = 0 ] || die "run as root: the tests boot a disposable systemd server with namespaces and mounts (sudo $0)"
[ -x /lib/systemd/systemd ] || die "no /lib/systemd/systemd: install systemd (apt-get install -y systemd)"

missing=()
# certbot, pebble (a local ACME server) and openssl: test/integration/https.test.ts.
# ansible-core, haproxy and openssh-server: the fleet lab (test/integration/fleet.test.ts, npm run fleet-demo).
for pair in nginx:nginx-light ss:iproute2 unshare:util-linux nsenter:util-linux flock:util-linux git:git curl:curl certbot:certbot pebble:pebble openssl:openssl ansible-playbook:ansible-core haproxy:haproxy sshd:openssh-server ssh:openssh-client; do
  command -v "${pair%%:*}" >/dev/null 2>&1 || [ -x "/usr/sbin/${pair%%:*}" ] || missing+=("${pair#*:}")
done
/usr/bin/python3 -c 'import venv, ensurepip' 2>/dev/null || missing+=(python3-venv)
if [ ${#missing[@]} -gt 0 ]; then
  mapfile -t missing < <(printf '%s\n' "${missing[@]}" | sort -u)
  say "installing Debian packages: ${missing[*]}"
  apt-get update -qq
  # nginx must not start on the host (it would take port 80): policy-rc.d stops
  # the package's postinst from starting it; each test server runs its own.
  printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
  chmod +x /usr/sbin/policy-rc.d
  trap 'rm -f /usr/sbin/policy-rc.d' EXIT
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  rm -f /usr/sbin/policy-rc.d
  trap - EXIT
fi
# Installed for the fleet lab's servers, which start them themselves: enabled here, every disposable
# server (a copy of this machine) would start its own sshd and haproxy at boot. Offline: changes links only.
for unit in ssh.service ssh.socket haproxy.service; do
  if systemctl is-enabled --quiet "$unit" 2>/dev/null; then systemctl disable --quiet "$unit" 2>/dev/null || true; fi
done

[ -f /opt/pypi/simple/index.html ] || [ -d /opt/pypi/simple/fastapi ] ||
  die "the offline Python wheel mirror /opt/pypi/simple is missing: the example app's fastapi, uvicorn and streamlit are installed from it (this machine has no PyPI access). Provide a PEP 503 mirror there with fastapi, uvicorn and streamlit."

cd "$(dirname "$0")/.."
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules ]; then
  say "installing npm packages (npm ci)"
  npm ci --no-audit --no-fund --loglevel=error
fi
say "host ready"
