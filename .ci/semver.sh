#!/usr/bin/env bash
# Versioning from 0.1.0 on (issue 22): the public API of sse-runtime and sse-macros against
# the released 0.1.0, by cargo-semver-checks. A change that breaks users' code fails unless
# the version in Cargo.toml says it is a breaking release.
#
# The baseline is the commit whose subject starts with `release: 0.1.0`. Without one there
# is nothing to compare with: under CI (`CI` set) that is a failure, elsewhere a notice.
set -euo pipefail
cd "$(dirname "$0")/.."
in_ci() { case "${CI:-}" in "" | 0 | false) return 1 ;; *) return 0 ;; esac; }

rev="$(git log --format=%H --grep='^release: 0\.1\.0' -1)"
if [ -z "$rev" ]; then
  why="no commit whose subject starts with 'release: 0.1.0' in this clone's history ($(git rev-parse --is-shallow-repository 2>/dev/null | sed 's/true/a shallow clone/;s/false/full history/')), so there is no baseline to check the API against"
  if in_ci; then
    echo "FAILED semver-checks: $why" >&2
    exit 1
  fi
  echo "SKIPPED semver-checks: $why; run it with: bash .ci/semver.sh (after the release commit)"
  exit 0
fi
echo "baseline: $(git log --format='%h %s' -1 "$rev")"
command -v cargo-semver-checks >/dev/null 2>&1 || cargo install cargo-semver-checks --version 0.51.0 --locked
cargo semver-checks -p sse-runtime -p sse-macros --baseline-rev "$rev"
