#!/usr/bin/env bash
# Stop the local OpenSearch node started by start.sh (via its pid file). Idempotent.
set -euo pipefail

DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
HOME_DIR="${OPENSEARCH_LOCAL_HOME:-$DIR/.data}"
PID_FILE="$HOME_DIR/opensearch.pid"
TIMEOUT="${OPENSEARCH_STOP_TIMEOUT:-30}"

log() { printf 'opensearch-local: %s\n' "$*" >&2; }

if [[ ! -f "$PID_FILE" ]]; then
  log "not running (no pid file at $PID_FILE)"
  exit 0
fi
pid="$(tr -dc '0-9' < "$PID_FILE")"
if [[ -z "$pid" ]] || ! kill -0 "$pid" 2>/dev/null; then
  log "not running (stale pid file removed)"
  rm -f "$PID_FILE"
  exit 0
fi
if ! tr '\0' ' ' < "/proc/$pid/cmdline" 2>/dev/null | grep -q 'opensearch-local'; then
  log "pid $pid is not an opensearch-local process; removing stale pid file, not killing it"
  rm -f "$PID_FILE"
  exit 0
fi

log "stopping pid $pid"
kill -TERM "$pid" 2>/dev/null || true
for ((i = 0; i < TIMEOUT * 4; i++)); do
  kill -0 "$pid" 2>/dev/null || { rm -f "$PID_FILE"; log "stopped"; exit 0; }
  sleep 0.25
done
log "still alive after ${TIMEOUT}s; sending SIGKILL"
kill -KILL "$pid" 2>/dev/null || true
sleep 0.5
rm -f "$PID_FILE"
log "killed"
