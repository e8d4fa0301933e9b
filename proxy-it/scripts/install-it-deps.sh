#!/bin/sh
# Installs the real registries and clients the proxy-it end-to-end tests drive (Debian 12, as root),
# then prints their versions. Safe to run again. Usage: proxy-it/scripts/install-it-deps.sh
set -eu
if [ "$(id -u)" != 0 ]; then
  echo "run as root: the harness starts containerd and dockerd, and podman with overlay storage" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# docker-registry: upstream (CNCF distribution 2.8.2)   apache2-utils: htpasswd -B for auth: htpasswd
# skopeo, podman, containerd (ctr), docker.io (dockerd + docker CLI), runc: the real clients
# debootstrap: a local Debian JRE base image for the container-image test (no Docker Hub here)
# chromium, nodejs, npm: the status page tests (StatusPageIT drives Debian's chromium with
#   playwright-core, which it installs with npm ci from proxy-it/browser/package-lock.json), and
#   SigstoreJsReferrersIT (@sigstore/oci, npm ci from proxy-it/sigstore/package-lock.json)
apt-get install -y -qq --no-install-recommends \
  docker-registry apache2-utils skopeo podman containerd docker.io runc debootstrap chromium >/dev/null
command -v npm >/dev/null 2>&1 || apt-get install -y -qq --no-install-recommends nodejs npm >/dev/null
for cmd in "docker-registry --version" "skopeo --version" "podman --version" "containerd --version" \
    "ctr --version" "dockerd --version" "docker --version" "htpasswd -n -b -B probe probe" \
    "chromium --version" "node --version"; do
  printf '%-40s ' "$cmd:"
  $cmd 2>&1 | head -n 1
done
