#!/usr/bin/env bash
# Runs h2_attacks.py (HTTP/2 attacks driven by the Python `h2` library, independent of the
# hand-written frames of tests/it/h2_abuse.rs) with `h2` pinned in requirements.txt,
# installed on first use into target/h2-attacks-venv (tests/src/venv.sh).
#
#   tests/abuse/h2_attacks.sh --install            # prepare the venv only
#   tests/abuse/h2_attacks.sh ATTACK HOST PORT SECONDS [tls]
#
# Exit status: 0 done (the attack's JSON report on stdout); 3 the venv could not be
# installed (no python3/venv, no registry): tests/it/h2_abuse.rs skips on 3, except
# under CI=true, where it fails; anything else: the attack itself failed.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
if [ "${1:-}" = "--install" ]; then
    exec "$here/../src/venv.sh" h2-attacks "$here/requirements.txt" --install
fi
exec "$here/../src/venv.sh" h2-attacks "$here/requirements.txt" "$here/h2_attacks.py" "$@"
