#!/usr/bin/env bash
# Runs a Python script of the tests in a venv of its own, with the packages pinned in a
# requirements file, installed on first use under the cargo target dir. Idempotent: the
# venv is reused while the requirements file is unchanged; concurrent callers wait for one
# install. Shared by tests/openapi/validate.sh and tests/abuse/h2_attacks.sh.
#
#   tests/src/venv.sh NAME REQUIREMENTS --install          # prepare target/NAME-venv only
#   tests/src/venv.sh NAME REQUIREMENTS SCRIPT [ARGS...]   # then run SCRIPT in it
#
# Exit status: 3 when the venv cannot be made (no python3/venv, no registry), which the
# Rust tests treat by the rule of tests/src/tools.rs (skip with a notice, fail under CI);
# otherwise SCRIPT's own.
set -euo pipefail
name="$1"
requirements="$2"
shift 2
root="$(cd "$(dirname "$0")/../.." && pwd)"
target="${CARGO_TARGET_DIR:-$root/target}"
venv="$target/$name-venv"
mkdir -p "$target"

stamp="$venv/.installed-$(sha256sum "$requirements" | cut -c1-16)"
if [ ! -f "$stamp" ]; then
    exec 9>"$target/$name-venv.lock"
    flock 9
    if [ ! -f "$stamp" ]; then
        echo "installing $(basename "$requirements") of $name into $venv" >&2
        rm -rf "$venv"
        if ! python3 -m venv "$venv" >&2; then
            echo "venv.sh $name: cannot create a Python venv (python3 -m venv)" >&2
            exit 3
        fi
        if ! "$venv/bin/python" -m pip install --quiet --disable-pip-version-check \
            --no-input -r "$requirements" >&2; then
            echo "venv.sh $name: cannot install $requirements" >&2
            exit 3
        fi
        touch "$stamp"
    fi
    exec 9>&-
fi
if [ "${1:-}" = "--install" ]; then
    exit 0
fi
exec "$venv/bin/python" "$@"
