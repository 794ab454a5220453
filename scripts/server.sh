#!/usr/bin/env bash
# A disposable real server: this machine's own systemd booted as PID 1 in fresh
# pid/mount/net/uts/ipc/cgroup namespaces over a throwaway overlay of /.
# Everything it writes lives in a tmpfs (its disk) in a mount namespace that a
# holder process keeps, with the server's network namespace, across reboots;
# down kills it all and leaves nothing behind on the host.
#
#   scripts/server.sh up NAME [--bind DIR]... [--lab LAB --ip ADDR/PREFIX]
#                                               boot, wait until systemd is up; with --lab, its eth0
#                                               (ADDR) is on LAB's bridge
#   scripts/server.sh exec NAME CMD [ARG]...    run CMD inside (root)
#   scripts/server.sh pid NAME                  PID (host view) of its systemd
#   scripts/server.sh reboot NAME [--hard]      reboot: same disk and network
#   scripts/server.sh stop NAME                 power cut: systemd and all it runs killed; disk and
#                                               network kept (its address answers nothing)
#   scripts/server.sh start NAME                boot a stopped server again
#   scripts/server.sh down NAME                 stop it and remove every trace
#   scripts/server.sh list                      servers that are running
#   scripts/server.sh lab-up LAB                a lab network: a bridge in a network namespace of its
#                                               own (never the machine's), for servers to join
#   scripts/server.sh lab-down LAB              remove it (servers still on it lose their eth0)
set -euo pipefail

# nsenter into the holder's mount namespace changes the working directory: refer to ourselves absolutely.
SELF=$(readlink -f -- "$0")

STATE_ROOT=${RF_SERVER_STATE:-/run/rf-agent-test-servers}
# Units enabled in the machine image that have no business in a test server.
MASK=(postgresql.service e2scrub_reap.service getty@tty1.service systemd-timesyncd.service
  systemd-pstore.service apt-daily.timer apt-daily-upgrade.timer dpkg-db-backup.timer
  e2scrub_all.timer fstrim.timer man-db.timer systemd-logind.service getty-static.service
  systemd-binfmt.service proc-sys-fs-binfmt_misc.automount sys-kernel-debug.mount
  sys-kernel-tracing.mount sys-kernel-config.mount sys-fs-fuse-connections.mount
  dev-hugepages.mount systemd-ask-password-wall.path systemd-ask-password-console.path
  systemd-update-utmp.service systemd-update-utmp-runlevel.service console-getty.service)

die() {
  echo "server.sh: $*" >&2
  exit 1
}

need_host() {
  [ "$(id -u)" = 0 ] || die "must run as root: it creates namespaces and mounts. Run it with sudo."
  [ -x /lib/systemd/systemd ] || die "no /lib/systemd/systemd on this machine. Install it: apt-get install -y systemd"
  command -v unshare >/dev/null && command -v nsenter >/dev/null ||
    die "unshare/nsenter missing. Install them: apt-get install -y util-linux"
  [ -x /usr/sbin/nginx ] || die "nginx is not installed. Install it without starting it on the host: printf '#!/bin/sh\\nexit 101\\n' >/usr/sbin/policy-rc.d; chmod +x /usr/sbin/policy-rc.d; apt-get install -y nginx-light; rm /usr/sbin/policy-rc.d"
}

valid_name() {
  [[ $1 =~ ^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,40}$ ]] || die "bad server name '$1': use letters, digits, '.', '_' or '-'"
}

# PID of the server's systemd as the host sees it.
server_pid() {
  local dir=$STATE_ROOT/$1 pid
  [ -f "$dir/init.pid" ] || return 1
  pid=$(cat "$dir/init.pid")
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 1
  echo "$pid"
}

in_server() {
  local pid=$1
  shift
  nsenter -t "$pid" -m -p -n -u -i -C -r -w -- env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    HOME=/root LANG=C.UTF-8 TERM="${TERM:-dumb}" "$@"
}

# The holder, in the server's own mount and network namespaces for its whole life: mounts its disk
# (a tmpfs that only this mount namespace sees), then waits. Each boot starts from a copy of it.
machine_inside() {
  local base=$RF_BASE
  mount -t tmpfs -o mode=0755 rf-server "$base"
  mkdir -p "$base/upper" "$base/work" "$base/root"
  echo ready >"$RF_STATE_DIR/machine.ready"
  exec sleep infinity
}

# Runs as PID 1 of the new namespaces: build the root over the disk, then become systemd.
boot_inside() {
  local base=$RF_BASE root=$RF_BASE/root i
  mount --make-rprivate /
  mkdir -p "$base/upper" "$base/work" "$root"
  # After a reboot the previous boot's overlay may take a moment to be released.
  for i in $(seq 1 50); do
    mount -t overlay overlay -o "lowerdir=/,upperdir=$base/upper,workdir=$base/work" "$root" && break
    [ "$i" = 50 ] && exit 1
    sleep 0.1
  done
  mount -t proc proc "$root/proc"
  mount -t sysfs sysfs "$root/sys"
  mount -t tmpfs -o mode=0755 cgroup "$root/sys/fs/cgroup"
  mkdir -p "$root/sys/fs/cgroup/unified" "$root/sys/fs/cgroup/systemd"
  mount -t cgroup2 cgroup2 "$root/sys/fs/cgroup/unified"
  mount -t cgroup -o none,name=systemd cgroup "$root/sys/fs/cgroup/systemd"
  mount --rbind /dev "$root/dev"
  mount -t tmpfs -o mode=0755 run "$root/run"
  mount -t tmpfs -o mode=1777 tmp "$root/tmp"
  local dir
  for dir in ${RF_BINDS:-}; do
    mkdir -p "$root$dir"
    mount --bind "$dir" "$root$dir"
  done
  local unit
  for unit in "${MASK[@]}"; do
    ln -sfn /dev/null "$root/etc/systemd/system/$unit"
  done
  rm -f "$root/usr/sbin/policy-rc.d"
  echo "$RF_NAME" >"$root/etc/hostname"
  mkdir -p "$root/.oldroot"
  cd "$root"
  pivot_root . .oldroot
  umount -l /.oldroot
  rmdir /.oldroot 2>/dev/null || true
  # A real host's systemd makes / shared at boot but skips that in a container, and LoadCredential=
  # needs it: the credentials mount systemd prepares must propagate into the service's namespace.
  mount --make-rshared /
  exec env -i container=other PATH=/usr/sbin:/usr/bin:/sbin:/bin /lib/systemd/systemd --system --log-target=kmsg --show-status=false </dev/null >/dev/null 2>&1
}

cmd_up() {
  local name=$1
  shift
  valid_name "$name"
  need_host
  local binds=() lab="" ip=""
  while [ $# -gt 0 ]; do
    case $1 in
    --bind)
      [ -d "${2:-}" ] || die "--bind needs an existing directory, got '${2:-}'"
      binds+=("$(cd "$2" && pwd -P)")
      shift 2
      ;;
    --lab)
      valid_name "${2:-}"
      lab=$2
      shift 2
      ;;
    --ip)
      [[ ${2:-} =~ ^([0-9]{1,3}\.){3}[0-9]{1,3}/[0-9]{1,2}$ ]] || die "--ip needs ADDR/PREFIX, e.g. 10.77.0.11/24, got '${2:-}'"
      ip=$2
      shift 2
      ;;
    *) die "unknown option '$1' for up" ;;
    esac
  done
  { [ -n "$lab" ] && [ -n "$ip" ]; } || { [ -z "$lab" ] && [ -z "$ip" ]; } || die "--lab and --ip go together"
  [ -z "$lab" ] || ip netns exec "$(lab_ns "$lab")" true 2>/dev/null || die "no lab '$lab'; create it: $0 lab-up $lab"
  server_pid "$name" >/dev/null && die "server '$name' is already running; run: $0 down $name"
  local dir=$STATE_ROOT/$name
  rm -rf "$dir"
  mkdir -p "$dir/base"
  echo "${binds[*]}" >"$dir/binds"
  # Own cgroups on the host so several servers (and their systemds) never meet.
  local cg
  for cg in /sys/fs/cgroup/systemd /sys/fs/cgroup/unified; do
    [ -d "$cg" ] && mkdir -p "$cg/rf-server-$name"
  done
  RF_NAME=$name RF_BASE=$dir/base RF_STATE_DIR=$dir \
    setsid bash -c '
      for cg in /sys/fs/cgroup/systemd /sys/fs/cgroup/unified; do
        [ -d "$cg/rf-server-$RF_NAME" ] && echo $$ >"$cg/rf-server-$RF_NAME/cgroup.procs"
      done
      exec unshare --mount --propagation private --net "$0" __machine' "$SELF" \
    </dev/null >"$dir/boot.log" 2>&1 &
  echo $! >"$dir/machine.pid"
  local i
  for i in $(seq 1 100); do
    [ -f "$dir/machine.ready" ] && break
    kill -0 "$(cat "$dir/machine.pid")" 2>/dev/null || die "server '$name' did not start: $(cat "$dir/boot.log")"
    sleep 0.1
  done
  [ -f "$dir/machine.ready" ] || die "server '$name' did not start: $(cat "$dir/boot.log")"
  [ -z "$lab" ] || join_lab "$name" "$lab" "$ip"
  boot "$name"
}

# The lab's network namespace (a named one, /run/netns/NAME), holding its bridge br0.
lab_ns() { echo "rf-lab-$1"; }

# The lab-side end of a server's veth pair: interface names have at most 15 characters.
lab_veth() { echo "rfl$(printf '%s' "$1" | md5sum | cut -c1-11)"; }

cmd_lab_up() {
  local lab=$1 ns
  valid_name "$lab"
  need_host
  command -v ip >/dev/null || die "ip missing. Install it: apt-get install -y iproute2"
  ns=$(lab_ns "$lab")
  if ! ip netns exec "$ns" true 2>/dev/null; then
    ip netns add "$ns"
    ip -n "$ns" link set lo up
    ip -n "$ns" link add br0 type bridge
    ip -n "$ns" link set br0 up
  fi
}

cmd_lab_down() {
  local lab=$1
  valid_name "$lab"
  ip netns del "$(lab_ns "$lab")" 2>/dev/null || true
}

# Puts the holder's network namespace on the lab's bridge: eth0 inside with ADDR, its peer on br0.
join_lab() {
  local name=$1 lab=$2 ip=$3 dir=$STATE_ROOT/$1 ns veth mpid
  ns=$(lab_ns "$lab")
  veth=$(lab_veth "$name")
  mpid=$(cat "$dir/machine.pid")
  ip -n "$ns" link del "$veth" 2>/dev/null || true
  ip -n "$ns" link add "$veth" type veth peer name eth0 netns "$mpid"
  ip -n "$ns" link set "$veth" master br0 up
  nsenter -t "$mpid" -n -- ip link set lo up
  nsenter -t "$mpid" -n -- ip addr add "$ip" dev eth0
  nsenter -t "$mpid" -n -- ip link set eth0 up
  echo "$lab $veth" >"$dir/lab"
}

# Boots systemd over the server's disk, in the holder's network namespace; prints its host PID.
boot() {
  local name=$1 dir=$STATE_ROOT/$1
  RF_NAME=$name RF_BASE=$dir/base RF_BINDS="$(cat "$dir/binds")" RF_STATE_DIR=$dir \
    RF_MACHINE="$(cat "$dir/machine.pid")" setsid bash -c '
      for cg in /sys/fs/cgroup/systemd /sys/fs/cgroup/unified; do
        [ -d "$cg/rf-server-$RF_NAME" ] && echo $$ >"$cg/rf-server-$RF_NAME/cgroup.procs"
      done
      exec nsenter -t "$RF_MACHINE" -m -n -- unshare --pid --fork --mount --uts --ipc --cgroup --kill-child "$0" __boot' "$SELF" \
    </dev/null >>"$dir/boot.log" 2>&1 &
  echo $! >"$dir/unshare.pid"
  local i pid=""
  for i in $(seq 1 100); do
    pid=$(pgrep -P "$(cat "$dir/unshare.pid")" 2>/dev/null | head -1 || true)
    [ -n "$pid" ] && break
    sleep 0.1
  done
  [ -n "$pid" ] || die "server '$name' did not start: $(cat "$dir/boot.log")"
  echo "$pid" >"$dir/init.pid"
  # systemd is up when it answers and has reached its default target.
  local state=""
  for i in $(seq 1 300); do
    kill -0 "$pid" 2>/dev/null || die "server '$name' died while booting: $(tail -5 "$dir/boot.log")"
    state=$(in_server "$pid" systemctl is-system-running 2>/dev/null || true)
    case $state in running | degraded) break ;; esac
    sleep 0.2
  done
  case $state in
  running) ;;
  degraded) echo "server.sh: '$name' booted degraded: $(in_server "$pid" systemctl --failed --no-legend --plain | tr '\n' ';')" >&2 ;;
  *) die "server '$name' did not finish booting (state '$state')" ;;
  esac
  echo "$pid"
}

# Reboot with the disk kept: systemd shuts down (or, with --hard, is killed as by a power cut), then a
# new systemd boots over the same disk in the same network namespace. Prints the new PID.
cmd_reboot() {
  local name=$1 hard=${2:-}
  valid_name "$name"
  case $hard in "" | --hard) ;; *) die "unknown option '$hard' for reboot" ;; esac
  halt "$name" "$hard"
  boot "$name"
}

# Stops the server's systemd (gracefully, or with --hard killed as by a power cut) and waits until its
# namespaces are gone; the holder keeps the disk and the network.
halt() {
  local name=$1 hard=$2 dir=$STATE_ROOT/$1 pid upid i
  pid=$(server_pid "$name") || die "server '$name' is not running; start it: $0 up $name"
  upid=$(cat "$dir/unshare.pid")
  if [ "$hard" = --hard ]; then
    kill -KILL "$pid"
  else
    timeout 30 nsenter -t "$pid" -m -p -n -u -i -C -r -w -- systemctl reboot >/dev/null 2>&1 || true
  fi
  for i in $(seq 1 1200); do
    kill -0 "$upid" 2>/dev/null || break
    [ "$i" = 900 ] && kill -KILL "$pid" 2>/dev/null
    sleep 0.1
  done
  kill -0 "$upid" 2>/dev/null && die "server '$name' did not stop for its reboot"
  rm -f "$dir/init.pid"
  # The old systemd's cgroups, emptied, would only confuse the new one: depth-first, children first.
  local cg
  for cg in /sys/fs/cgroup/systemd /sys/fs/cgroup/unified; do
    [ -d "$cg/rf-server-$name" ] || continue
    find "$cg/rf-server-$name" -mindepth 1 -depth -type d -exec rmdir {} \; 2>/dev/null || true
  done
}

cmd_stop() {
  local name=$1
  valid_name "$name"
  halt "$name" --hard
}

cmd_start() {
  local name=$1 dir=$STATE_ROOT/$1 mpid
  valid_name "$name"
  [ -d "$dir" ] || die "no server '$name'; boot it: $0 up $name"
  server_pid "$name" >/dev/null && die "server '$name' is already running"
  mpid=$(cat "$dir/machine.pid" 2>/dev/null || true)
  [ -n "$mpid" ] && kill -0 "$mpid" 2>/dev/null || die "server '$name' lost its disk; run: $0 down $name"
  boot "$name"
}

cmd_down() {
  local name=$1 dir=$STATE_ROOT/$1 pid upid mpid
  valid_name "$name"
  [ -d "$dir" ] || return 0
  upid=$(cat "$dir/unshare.pid" 2>/dev/null || true)
  pid=$(cat "$dir/init.pid" 2>/dev/null || true)
  mpid=$(cat "$dir/machine.pid" 2>/dev/null || true)
  if [ -f "$dir/lab" ]; then
    local lab veth
    read -r lab veth <"$dir/lab" || true
    ip -n "$(lab_ns "$lab")" link del "$veth" 2>/dev/null || true
  fi
  # Killing PID 1 of a pid namespace kills every process in it; with the holder gone too, the
  # mounts, the tmpfs holding the disk, and the network namespace go with them.
  [ -n "$pid" ] && kill -KILL "$pid" 2>/dev/null || true
  [ -n "$upid" ] && kill -KILL "$upid" 2>/dev/null || true
  [ -n "$mpid" ] && kill -KILL "$mpid" 2>/dev/null || true
  local i
  for i in $(seq 1 50); do
    { [ -z "$pid" ] || ! kill -0 "$pid" 2>/dev/null; } && { [ -z "$upid" ] || ! kill -0 "$upid" 2>/dev/null; } &&
      { [ -z "$mpid" ] || ! kill -0 "$mpid" 2>/dev/null; } && break
    sleep 0.1
  done
  local cg
  for cg in /sys/fs/cgroup/systemd /sys/fs/cgroup/unified; do
    [ -d "$cg/rf-server-$name" ] || continue
    # depth-first: child cgroups systemd made must go before their parent
    find "$cg/rf-server-$name" -depth -type d -exec rmdir {} \; 2>/dev/null || true
  done
  rm -rf "$dir"
}

case ${1:-} in
__boot) boot_inside ;;
__machine) machine_inside ;;
up)
  [ $# -ge 2 ] || die "usage: $0 up NAME [--bind DIR]..."
  shift
  cmd_up "$@"
  ;;
exec)
  [ $# -ge 3 ] || die "usage: $0 exec NAME CMD [ARG]..."
  pid=$(server_pid "$2") || die "server '$2' is not running; start it: $0 up $2"
  shift 2
  in_server "$pid" "$@"
  ;;
reboot)
  [ $# -ge 2 ] && [ $# -le 3 ] || die "usage: $0 reboot NAME [--hard]"
  shift
  cmd_reboot "$@"
  ;;
stop | start | lab-up | lab-down)
  [ $# -eq 2 ] || die "usage: $0 $1 NAME"
  "cmd_${1//-/_}" "$2"
  ;;
pid)
  [ $# -eq 2 ] || die "usage: $0 pid NAME"
  server_pid "$2" || die "server '$2' is not running"
  ;;
down)
  [ $# -eq 2 ] || die "usage: $0 down NAME"
  cmd_down "$2"
  ;;
list)
  [ -d "$STATE_ROOT" ] && for d in "$STATE_ROOT"/*/; do
    [ -d "$d" ] || continue
    n=$(basename "$d")
    p=$(server_pid "$n" || true)
    echo "$n ${p:-dead}"
  done
  exit 0
  ;;
*)
  sed -n '2,22p' "$0" | sed 's/^# \{0,1\}//'
  exit 2
  ;;
esac
