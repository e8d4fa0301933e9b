#!/usr/bin/env bash
# Builds the proxy's container image on a locally made base and runs it against a real upstream.
#
#   docker/test-image.sh           # needs proxy-server/target/registry-proxy.jar (or PROXY_JAR)
#   docker/test-image.sh --stub    # a stand-in jar (docker/test/StubProxy.java): checks the image's
#                                  # plumbing only (entrypoint, user, volume, HEALTHCHECK)
#   docker/test-image.sh --image IMG  # check an image built elsewhere (e.g. the Maven target)
#
# Steps: use the engine at DOCKER_HOST (or the default socket) if it answers, else start a private
# dockerd (docker/private-dockerd.sh); docker/build-base.sh; build --target prebuilt from a minimal
# context; start `docker-registry serve` on loopback with a small hand-made image in it; run the
# proxy container with --network host; check GET /v2/, the HEALTHCHECK, the uid, `skopeo copy`
# through the proxy (digests preserved), blobs on the cache volume, a pull by digest once the
# upstream is gone; then stop everything it started, by pid, also on failure.
#
# Environment: PROXY_JAR, DOCKER_HOST, DOCKERD_DIR (keep the private engine's data-root there
# between runs instead of a temp dir), PROXY_IMAGE (tag to build, default
# local.test/registry-proxy:test), KEEP_IMAGE=1 (don't remove it), and build-base.sh's variables.
# Exit codes: 0 ok, 1 a check failed, 77 this machine cannot run the test (no root, no
# dockerd/debootstrap/skopeo/docker-registry) - callers treat 77 as "skipped".
set -euo pipefail

readonly SKIP=77
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(dirname "$here")
stub=false
given_image=""
while [[ $# -gt 0 ]]; do
  case $1 in
    --stub) stub=true ;;
    --image) given_image=${2:?--image needs an image}; shift ;;
    *) echo "usage: $0 [--stub | --image IMAGE]" >&2; exit 2 ;;
  esac
  shift
done
jar=${PROXY_JAR:-$repo/proxy-server/target/registry-proxy.jar}
image=${given_image:-${PROXY_IMAGE:-local.test/registry-proxy:test}}
runtime_base=${RUNTIME_BASE_TAG:-local.test/debian-jre:17}
export RUNTIME_BASE_TAG=$runtime_base

t0=$SECONDS
log() { printf 'test-image [%3ds]: %s\n' "$((SECONDS - t0))" "$*" >&2; }
fail() { log "FAIL: $*"; exit 1; }
skip() { log "SKIP: $*"; exit "$SKIP"; }

for tool in docker curl python3; do
  command -v "$tool" >/dev/null || skip "$tool not found"
done
if ! $stub; then
  for tool in skopeo docker-registry; do
    command -v "$tool" >/dev/null || skip "$tool not found (apt-get install -y $tool)"
  done
  [[ -n "$given_image" || -f "$jar" ]] || fail "no jar at $jar: run 'mvn -q package -DskipTests' first (or use --stub)"
fi

work=$(mktemp -d /tmp/registry-proxy-image.XXXXXX)
container="registry-proxy-test-$$"
volume="registry-proxy-test-cache-$$"
dockerd_dir=""
upstream_pid=""

cleanup() {
  local rc=$?
  set +e
  if [[ $rc -ne 0 && $rc -ne $SKIP ]] && docker inspect "$container" >/dev/null 2>&1; then
    log "container logs:"
    docker logs --tail 50 "$container" 2>&1 | sed 's/^/  | /' >&2
  fi
  docker rm -f -v "$container" >/dev/null 2>&1
  docker volume rm "$volume" >/dev/null 2>&1
  if [[ -z "${KEEP_IMAGE:-}" && -z "$given_image" ]]; then docker rmi "$image" >/dev/null 2>&1; fi
  if [[ -n "$upstream_pid" ]]; then kill "$upstream_pid" 2>/dev/null; wait "$upstream_pid" 2>/dev/null; fi
  if [[ -n "$dockerd_dir" ]]; then "$here/private-dockerd.sh" stop "$dockerd_dir"; fi
  # Never rm -rf through a live mount (dockerd's netns or overlay mounts live under $work).
  if awk -v d="$work" 'index($2, d "/") == 1 {found=1} END {exit !found}' /proc/self/mounts; then
    log "left $work in place: something is still mounted below it"
  else
    rm -rf "$work"
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# Waits up to $2 seconds for $1 to answer 200.
wait_http() {
  local url=$1 deadline=$((SECONDS + $2))
  until [[ $(curl -s -o /dev/null -w '%{http_code}' "$url") == 200 ]]; do
    [[ $SECONDS -lt $deadline ]] || return 1
    sleep 0.3
  done
}

# --- engine -------------------------------------------------------------------------------------
if docker version >/dev/null 2>&1; then
  log "using the engine at ${DOCKER_HOST:-the default socket}"
else
  dockerd_dir=${DOCKERD_DIR:-$work/dockerd}
  log "starting a private dockerd in $dockerd_dir"
  out=$("$here/private-dockerd.sh" start "$dockerd_dir") || {
    rc=$?
    dockerd_dir=""
    [[ $rc -eq $SKIP ]] && skip "no Docker engine could be started here"
    fail "private-dockerd.sh start failed ($rc)"
  }
  export "${out?}"
  log "dockerd up: $DOCKER_HOST"
fi
# The legacy builder works with every CLI here (the 28.x CLI has no buildx plugin on this machine)
# and only builds the stages up to --target.
export DOCKER_BUILDKIT=${DOCKER_BUILDKIT:-0}

# Makes the base image, then the proxy image from the prebuilt (or stub) jar in a minimal context.
build_image() {
  # --- base image ---------------------------------------------------------------------------------
  "$here/build-base.sh" || {
    rc=$?
    [[ $rc -eq $SKIP ]] && skip "cannot make the base image (see above)"
    fail "build-base.sh failed ($rc)"
  }
  log "base image $runtime_base ready"

  # --- proxy image (prebuilt jar, minimal context) ------------------------------------------------
  ctx=$work/context
  mkdir -p "$ctx/docker" "$ctx/proxy-server/target"
  cp "$here/Dockerfile" "$here/proxy.yaml" "$here/healthcheck.sh" "$ctx/docker/"
  if $stub; then
    log "compiling the stub jar (docker/test/StubProxy.java): plumbing check only"
    mkdir -p "$work/stub"
    javac -d "$work/stub" "$here/test/StubProxy.java"
    jar --create --file "$ctx/proxy-server/target/registry-proxy.jar" --main-class StubProxy -C "$work/stub" .
  else
    cp "$jar" "$ctx/proxy-server/target/registry-proxy.jar"
  fi
  docker build -q -f "$ctx/docker/Dockerfile" --target prebuilt --network host \
    --build-arg "RUNTIME_IMAGE=$runtime_base" -t "$image" "$ctx" >/dev/null 2>"$work/build.log" \
    || { cat "$work/build.log" >&2; fail "docker build"; }
  log "built $image"
}

if [[ -n "$given_image" ]]; then
  docker image inspect "$given_image" >/dev/null 2>&1 || fail "no image $given_image in this engine"
  log "checking the given image $given_image"
else
  build_image
fi

[[ $(docker image inspect -f '{{.Config.User}}' "$image") == 10001:10001 ]] || fail "image user is not 10001:10001"
docker image inspect -f '{{json .Config.Volumes}}' "$image" | grep -q '"/var/cache/registry-proxy"' \
  || fail "no VOLUME /var/cache/registry-proxy"
docker image inspect -f '{{json .Config.Healthcheck}}' "$image" | grep -q healthcheck.sh || fail "no HEALTHCHECK"

# --- upstream: docker-registry with one small image ---------------------------------------------
proxy_port=$(free_port)
if ! $stub; then
  upstream_port=$(free_port)
  mkdir -p "$work/upstream-data"
  cat >"$work/upstream.yml" <<EOF
version: 0.1
log: {level: warn}
storage: {filesystem: {rootdirectory: $work/upstream-data}, delete: {enabled: true}}
http: {addr: 127.0.0.1:$upstream_port}
EOF
  docker-registry serve "$work/upstream.yml" >"$work/upstream.log" 2>&1 &
  upstream_pid=$!
  wait_http "http://127.0.0.1:$upstream_port/v2/" 20 || fail "upstream registry did not start"

  # An OCI image layout written by hand: one gzip layer (1 MiB of random bytes), config, manifest.
  oci=$work/oci
  mkdir -p "$oci/blobs/sha256" "$work/rootfs/hello"
  echo hello >"$work/rootfs/hello/world.txt"
  head -c 1048576 /dev/urandom >"$work/rootfs/hello/random.bin"
  tar --numeric-owner --owner=0 --group=0 -C "$work/rootfs" -cf "$work/layer.tar" .
  gzip -n -c "$work/layer.tar" >"$work/layer.tar.gz"
  put_blob() { # FILE -> prints "sha256:<hex> <size>"
    local hex
    hex=$(sha256sum "$1" | cut -d' ' -f1)
    cp "$1" "$oci/blobs/sha256/$hex"
    echo "sha256:$hex $(stat -c %s "$1")"
  }
  diff_id=sha256:$(sha256sum "$work/layer.tar" | cut -d' ' -f1)
  read -r layer_digest layer_size < <(put_blob "$work/layer.tar.gz")
  printf '{"architecture":"amd64","os":"linux","config":{"Cmd":["/hello/world.txt"]},"rootfs":{"type":"layers","diff_ids":["%s"]}}' \
    "$diff_id" >"$work/config.json"
  read -r config_digest config_size < <(put_blob "$work/config.json")
  printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"%s","size":%s},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"%s","size":%s}]}' \
    "$config_digest" "$config_size" "$layer_digest" "$layer_size" >"$work/manifest.json"
  read -r manifest_digest manifest_size < <(put_blob "$work/manifest.json")
  printf '{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"%s","size":%s,"annotations":{"org.opencontainers.image.ref.name":"v1"}}]}' \
    "$manifest_digest" "$manifest_size" >"$oci/index.json"
  echo '{"imageLayoutVersion":"1.0.0"}' >"$oci/oci-layout"
  skopeo copy -q --dest-tls-verify=false --preserve-digests "oci:$oci:v1" \
    "docker://127.0.0.1:$upstream_port/test/hello:v1" || fail "push to the upstream"
  log "upstream 127.0.0.1:$upstream_port serves test/hello:v1 = $manifest_digest"
fi

# --- proxy container ----------------------------------------------------------------------------
cat >"$work/proxy.yaml" <<EOF
listen: "127.0.0.1:$proxy_port"
cache:
  dir: "/var/cache/registry-proxy"
upstreams:
  - name: "registry.example.com"
    url: "http://127.0.0.1:${upstream_port:-9}"
    default: true
EOF
chmod 0644 "$work/proxy.yaml"
docker volume create "$volume" >/dev/null
run_at=$(date +%s.%N)
# --network host: with "iptables": false there is no NAT for published ports, and the upstream
# listens on the host's loopback.
docker run -d --name "$container" --network host \
  -e "HEALTHCHECK_PORT=$proxy_port" --health-interval=1s --health-start-period=30s \
  -v "$work/proxy.yaml:/etc/registry-proxy/proxy.yaml:ro" -v "$volume:/var/cache/registry-proxy" \
  "$image" >/dev/null
proxy=127.0.0.1:$proxy_port
deadline=$((SECONDS + 60))
polls=0
until [[ $(curl -s -o /dev/null -w '%{http_code}' "http://$proxy/v2/") == 200 ]]; do
  # `docker inspect` costs more CPU than the start it would be timing: every 25th poll only.
  if ((++polls % 25 == 0)); then
    [[ $(docker inspect -f '{{.State.Running}}' "$container") == true ]] || fail "container exited"
  fi
  [[ $SECONDS -lt $deadline ]] || fail "GET http://$proxy/v2/ did not answer 200 within 60 s"
  sleep 0.02
done
answered_at=$(date +%s.%N)
# Issue 22's "first answer" for the image: from the container's start (the JVM's exec), and from
# `docker run` (the engine's own set-up included). Measured and logged, not asserted.
started_at=$(date -d "$(docker inspect -f '{{.State.StartedAt}}' "$container")" +%s.%N)
log "container answers GET /v2/ on $proxy: $(awk -v a="$answered_at" -v s="$started_at" -v r="$run_at" \
  'BEGIN { printf "%.2f s after the container started, %.2f s after docker run", a - s, a - r }')"

deadline=$((SECONDS + 30))
until [[ $(docker inspect -f '{{.State.Health.Status}}' "$container") == healthy ]]; do
  [[ $SECONDS -lt $deadline ]] || fail "HEALTHCHECK not healthy: $(docker inspect -f '{{json .State.Health}}' "$container")"
  sleep 0.5
done
log "HEALTHCHECK reports healthy"

[[ $(docker exec "$container" id -u) == 10001 ]] || fail "proxy does not run as uid 10001"
log "runs as uid 10001"

if ! $stub; then
  # -Xshare:on makes an archive the JVM cannot map a start-up error instead of a silent fallback.
  docker exec "$container" java -Xshare:on -XX:SharedArchiveFile=/opt/registry-proxy/registry-proxy.jsa \
    -jar /opt/registry-proxy/registry-proxy.jar --help >/dev/null \
    || fail "the image's class-data archive (registry-proxy.jsa) cannot be used (-Xshare:on)"
  log "class-data archive maps (-Xshare:on)"
fi

if $stub; then
  owner=$(docker exec "$container" stat -c %u /var/cache/registry-proxy/tmp/stub-probe) \
    || fail "stub could not write into the cache volume"
  [[ $owner == 10001 ]] || fail "probe file owned by $owner"
  log "cache volume is writable by uid 10001"
  log "OK (stub jar: the image's plumbing works; the proxy itself was not tested)"
  exit 0
fi

ref=registry.example.com/test/hello
got=$(skopeo inspect --tls-verify=false --format '{{.Digest}}' "docker://$proxy/$ref:v1") \
  || fail "skopeo inspect through the proxy"
[[ $got == "$manifest_digest" ]] || fail "manifest digest through the proxy: got $got, want $manifest_digest"
skopeo copy -q --src-tls-verify=false --preserve-digests "docker://$proxy/$ref:v1" "dir:$work/pulled" \
  || fail "skopeo copy through the proxy"
cmp -s "$work/pulled/${layer_digest#sha256:}" "$work/layer.tar.gz" || fail "layer pulled through the proxy differs"
log "skopeo copy docker://$proxy/$ref:v1 works, digests preserved"

blobs=$(docker exec "$container" find /var/cache/registry-proxy/blobs -type f -user 10001 | wc -l)
[[ $blobs -ge 2 ]] || fail "expected the layer and config in the cache volume, found $blobs files"
log "cache volume holds $blobs blobs owned by uid 10001"

kill "$upstream_pid"; wait "$upstream_pid" 2>/dev/null || true; upstream_pid=""
rm -rf "$work/pulled"
skopeo copy -q --src-tls-verify=false "docker://$proxy/$ref@$manifest_digest" "dir:$work/pulled" \
  || fail "pull by digest from the cache after the upstream stopped"
log "pull by digest is served from the cache volume with the upstream gone"

stop_start=$SECONDS
docker stop -t 20 "$container" >/dev/null
log "docker stop took $((SECONDS - stop_start)) s, exit code $(docker inspect -f '{{.State.ExitCode}}' "$container")"
log "OK"
