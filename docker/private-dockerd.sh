#!/usr/bin/env bash
# Starts or stops a private Docker Engine that shares nothing with a system dockerd.
#
#   docker/private-dockerd.sh start DIR   # prints DOCKER_HOST=unix://DIR/docker.sock on success
#   docker/private-dockerd.sh stop DIR    # stops the daemon by the pid it recorded in DIR
#
# Why: on these machines no dockerd runs by default and several agents may start their own, so each
# daemon gets its own data-root, exec-root, pidfile and socket under DIR. iptables/ip-masq are off
# (no NAT rules on a shared host) and the default bridge is disabled ("bridge": "none"), so
# docker0 is never created or torn down under another daemon: containers use --network host.
#
# Exit codes: 0 ok; 77 dockerd is missing, we are not root, or it would not start (callers skip).
set -euo pipefail

readonly SKIP=77

usage() {
  echo "usage: $0 start|stop DIR" >&2
  exit 2
}

start() {
  local dir=$1
  if ! command -v dockerd >/dev/null; then
    echo "private-dockerd: dockerd not found (apt-get install -y docker.io)" >&2
    return "$SKIP"
  fi
  if [[ $(id -u) -ne 0 ]]; then
    echo "private-dockerd: dockerd needs root" >&2
    return "$SKIP"
  fi
  mkdir -p "$dir"
  dir=$(cd "$dir" && pwd)
  cat >"$dir/daemon.json" <<EOF
{
  "storage-driver": "overlay2",
  "iptables": false,
  "ip-masq": false,
  "bridge": "none",
  "data-root": "$dir/root",
  "exec-root": "$dir/exec",
  "pidfile": "$dir/docker.pid",
  "hosts": ["unix://$dir/docker.sock"],
  "default-ulimits": {"nofile": {"Name": "nofile", "Hard": 20000, "Soft": 20000}}
}
EOF
  dockerd --config-file "$dir/daemon.json" >"$dir/dockerd.log" 2>&1 &
  echo $! >"$dir/launcher.pid"
  local i
  for i in $(seq 1 60); do
    if DOCKER_HOST="unix://$dir/docker.sock" docker version >/dev/null 2>&1; then
      echo "DOCKER_HOST=unix://$dir/docker.sock"
      return 0
    fi
    if ! kill -0 "$(cat "$dir/launcher.pid")" 2>/dev/null; then
      break
    fi
    sleep 0.5
  done
  echo "private-dockerd: dockerd did not come up; last log lines:" >&2
  tail -n 20 "$dir/dockerd.log" >&2 || true
  stop "$dir"
  return "$SKIP"
}

stop() {
  local dir=$1 pid=""
  [[ -f "$dir/launcher.pid" ]] && pid=$(cat "$dir/launcher.pid")
  [[ -z "$pid" && -f "$dir/docker.pid" ]] && pid=$(cat "$dir/docker.pid")
  if [[ -z "$pid" ]]; then
    unmount_below "$dir"
    return
  fi
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid"
    local i
    # dockerd stops its containers (10 s each at most) and its managed containerd before exiting.
    for i in $(seq 1 60); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.5
    done
    if kill -0 "$pid" 2>/dev/null; then
      echo "private-dockerd: pid $pid ignored SIGTERM for 30 s, sending SIGKILL" >&2
      kill -KILL "$pid" 2>/dev/null || true
    fi
  fi
  rm -f "$dir/launcher.pid"
  unmount_below "$dir"
}

# dockerd leaves exec-root/netns/default (an nsfs bind mount) and, if killed, overlay mounts behind;
# they must go before anyone deletes DIR.
unmount_below() {
  local dir mnt
  dir=$(cd "$1" && pwd)
  while read -r mnt; do
    umount "$mnt" 2>/dev/null || umount -l "$mnt" 2>/dev/null || true
  done < <(awk -v d="$dir" 'index($2, d "/") == 1 {print $2}' /proc/self/mounts | sort -r)
  if awk -v d="$dir" 'index($2, d "/") == 1 {found=1} END {exit !found}' /proc/self/mounts; then
    echo "private-dockerd: still mounted under $dir" >&2
    return 1
  fi
}

[[ $# -eq 2 ]] || usage
case $1 in
  start) start "$2" ;;
  stop) stop "$2" ;;
  *) usage ;;
esac
