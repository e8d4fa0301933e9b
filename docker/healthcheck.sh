#!/bin/bash
# Container HEALTHCHECK: exits 0 when the proxy answers GET /v2/ with 200 (or 401: alive, clients
# must authenticate). Uses bash's /dev/tcp so the runtime image needs neither curl nor wget.
#
# HEALTHCHECK_PORT (default 5000) must match the port of `listen:` in the config.
# HEALTHCHECK_PATH defaults to /v2/; switch it to /healthz once the proxy serves that.
set -u
port=${HEALTHCHECK_PORT:-5000}
path=${HEALTHCHECK_PATH:-/v2/}

exec 3<>"/dev/tcp/127.0.0.1/$port" || exit 1
printf 'GET %s HTTP/1.1\r\nHost: 127.0.0.1:%s\r\nUser-Agent: registry-proxy-healthcheck\r\nConnection: close\r\n\r\n' \
  "$path" "$port" >&3
IFS= read -r -t 5 status <&3 || exit 1
exec 3<&-
case $status in
  "HTTP/1."[01]" 200"* | "HTTP/1."[01]" 401"*) exit 0 ;;
  *) echo "unhealthy: GET $path answered: ${status%$'\r'}" >&2; exit 1 ;;
esac
