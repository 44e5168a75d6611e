#!/usr/bin/env bash
# Start a local single-node OpenSearch 2.19.6 (embedded Node on the plain classpath; no Docker).
# Idempotent: if something already answers on the port, says so and exits 0.
#
# Env:
#   OPENSEARCH_PORT            HTTP port (default 9200)
#   OPENSEARCH_TRANSPORT_PORT  transport port or range (default 9300-9399)
#   OPENSEARCH_LOCAL_HOME      data/log/config dir (default infra/opensearch-local/.data)
#   OPENSEARCH_JAVA_OPTS       JVM options (default "-Xms512m -Xmx1g")
#   OPENSEARCH_START_TIMEOUT   seconds to wait for yellow/green health (default 180)
set -euo pipefail

DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
PORT="${OPENSEARCH_PORT:-9200}"
HOST=127.0.0.1
URL="http://${HOST}:${PORT}"
HOME_DIR="${OPENSEARCH_LOCAL_HOME:-$DIR/.data}"
HOME_DIR="$(mkdir -p "$HOME_DIR" && cd "$HOME_DIR" && pwd)"
PID_FILE="$HOME_DIR/opensearch.pid"
LOG_DIR="$HOME_DIR/logs"
TIMEOUT="${OPENSEARCH_START_TIMEOUT:-180}"
JAR="$DIR/target/opensearch-local.jar"
JAVA="${JAVA_HOME:+$JAVA_HOME/bin/}java"

log() { printf 'opensearch-local: %s\n' "$*" >&2; }

health_status() {
  # prints green|yellow|red, or nothing if not answering
  curl -s --max-time 2 "$URL/_cluster/health" 2>/dev/null \
    | sed -n 's/.*"status" *: *"\([a-z]*\)".*/\1/p' || true
}

pid_alive() {
  local pid
  [[ -f "$PID_FILE" ]] || return 1
  pid="$(tr -dc '0-9' < "$PID_FILE")"
  [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null \
    && tr '\0' ' ' < "/proc/$pid/cmdline" 2>/dev/null | grep -q 'opensearch-local'
}

# serialize concurrent starts (e.g. parallel test workers); the JVM must not inherit fd 9
if command -v flock >/dev/null; then
  exec 9> "$HOME_DIR/.start.lock"
  flock -w "$TIMEOUT" 9 || { log "could not take $HOME_DIR/.start.lock"; exit 1; }
fi

if curl -s --max-time 2 -o /dev/null "$URL"; then
  log "something already answers on $URL (health: $(health_status || true)); not starting another node"
  exit 0
fi

if pid_alive; then
  WATCH_PID="$(tr -dc '0-9' < "$PID_FILE")"
  log "node process $WATCH_PID already running but not answering yet; waiting for it"
else
  rm -f "$PID_FILE"

  # --- build (cached: only when the jar is missing or older than pom/sources) ---
  if [[ ! -f "$JAR" || ! -d "$DIR/target/lib" \
        || -n "$(find "$DIR/pom.xml" "$DIR/src" -newer "$JAR" -print -quit)" ]]; then
    command -v mvn >/dev/null || { log "mvn not found (needs Maven + JDK 17+)"; exit 1; }
    mkdir -p "$LOG_DIR"
    log "building $JAR (mvn package; the first build downloads jars from Maven Central)..."
    if ! (cd "$DIR" && mvn -B -Dstyle.color=never package) > "$LOG_DIR/build.log" 2>&1; then
      tail -n 60 "$LOG_DIR/build.log" >&2
      log "build failed (full log: $LOG_DIR/build.log)"
      exit 1
    fi
  fi

  mkdir -p "$LOG_DIR"
  # shellcheck disable=SC2206
  JAVA_OPTS=(${OPENSEARCH_JAVA_OPTS:--Xms512m -Xmx1g})
  log "starting OpenSearch on $URL (home: $HOME_DIR, log: $LOG_DIR/opensearch-local.log)"
  # own session (setsid): Ctrl-C / signals to the caller's process group don't kill the node
  SETSID=(); command -v setsid >/dev/null && SETSID=(setsid)
  OPENSEARCH_PORT="$PORT" nohup "${SETSID[@]}" "$JAVA" \
    "${JAVA_OPTS[@]}" \
    -XX:+UseG1GC \
    -XX:-OmitStackTraceInFastThrow \
    "-XX:ErrorFile=$LOG_DIR/hs_err_pid%p.log" \
    -Dfile.encoding=UTF-8 \
    -Djava.locale.providers=SPI,COMPAT \
    -Djna.nosys=true \
    -Dio.netty.noUnsafe=true \
    -Dio.netty.noKeySetOptimization=true \
    -Dio.netty.recycler.maxCapacityPerThread=0 \
    -Dlog4j.shutdownHookEnabled=false \
    -Dlog4j2.disable.jmx=true \
    -jar "$JAR" "$HOME_DIR" \
    > "$LOG_DIR/console.log" 2>&1 < /dev/null 9>&- &
  WATCH_PID=$!
  echo "$WATCH_PID" > "$PID_FILE"   # the JVM rewrites it (same pid: nohup/setsid exec java)
fi

# --- wait for yellow/green ---
start=$SECONDS
polls=0
while :; do
  status="$(health_status)"
  # ready = yellow/green health and the node's own startup settings applied
  if [[ "$status" == green || "$status" == yellow ]] \
     && curl -s --max-time 2 "$URL/_cluster/settings" 2>/dev/null | grep -q default_number_of_replicas; then
    printf '\n' >&2
    log "up: $URL health=$status pid=$WATCH_PID after $((SECONDS - start))s"
    exit 0
  fi
  if ! kill -0 "$WATCH_PID" 2>/dev/null; then
    printf '\n' >&2
    log "node process exited during startup:"
    grep -h -m 3 -E 'failed to start|Exception|ERROR' "$LOG_DIR/console.log" "$LOG_DIR/opensearch-local.log" >&2 2>/dev/null || true
    log "last lines of $LOG_DIR/console.log:"
    tail -n 15 "$LOG_DIR/console.log" >&2 2>/dev/null || true
    rm -f "$PID_FILE"
    exit 1
  fi
  if (( SECONDS - start >= TIMEOUT )); then
    printf '\n' >&2
    log "timed out after ${TIMEOUT}s waiting for $URL (node left running; see $LOG_DIR)"
    tail -n 20 "$LOG_DIR/opensearch-local.log" >&2 2>/dev/null || true
    exit 1
  fi
  (( ++polls % 2 )) || printf '.' >&2
  sleep 0.5
done
