#!/usr/bin/env bash
# Installs Debian's redis-server if it is missing (idempotent), for running
# tests/broadcast/two_tabs.test.mjs or the Redis tests by hand.
set -euo pipefail
command -v redis-server >/dev/null 2>&1 && exit 0
export DEBIAN_FRONTEND=noninteractive
# Another job may hold the apt/dpkg locks for a while (e.g. installing Chromium): wait.
for attempt in 1 2 3 4 5 6; do
  if apt-get -o DPkg::Lock::Timeout=120 update -qq &&
     apt-get -o DPkg::Lock::Timeout=120 install -y -qq redis-server >/dev/null; then
    break
  fi
  echo "ensure-redis: apt-get failed (attempt $attempt), retrying" >&2
  sleep 10
done
command -v redis-server >/dev/null 2>&1 || { echo "ensure-redis: redis-server still missing" >&2; exit 1; }
# The package may start a system instance on 6379; the tests start their own on free
# ports and do not need it.
redis-server --version
