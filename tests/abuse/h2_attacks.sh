#!/usr/bin/env bash
# Runs h2_attacks.py (HTTP/2 attacks driven by the Python `h2` library, independent of the
# hand-written frames of tests/it/h2_abuse.rs) with `h2` pinned in requirements.txt,
# installed on first use into a venv under the cargo target dir. Idempotent: the venv is
# reused while requirements.txt is unchanged.
#
#   tests/abuse/h2_attacks.sh --install            # prepare the venv only
#   tests/abuse/h2_attacks.sh ATTACK HOST PORT SECONDS [tls]
#
# Exit status: 0 done (the attack's JSON report on stdout); 3 the venv could not be
# installed (no python3/venv, no registry): tests/it/h2_abuse.rs skips on 3, except
# under CI=true, where it fails; anything else: the attack itself failed.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
target="${CARGO_TARGET_DIR:-$root/target}"
venv="$target/h2-attacks-venv"
requirements="$here/requirements.txt"
mkdir -p "$target"

stamp="$venv/.installed-$(sha256sum "$requirements" | cut -c1-16)"
if [ ! -f "$stamp" ]; then
    # Tests may call this concurrently: one installs, the others wait.
    exec 9>"$target/h2-attacks-venv.lock"
    flock 9
    if [ ! -f "$stamp" ]; then
        echo "installing h2 into $venv" >&2
        rm -rf "$venv"
        if ! python3 -m venv "$venv" >&2; then
            echo "h2_attacks.sh: cannot create a Python venv (python3 -m venv)" >&2
            exit 3
        fi
        if ! "$venv/bin/python" -m pip install --quiet --disable-pip-version-check \
            --no-input -r "$requirements" >&2; then
            echo "h2_attacks.sh: cannot install h2" >&2
            exit 3
        fi
        touch "$stamp"
    fi
    exec 9>&-
fi
if [ "${1:-}" = "--install" ]; then
    exit 0
fi
exec "$venv/bin/python" "$here/h2_attacks.py" "$@"
