#!/usr/bin/env bash
# Make a real Docker engine and the images Lanner's tests use available on this machine.
#
# There is no container registry here, so nothing is ever pulled: images are made with
# `docker import` from root filesystems assembled out of Debian packages. Idempotent: every
# step is skipped when its result is already there (set LANNER_REBUILD_IMAGES=1 to rebuild).
#
# Images built:
#   redis:latest          redis-server only; CMD redis-server --protected-mode no --requirepass redis
#   lanner-busybox:latest a static busybox (sh, sleep, echo, cat, ...); CMD sh
set -euo pipefail

log() { echo "docker-setup: $*" >&2; }
t0=$(date +%s.%N)

apt_updated=0
apt_install() {
  if [ "$apt_updated" = 0 ]; then
    apt-get update -qq >/dev/null
    apt_updated=1
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

# 1. The engine. A `docker` client alone is not enough: we need the daemon.
if ! command -v dockerd >/dev/null 2>&1; then
  log "installing Debian's docker.io"
  apt_install docker.io
fi

# 2. The daemon, without systemd, without touching the host firewall.
if ! docker info >/dev/null 2>&1; then
  log "starting dockerd (log: /tmp/dockerd.log)"
  nohup dockerd --iptables=false --ip6tables=false >/tmp/dockerd.log 2>&1 &
  for _ in $(seq 150); do
    docker info >/dev/null 2>&1 && break
    sleep 0.2
  done
  if ! docker info >/dev/null 2>&1; then
    log "dockerd did not become ready in 30 s; see /tmp/dockerd.log:"
    tail -n 20 /tmp/dockerd.log >&2 || true
    exit 1
  fi
fi

need_image() {
  [ "${LANNER_REBUILD_IMAGES:-0}" = 1 ] || ! docker image inspect "$1" >/dev/null 2>&1
}

# Copy a binary and every shared library it links to into a root filesystem.
copy_with_libs() {
  local bin=$1 root=$2
  mkdir -p "$root$(dirname "$bin")"
  cp -L "$bin" "$root$bin"
  for lib in $(ldd "$bin" 2>/dev/null | grep -o '/[^ ]*' || true); do
    mkdir -p "$root$(dirname "$lib")"
    cp -L "$lib" "$root$lib"
  done
}

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# 3. redis:latest — what the seed flow docker_redis.yaml runs (`containerImage: redis`).
if need_image redis:latest; then
  command -v redis-server >/dev/null 2>&1 || apt_install redis-server
  log "building redis:latest from $(command -v redis-server)"
  rfs=$work/redis
  mkdir -p "$rfs/tmp" "$rfs/data" "$rfs/etc"
  chmod 1777 "$rfs/tmp"
  copy_with_libs "$(readlink -f "$(command -v redis-server)")" "$rfs"
  if [ ! -e "$rfs/usr/bin/redis-server" ]; then
    mkdir -p "$rfs/usr/bin"
    cp -L "$(command -v redis-server)" "$rfs/usr/bin/redis-server"
  fi
  echo 'root:x:0:0:root:/root:/bin/sh' >"$rfs/etc/passwd"
  (cd "$rfs" && tar cf "$work/redis.tar" .)
  docker import \
    -c 'CMD ["/usr/bin/redis-server","--protected-mode","no","--requirepass","redis"]' \
    -c 'EXPOSE 6379' -c 'WORKDIR /data' \
    "$work/redis.tar" redis:latest >/dev/null
fi

# 4. lanner-busybox:latest — a tiny image with a shell, for Run and script-runner tests.
if need_image lanner-busybox:latest; then
  [ -x /bin/busybox ] || apt_install busybox-static
  log "building lanner-busybox:latest from /bin/busybox"
  bfs=$work/busybox
  mkdir -p "$bfs/bin" "$bfs/tmp" "$bfs/etc" "$bfs/root"
  chmod 1777 "$bfs/tmp"
  cp -L /bin/busybox "$bfs/bin/busybox"
  # One link per applet, so `sh`, `sleep`, `cat` ... exist as commands.
  for applet in $(/bin/busybox --list); do
    [ -e "$bfs/bin/$applet" ] || ln -s busybox "$bfs/bin/$applet"
  done
  echo 'root:x:0:0:root:/root:/bin/sh' >"$bfs/etc/passwd"
  echo 'nobody:x:65534:65534:nobody:/:/bin/false' >>"$bfs/etc/passwd"
  printf 'root:x:0:\nnogroup:x:65534:\n' >"$bfs/etc/group"
  (cd "$bfs" && tar cf "$work/busybox.tar" .)
  docker import -c 'CMD ["/bin/sh"]' -c 'ENV PATH=/bin' \
    "$work/busybox.tar" lanner-busybox:latest >/dev/null
fi

log "ready in $(echo "$(date +%s.%N) - $t0" | bc 2>/dev/null || echo '?') s:" \
  "$(docker image ls --format '{{.Repository}}:{{.Tag}}' | grep -E '^(redis|lanner-busybox):' | tr '\n' ' ')"
