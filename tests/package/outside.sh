#!/usr/bin/env bash
# Proof from outside the repository (issue 22): the crates as `cargo package` makes them are
# enough for an app that depends on `sse-runtime = "0.1"` by version.
#
#   bash tests/package/outside.sh
#
# 1. `cargo package -p sse-macros -p sse-runtime`, with its verification (each .crate is
#    unpacked and built on its own, sse-runtime against the packaged sse-macros), and the
#    size and file list of each .crate.
# 2. The .crate files are unpacked into a temporary folder outside the workspace.
# 3. The app of tests/package/app (sse-runtime = "0.1", tokio, serde: what the crate README
#    tells a user to write) is copied to another temporary folder outside the workspace,
#    built, and the unpacked crates are offered to it in place of crates.io's by a
#    `[patch.crates-io]` in that folder's `.cargo/config.toml`; every other dependency comes
#    from crates.io, resolved afresh as for a new user (no Cargo.lock of ours).
# 4. The app serves a streaming route; `curl -N` reads it, and the event text must be
#    exactly what the README says the route sends.
#
# Why `[patch]` to the unpacked .crate folders, and not a local registry or a directory
# source: the app's own Cargo.toml stays exactly what a user writes (a local registry
# would need `registry = "..."` on the dependency, and building its index takes a tool
# cargo does not ship); a directory source replaces crates.io as a whole, so every other
# dependency would have to be vendored too, while this app should get them from crates.io
# as users do. What `[patch]` points at is the unpacked .crate, byte for byte what crates.io
# would serve (the normalized Cargo.toml and only the included files), so a file missing
# from `include`, or a dependency without a version, fails here. The script checks that
# cargo resolved `sse-runtime` and `sse-macros` to those folders and to nothing in the
# repository.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root"
target="${CARGO_TARGET_DIR:-$root/target}"
started=$SECONDS

echo "== cargo package -p sse-macros -p sse-runtime (with verification)"
cargo package -p sse-macros -p sse-runtime
version="$(sed -n 's/^version = "\(.*\)"$/\1/p' Cargo.toml | head -1)"
for crate in sse-macros sse-runtime; do
  file="$target/package/$crate-$version.crate"
  [ -f "$file" ] || { echo "FAILED: no $file"; exit 1; }
  echo "-- $crate-$version.crate: $(stat -c %s "$file") bytes compressed, $(tar -tzf "$file" | wc -l) files:"
  tar -tvzf "$file" | awk '{ printf "   %8s  %s\n", $3, $6 }'
done
echo "(package step: $((SECONDS - started)) s)"

work="$(mktemp -d /tmp/sse-outside.XXXXXX)"
server=""
cleanup() {
  if [ -n "$server" ]; then kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT
case "$work" in "$root"/*) echo "FAILED: $work is inside the repository"; exit 1 ;; esac

mkdir -p "$work/crates"
for crate in sse-macros sse-runtime; do
  tar -xzf "$target/package/$crate-$version.crate" -C "$work/crates"
done
cp -r "$root/tests/package/app" "$work/app"
mkdir -p "$work/app/.cargo"
cat > "$work/app/.cargo/config.toml" <<EOF
# The packaged crates, unpacked, in place of crates.io's (see tests/package/outside.sh).
[patch.crates-io]
sse-runtime = { path = "$work/crates/sse-runtime-$version" }
sse-macros = { path = "$work/crates/sse-macros-$version" }
EOF

echo
echo "== build the app outside the workspace ($work/app)"
cd "$work/app"
# A target folder of its own, kept between local runs (the repository's target/ by default).
export CARGO_TARGET_DIR="$target/package-outside-app"
cargo build
# Where cargo took sse-runtime and sse-macros from: the unpacked .crate files, and nothing
# of the repository.
cargo metadata --format-version 1 >"$work/metadata.json"
python3 - "$work/metadata.json" "$work/crates" "$root" "$version" <<'EOF'
import json, sys
metadata, crates, root, version = sys.argv[1:]
packages = {p["name"]: p for p in json.load(open(metadata))["packages"]}
for name in ("sse-runtime", "sse-macros"):
    p = packages.get(name)
    if p is None:
        sys.exit(f"FAILED: {name} is not in the app's dependency graph")
    path = p["manifest_path"]
    if not path.startswith(f"{crates}/{name}-{version}/") or path.startswith(root + "/"):
        sys.exit(f"FAILED: {name} resolved to {path}, not to the unpacked .crate")
    print(f"{name} {p['version']}: {path}")
requirement = [d for d in packages["outside-app"]["dependencies"] if d["name"] == "sse-runtime"][0]
if requirement["req"] != "^0.1" or requirement.get("path"):
    sys.exit(f"FAILED: the app depends on sse-runtime by {requirement}, not by version 0.1")
print(f"outside-app depends on sse-runtime {requirement['req']} (by version, from crates.io's name)")
EOF
cargo tree -e normal --depth 1 | head -20

echo
echo "== serve and read the stream with curl -N"
"$CARGO_TARGET_DIR/debug/outside-app" >"$work/server.out" 2>"$work/server.err" &
server=$!
addr=""
for _ in $(seq 1 100); do
  addr="$(sed -n 's|^listening on http://||p' "$work/server.out")"
  [ -n "$addr" ] && break
  kill -0 "$server" 2>/dev/null || { cat "$work/server.err"; echo "FAILED: the app exited"; exit 1; }
  sleep 0.1
done
[ -n "$addr" ] || { echo "FAILED: the app did not say where it listens"; exit 1; }
body="$(curl -sSN --max-time 20 "http://$addr/stocks/AAPL/stream")"
expected="$(printf 'event: price_update\ndata: {"symbol":"AAPL","tick":0}\nid: 0\n\nevent: price_update\ndata: {"symbol":"AAPL","tick":1}\nid: 1\n\nevent: price_update\ndata: {"symbol":"AAPL","tick":2}\nid: 2\n')"
printf '%s\n' "$body"
if [ "$body" != "$expected" ]; then
  echo "FAILED: curl read something else; expected:"
  printf '%s\n' "$expected"
  exit 1
fi
headers="$(curl -sS --max-time 20 -o /dev/null -D - "http://$addr/stocks/AAPL/stream")"
printf '%s\n' "$headers" | grep -qi '^content-type: text/event-stream' \
  || { printf '%s\n' "$headers"; echo "FAILED: not text/event-stream"; exit 1; }
kill "$server"
wait "$server" 2>/dev/null || true
server=""
echo "outside app: 3 events read by curl, as the README says ($((SECONDS - started)) s in all)"
