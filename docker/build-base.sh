#!/usr/bin/env bash
# Makes local base images for docker/Dockerfile without any registry: debootstrap + docker import.
#
#   docker/build-base.sh              # local.test/debian-jre:17   (runtime: openjdk-17-jre-headless)
#   docker/build-base.sh --with-maven # also local.test/debian-maven:17 (build: JDK 17 + Maven)
#
# Why: Docker Hub is unreachable here, so eclipse-temurin / maven images cannot be pulled, but the
# Debian mirror can be reached. The trimmed rootfs tarball is cached (keyed by suite, mirror and
# package list) so a re-run only re-imports, and not even that when the image already carries the
# tarball's digest as a label.
#
# Environment: DOCKER_HOST (the engine to import into), BASE_CACHE_DIR (default
# ${XDG_CACHE_HOME:-~/.cache}/registry-proxy/base), DEBIAN_MIRROR, DEBIAN_SUITE (bookworm),
# RUNTIME_BASE_TAG, BUILD_BASE_TAG, EXTRA_CA_CERTS (space-separated PEM files added to the images'
# trust stores, system and Java; only for networks whose egress re-signs TLS, where the Maven
# stage otherwise fails with "PKIX path building failed").
# Needs root and debootstrap (apt-get install -y debootstrap). Exit 77 when either is missing.
set -euo pipefail

readonly SKIP=77
readonly SUITE=${DEBIAN_SUITE:-bookworm}
readonly MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
readonly CACHE_DIR=${BASE_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/registry-proxy/base}
readonly RUNTIME_TAG=${RUNTIME_BASE_TAG:-local.test/debian-jre:17}
readonly BUILD_TAG=${BUILD_BASE_TAG:-local.test/debian-maven:17}
readonly RUNTIME_PACKAGES=openjdk-17-jre-headless,ca-certificates
readonly BUILD_PACKAGES=openjdk-17-jdk-headless,maven,ca-certificates
readonly EXTRA_CERTS=${EXTRA_CA_CERTS:-}

with_maven=false
for arg in "$@"; do
  case $arg in
    --with-maven) with_maven=true ;;
    *) echo "usage: $0 [--with-maven]" >&2; exit 2 ;;
  esac
done

if [[ $(id -u) -ne 0 ]]; then
  echo "build-base: debootstrap needs root" >&2
  exit "$SKIP"
fi
if ! command -v debootstrap >/dev/null; then
  echo "build-base: debootstrap not found (apt-get install -y debootstrap)" >&2
  exit "$SKIP"
fi

log() { echo "build-base: $*" >&2; }

# Refuses to delete a rootfs that still has proc/sys/dev mounted inside (a failed debootstrap can
# leave them); rm -rf through a live /proc or /dev mount would be destructive.
remove_rootfs() {
  local root=$1 mnt
  [[ -d "$root" ]] || return 0
  while read -r mnt; do
    umount -l "$mnt" 2>/dev/null || true
  done < <(awk -v r="$root" '$2 == r || index($2, r "/") == 1 {print $2}' /proc/self/mounts | sort -r)
  if awk -v r="$root" '$2 == r || index($2, r "/") == 1 {found=1} END {exit !found}' /proc/self/mounts; then
    log "still mounted under $root; not deleting it"
    return 1
  fi
  rm -rf "$root"
}

# Installs EXTRA_CERTS into ROOT's trust stores; update-ca-certificates' Java hook needs /proc.
add_ca_certs() {
  local root=$1 cert rc=0
  mkdir -p "$root/usr/local/share/ca-certificates/extra"
  for cert in $EXTRA_CERTS; do
    cp "$cert" "$root/usr/local/share/ca-certificates/extra/$(basename "${cert%.*}").crt"
  done
  mount -t proc proc "$root/proc" || return 1
  chroot "$root" update-ca-certificates >/dev/null || rc=$?
  umount "$root/proc"
  log "added CA certificates: $EXTRA_CERTS"
  return "$rc"
}

# Bootstraps SUITE with PACKAGES into a trimmed tarball at OUT unless OUT already exists.
make_rootfs_tar() {
  local packages=$1 out=$2
  if [[ -s "$out" ]]; then
    log "reusing cached $out"
    return 0
  fi
  local work="$out.work"
  remove_rootfs "$work"
  mkdir -p "$CACHE_DIR/debs"
  log "debootstrap $SUITE with $packages (a minute or two on first run)"
  local start=$SECONDS
  if ! debootstrap --variant=minbase --include="$packages" --cache-dir="$CACHE_DIR/debs" \
      "$SUITE" "$work" "$MIRROR" >"$out.log" 2>&1; then
    tail -n 30 "$out.log" >&2
    remove_rootfs "$work" || true
    return 1
  fi
  # Sources for derived images (apt-get update && apt-get install ...), security updates included.
  cat >"$work/etc/apt/sources.list" <<EOF
deb $MIRROR $SUITE main
deb $MIRROR $SUITE-updates main
deb http://deb.debian.org/debian-security $SUITE-security main
EOF
  if [[ -n "$EXTRA_CERTS" ]]; then
    add_ca_certs "$work" || { remove_rootfs "$work" || true; return 1; }
  fi
  # Trim what a container never needs; keeps the runtime image near 300 MB instead of 490 MB.
  rm -rf "$work"/var/cache/apt/archives/*.deb "$work"/var/lib/apt/lists/* \
    "$work"/usr/share/doc/* "$work"/usr/share/man/* "$work"/usr/share/locale/* \
    "$work"/var/log/* "$work"/tmp/*
  # /dev, /proc and /sys are provided by the engine at run time.
  tar --numeric-owner -C "$work" --exclude=./dev/* --exclude=./proc/* --exclude=./sys/* \
    -cf "$out.tmp" .
  mv "$out.tmp" "$out"
  remove_rootfs "$work"
  log "rootfs $(du -h "$out" | cut -f1) in $((SECONDS - start)) s"
}

# Imports TAR as TAG unless TAG already carries the tarball's digest in its label.
import_image() {
  local tar=$1 tag=$2 java_home=$3
  local sum
  sum=$(sha256sum "$tar" | cut -d' ' -f1)
  if [[ $(docker image inspect -f '{{index .Config.Labels "dev.ociproxy.rootfs.sha256"}}' "$tag" \
      2>/dev/null || true) == "$sum" ]]; then
    log "$tag is current"
    return 0
  fi
  docker import \
    -c 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    -c 'ENV LANG=C.UTF-8' \
    -c "ENV JAVA_HOME=$java_home" \
    -c "LABEL dev.ociproxy.rootfs.sha256=$sum" \
    -c "LABEL org.opencontainers.image.description=\"Debian $SUITE minbase (debootstrap)\"" \
    -c 'CMD ["bash"]' \
    "$tar" "$tag" >/dev/null
  log "imported $tag"
}

key() {
  { echo "$SUITE $MIRROR $1"; [[ -z "$EXTRA_CERTS" ]] || cat $EXTRA_CERTS; } | sha256sum | cut -c1-12
}

JAVA_HOME_IN_IMAGE=/usr/lib/jvm/java-17-openjdk-$(dpkg --print-architecture)
mkdir -p "$CACHE_DIR"
runtime_tar="$CACHE_DIR/debian-$SUITE-jre17-$(key "$RUNTIME_PACKAGES").tar"
make_rootfs_tar "$RUNTIME_PACKAGES" "$runtime_tar"
import_image "$runtime_tar" "$RUNTIME_TAG" "$JAVA_HOME_IN_IMAGE"

if $with_maven; then
  build_tar="$CACHE_DIR/debian-$SUITE-maven-$(key "$BUILD_PACKAGES").tar"
  make_rootfs_tar "$BUILD_PACKAGES" "$build_tar"
  import_image "$build_tar" "$BUILD_TAG" "$JAVA_HOME_IN_IMAGE"
fi
