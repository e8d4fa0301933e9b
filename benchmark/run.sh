#!/usr/bin/env bash
# The project's benchmark (issue 8): see benchmark/README.md. Usage: benchmark/run.sh [--json FILE] [--quick] [--help]
set -euo pipefail
exec python3 "$(dirname "$0")/bench.py" "$@"
