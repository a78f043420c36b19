#!/usr/bin/env bash
# SSE conformance (issue 5): every independent client over every case of cases.json,
# against the conformance server, then the case x client table. Then (issue 23) our own
# client, sse_runtime::client, and Chromium's native EventSource against two servers
# nobody here wrote: sse-starlette (python/server.py) and axum's Sse (axum_server.rs), each
# over the cases it can serve, with the reconnection cases side by side. Exits non-zero on
# any failure.
#
#   bash tests/conformance/run.sh
#
# Installs what is missing, idempotently: Debian's chromium (apt-get, as root), the npm
# clients pinned by node/package-lock.json (npm ci), the Python clients pinned by
# python/requirements.txt (pip, into a venv under the cargo target dir), the Python server
# pinned by python/server-requirements.txt (tests/src/venv.sh, into another venv there).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
cd "$root"

target="$(cargo metadata --format-version 1 --no-deps |
  python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')"
out="$target/conformance"
rm -rf "$out"
mkdir -p "$out"
started=$SECONDS

echo "== conformance: build the server and the Rust client"
cargo build -q -p sse-tests --bin conformance-server --bin conformance-axum-server
cargo test -q -p sse-tests --test conformance_client --test conformance_ours --no-run

echo "== conformance: install the clients"
if [ ! -x /usr/bin/chromium ]; then
  echo "   chromium: installing Debian's package"
  if [ "$(id -u)" -ne 0 ]; then
    echo "chromium is missing and installing it needs root (apt-get install chromium)" >&2
    exit 1
  fi
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi
(cd "$here/node" && npm ci --no-audit --no-fund --loglevel=error)
venv="$target/conformance-venv"
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
fi
"$venv/bin/python" -m pip install -q --disable-pip-version-check -r "$here/python/requirements.txt"
bash "$root/tests/src/venv.sh" conformance-servers "$here/python/server-requirements.txt" --install

echo "== conformance: start the server"
ADDR=127.0.0.1:0 RUST_LOG="${RUST_LOG:-warn}" "$target/debug/conformance-server" \
  >"$out/server.out" 2>"$out/server.log" &
server_pid=$!
trap 'kill "$server_pid" ${other_pid:-} 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true' EXIT
for _ in $(seq 100); do
  grep -q '^listening on ' "$out/server.out" 2>/dev/null && break
  sleep 0.1
done
base="$(sed -n 's/^listening on //p' "$out/server.out")"
if [ -z "$base" ]; then
  echo "the conformance server did not start:" >&2
  cat "$out/server.log" >&2
  exit 1
fi
echo "   $base"

cases="$here/cases.json"
driver_failed=0
run_driver() {
  local name="$1"
  shift
  local t0=$SECONDS
  if "$@" >>"$out/drivers.log" 2>&1; then
    echo "   $name: done in $((SECONDS - t0)) s"
  else
    echo "   $name: exited with $? after $((SECONDS - t0)) s (see below)"
    driver_failed=1
  fi
}

echo "== conformance: run the clients"
run_driver chromium node "$here/node/browser-driver.mjs" \
  --base "$base" --cases "$cases" --out "$out/results-chromium.json"
run_driver eventsource node "$here/node/eventsource-driver.mjs" \
  --base "$base" --cases "$cases" --out "$out/results-eventsource.json"
run_driver httpx-sse "$venv/bin/python" "$here/python/driver.py" \
  --base "$base" --cases "$cases" --out "$out/results-httpx-sse.json"
# The Rust client exits 1 on a failed case; the table below reports it.
run_driver "rust, rust-h2" env CONFORMANCE_BASE="$base" CONFORMANCE_OUT="$out" \
  cargo test -q -p sse-tests --test conformance_client
run_driver "sse-client, sse-client-h2" env CONFORMANCE_BASE="$base" CONFORMANCE_OUT="$out" \
  cargo test -q -p sse-tests --test conformance_ours
run_driver curl python3 "$here/curl_driver.py" \
  --base "$base" --cases "$cases" --out "$out/results-curl.json"
run_driver curl-h2 python3 "$here/curl_driver.py" --http2 \
  --base "$base" --cases "$cases" --out "$out/results-curl-h2.json"

# Issue 23: our client and Chromium against servers nobody here wrote.
start_other() { # NAME COMMAND... : starts an independent server, sets $other_pid, $other_base
  local name="$1"
  shift
  "$@" >"$out/$name/server.out" 2>"$out/$name/server.log" &
  other_pid=$!
  other_base=""
  for _ in $(seq 100); do
    other_base="$(sed -n 's/^listening on //p' "$out/$name/server.out" 2>/dev/null)"
    [ -n "$other_base" ] && break
    sleep 0.1
  done
}
other_status=0
for other in sse-starlette axum; do
  mkdir -p "$out/$other"
  case "$other" in
    sse-starlette)
      start_other "$other" "$target/conformance-servers-venv/bin/python" "$here/python/server.py"
      h2=0
      clients=chromium,sse-client
      ;;
    axum)
      start_other "$other" env ADDR=127.0.0.1:0 "$target/debug/conformance-axum-server"
      h2=1
      clients=chromium,sse-client,sse-client-h2
      ;;
  esac
  if [ -z "$other_base" ]; then
    echo "   $other: the server did not start:" >&2
    cat "$out/$other/server.log" >&2
    other_status=1
    continue
  fi
  echo "== conformance: against $other ($other_base)"
  python3 "$here/cases_for.py" "$other" "$other_base" "$cases" "$out/$other/cases.json"
  run_driver "$other: chromium" node "$here/node/browser-driver.mjs" \
    --base "$other_base" --cases "$out/$other/cases.json" --out "$out/$other/results-chromium.json"
  run_driver "$other: sse-client" env CONFORMANCE_BASE="$other_base" CONFORMANCE_OUT="$out/$other" \
    CONFORMANCE_CASES="$out/$other/cases.json" CONFORMANCE_H2="$h2" \
    cargo test -q -p sse-tests --test conformance_ours
  kill "$other_pid" 2>/dev/null || true
  wait "$other_pid" 2>/dev/null || true
  echo "$clients" >"$out/$other/clients"
done

echo "== conformance: results ($((SECONDS - started)) s)"
echo
status=0
python3 "$here/report.py" "$cases" "$out" || status=1
for other in sse-starlette axum; do
  echo
  echo "== server: $other (sse_runtime::client and Chromium)"
  if [ -f "$out/$other/clients" ]; then
    python3 "$here/report.py" "$out/$other/cases.json" "$out/$other" "$(cat "$out/$other/clients")" || status=1
  else
    status=1
  fi
done
[ "$other_status" -eq 0 ] || status=1
if [ "$status" -ne 0 ] || [ "$driver_failed" -ne 0 ]; then
  echo
  echo "== drivers' log ($out/drivers.log), failures and errors:"
  grep -v ': pass' "$out/drivers.log" | tail -n 60 || true
  echo "== server log (tail):"
  tail -n 20 "$out/server.log" || true
  exit 1
fi
