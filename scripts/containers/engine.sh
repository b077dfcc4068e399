#!/usr/bin/env bash
# A Docker engine for the container tests (docs/containers.md).
#   engine.sh up     use the engine that answers; otherwise install Debian's docker.io when dockerd is missing,
#                    start dockerd, and wait until it answers. Prints DOCKER_ENGINE=existing|started.
#   engine.sh down   stop dockerd only if `up` started it (its pid file says so); an engine it found is left alone.
#   engine.sh status exit 0 when an engine answers.
set -euo pipefail

STATE_DIR="${CONTAINERS_STATE_DIR:-/var/run/contact-orchestrator}"
PID_FILE="$STATE_DIR/dockerd.pid"
LOG_FILE="$STATE_DIR/dockerd.log"
WAIT_SECONDS="${DOCKER_ENGINE_WAIT_SECONDS:-60}"

answers() { docker version --format '{{.Server.Version}}' >/dev/null 2>&1; }
as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

up() {
  if answers; then
    echo "engine: an engine already answers (Docker $(docker version --format '{{.Server.Version}}')); using it, never stopping it"
    echo "DOCKER_ENGINE=existing"
    return 0
  fi
  if ! command -v dockerd >/dev/null 2>&1; then
    echo "engine: no dockerd on PATH; installing Debian's docker.io"
    as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker.io >/dev/null
  fi
  if ! command -v docker >/dev/null 2>&1; then echo "engine: docker.io installed no docker CLI" >&2; exit 1; fi
  as_root mkdir -p "$STATE_DIR"
  echo "engine: starting dockerd (log: $LOG_FILE)"
  # The bridge stays between this machine's own containers; published ports are bound to 127.0.0.1 by the tests.
  as_root sh -c "nohup dockerd --ip=127.0.0.1 >'$LOG_FILE' 2>&1 & echo \$! >'$PID_FILE'"
  local waited=0
  until answers; do
    if ! as_root kill -0 "$(cat "$PID_FILE")" 2>/dev/null; then
      echo "engine: dockerd exited; the end of its log:" >&2; tail -20 "$LOG_FILE" >&2; exit 1
    fi
    if [ "$waited" -ge "$((WAIT_SECONDS * 10))" ]; then
      echo "engine: dockerd did not answer within ${WAIT_SECONDS} s; the end of its log:" >&2; tail -20 "$LOG_FILE" >&2; exit 1
    fi
    sleep 0.1; waited=$((waited + 1))
  done
  echo "engine: Docker $(docker version --format '{{.Server.Version}}') answers after $((waited / 10)) s"
  echo "DOCKER_ENGINE=started"
}

down() {
  if [ ! -f "$PID_FILE" ]; then echo "engine: not started by engine.sh; left alone"; return 0; fi
  local pid; pid="$(cat "$PID_FILE")"
  # A pid file left from an earlier boot may name another process by now: only a dockerd is stopped.
  if as_root kill -0 "$pid" 2>/dev/null && tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q '^dockerd '; then
    as_root kill -TERM "$pid"
    for _ in $(seq 1 300); do as_root kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    echo "engine: dockerd $pid stopped"
  fi
  as_root rm -f "$PID_FILE"
}

case "${1:-up}" in
  up) up ;;
  down) down ;;
  status) answers ;;
  *) echo "usage: engine.sh up|down|status" >&2; exit 2 ;;
esac
