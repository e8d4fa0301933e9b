#!/bin/bash
# Container HEALTHCHECK: exits 0 when the proxy answers GET /healthz with 200 (401 is accepted too,
# for HEALTHCHECK_PATH=/v2/ with client auth on). Uses bash's /dev/tcp so the runtime image needs
# neither curl nor wget; plain http only (with `tls:` on the main listener, point HEALTHCHECK_PORT
# at a plain-http `admin.listen`).
#
# HEALTHCHECK_PORT (default 5000) must match the port of `listen:` (or `admin.listen:`).
set -u
port=${HEALTHCHECK_PORT:-5000}
path=${HEALTHCHECK_PATH:-/healthz}

exec 3<>"/dev/tcp/127.0.0.1/$port" || exit 1
printf 'GET %s HTTP/1.1\r\nHost: 127.0.0.1:%s\r\nUser-Agent: registry-proxy-healthcheck\r\nConnection: close\r\n\r\n' \
  "$path" "$port" >&3
IFS= read -r -t 5 status <&3 || exit 1
exec 3<&-
case $status in
  "HTTP/1."[01]" 200"* | "HTTP/1."[01]" 401"*) exit 0 ;;
  *) echo "unhealthy: GET $path answered: ${status%$'\r'}" >&2; exit 1 ;;
esac
