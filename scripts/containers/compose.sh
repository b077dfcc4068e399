#!/usr/bin/env bash
# Makes `docker compose version` answer with a Compose v2-generation CLI plugin (docs/containers.md, "docker compose").
#   compose.sh          nothing when `docker compose` already answers v2 or later; otherwise builds the plugin from
#                       the Go module proxy into ~/.docker/cli-plugins/docker-compose ($DOCKER_CONFIG/cli-plugins
#                       when set) and checks that `docker compose version` answers. Prints what it did and how long.
#   COMPOSE_VERSION     the docker/compose module version to build (default v5.6.0).
# Why not `go install`: the module's go.mod has exclude directives, which `go install mod@version` refuses; so the
# module is downloaded, copied somewhere writable and built there with `go build ./cmd`, as its Makefile does.
set -euo pipefail

COMPOSE_VERSION="${COMPOSE_VERSION:-v5.6.0}"
module_major="${COMPOSE_VERSION#v}"
MODULE="github.com/docker/compose/v${module_major%%.*}"   # github.com/docker/compose/v5 for v5.6.0
PLUGIN_DIR="${DOCKER_CONFIG:-$HOME/.docker}/cli-plugins"
PLUGIN="$PLUGIN_DIR/docker-compose"
started=$(date +%s)

elapsed() { echo "$(( $(date +%s) - started )) s"; }

# The major version `docker compose version --short` reports (2 for 2.x, 5 for 5.x), or nothing.
compose_major() {
  local version
  version="$(docker compose version --short 2>/dev/null | head -1)" || return 0
  version="${version#v}"
  case "$version" in [0-9]*) echo "${version%%.*}" ;; esac
}

if ! command -v docker >/dev/null 2>&1; then
  echo "compose: no docker CLI on PATH; install one first (scripts/containers/engine.sh installs Debian's docker.io)" >&2
  exit 1
fi

major="$(compose_major)"
if [ -n "$major" ] && [ "$major" -ge 2 ]; then
  echo "compose: nothing to do: $(docker compose version) ($(elapsed))"
  exit 0
fi

if ! command -v go >/dev/null 2>&1; then
  echo "compose: \`docker compose\` does not answer v2 and there is no \`go\` on PATH to build it with." >&2
  echo "compose: install Go (the version $MODULE's go.mod asks for, or newer) or a docker-compose-plugin package, then run this again." >&2
  exit 1
fi

echo "compose: \`docker compose version\` does not answer v2; building $MODULE@$COMPOSE_VERSION with $(go version | cut -d' ' -f3) into $PLUGIN"
json="$(go mod download -json "$MODULE@$COMPOSE_VERSION")"
source_dir="$(printf '%s\n' "$json" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$/\1/p' | head -1)"
if [ -z "$source_dir" ] || [ ! -d "$source_dir" ]; then
  echo "compose: \`go mod download\` named no module folder:" >&2
  printf '%s\n' "$json" >&2
  exit 1
fi

work="$(mktemp -d "${TMPDIR:-/tmp}/compose-build.XXXXXX")"
trap 'rm -rf "$work"' EXIT
# The module cache is read-only; the build writes nothing there but is run in a writable copy all the same.
cp -R "$source_dir/." "$work/src"
chmod -R u+w "$work/src"
mkdir -p "$PLUGIN_DIR"
(
  cd "$work/src"
  GOFLAGS="${GOFLAGS:-} -buildvcs=false" go build -trimpath \
    -ldflags "-w -X $MODULE/internal.Version=$COMPOSE_VERSION" \
    -o "$work/docker-compose" ./cmd
)
install -m 0755 "$work/docker-compose" "$PLUGIN.new"
mv -f "$PLUGIN.new" "$PLUGIN"

major="$(compose_major)"
if [ -z "$major" ] || [ "$major" -lt 2 ]; then
  echo "compose: built $PLUGIN, but \`docker compose version\` still does not answer v2:" >&2
  docker compose version >&2 || true
  exit 1
fi
echo "compose: built and installed $PLUGIN: $(docker compose version) ($(elapsed))"
