#!/usr/bin/env bash
# The OTLP receiver of the tracing tests (docs/testing.md, Traces): Jaeger v1.75.0's cmd/jaeger, the Jaeger binary
# built on the OpenTelemetry collector (OTLP receiver, in-memory storage, the query API), built from the Go module
# proxy once into a cache outside the repository and reused from there. Prints the binary's path on stdout.
#   JAEGER_BIN=/path/to/jaeger   use that binary instead (nothing is built)
#   JAEGER_CACHE_DIR=...         where the build is kept (default ${XDG_CACHE_HOME:-$HOME/.cache}/contact-orchestrator/jaeger-v1.75.0)
# A first build takes several minutes on two cores (nice 10); later calls answer at once.
set -euo pipefail

VERSION=v1.75.0
MODULE=github.com/jaegertracing/jaeger

if [ -n "${JAEGER_BIN:-}" ]; then
  [ -x "$JAEGER_BIN" ] || { echo "jaeger.sh: JAEGER_BIN=$JAEGER_BIN is not an executable" >&2; exit 1; }
  echo "$JAEGER_BIN"
  exit 0
fi

cache="${JAEGER_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/contact-orchestrator/jaeger-$VERSION}"
bin="$cache/jaeger"
if [ -x "$bin" ]; then
  echo "$bin"
  exit 0
fi

command -v go >/dev/null 2>&1 || { echo "jaeger.sh: Go is needed to build Jaeger $VERSION (go version)" >&2; exit 1; }
mkdir -p "$cache"
work="$(mktemp -d "$cache/build.XXXXXX")"
trap 'rm -rf "$work"' EXIT
started=$SECONDS
echo "jaeger.sh: building $MODULE/cmd/jaeger@$VERSION into $cache (several minutes the first time)" >&2
(
  cd "$work"
  go mod init contact-orchestrator/jaeger-build >/dev/null 2>&1
  # go get lists every module it adds: kept out of the output unless it fails.
  GOFLAGS=-mod=mod go get -tool "$MODULE/cmd/jaeger@$VERSION" >"$work/get.log" 2>&1 || { cat "$work/get.log" >&2; exit 1; }
  nice -n 10 go build -trimpath -o "$work/jaeger" "$MODULE/cmd/jaeger" >&2
)
# Renamed into place: a build interrupted half-way never leaves a binary that looks finished.
mv "$work/jaeger" "$bin"
echo "jaeger.sh: built in $((SECONDS - started)) s" >&2
echo "$bin"
