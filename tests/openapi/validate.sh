#!/usr/bin/env bash
# Validates OpenAPI documents with openapi-spec-validator (independent of sse-runtime),
# pinned in requirements.txt and installed on first use into target/openapi-venv
# (tests/src/venv.sh).
#
#   tests/openapi/validate.sh FILE...
#
# Exit status: 0 every document is valid; 1 a document is invalid; 3 the validator could
# not be installed (no python3/venv, no registry): tests/it/openapi.rs skips on 3,
# except under CI=true, where it fails.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
exec "$here/../src/venv.sh" openapi "$here/requirements.txt" "$here/validate.py" "$@"
