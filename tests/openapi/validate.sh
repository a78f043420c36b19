#!/usr/bin/env bash
# Validates OpenAPI documents with openapi-spec-validator (independent of sse-runtime),
# pinned in requirements.txt and installed on first use into a venv under the cargo
# target dir. Idempotent: the venv is reused while requirements.txt is unchanged.
#
#   tests/openapi/validate.sh FILE...
#
# Exit status: 0 every document is valid; 1 a document is invalid; 3 the validator could
# not be installed (no python3/venv, no registry): tests/it/openapi.rs skips on 3,
# except under CI=true, where it fails.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
target="${CARGO_TARGET_DIR:-$root/target}"
venv="$target/openapi-venv"
requirements="$here/requirements.txt"
mkdir -p "$target"

stamp="$venv/.installed-$(sha256sum "$requirements" | cut -c1-16)"
if [ ! -f "$stamp" ]; then
    # Tests may call this concurrently: one installs, the others wait.
    exec 9>"$target/openapi-venv.lock"
    flock 9
    if [ ! -f "$stamp" ]; then
        echo "installing openapi-spec-validator into $venv" >&2
        rm -rf "$venv"
        if ! python3 -m venv "$venv" >&2; then
            echo "validate.sh: cannot create a Python venv (python3 -m venv)" >&2
            exit 3
        fi
        if ! "$venv/bin/python" -m pip install --quiet --disable-pip-version-check \
            --no-input -r "$requirements" >&2; then
            echo "validate.sh: cannot install openapi-spec-validator" >&2
            exit 3
        fi
        touch "$stamp"
    fi
    exec 9>&-
fi
exec "$venv/bin/python" "$here/validate.py" "$@"
