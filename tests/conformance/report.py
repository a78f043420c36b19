#!/usr/bin/env python3
"""Prints the conformance table (issue 5): case x client -> pass / pass* / FAIL.

    python3 report.py cases.json RESULTS_DIR [CLIENT,CLIENT...]

The third argument names the clients expected (default: every client of the main run);
each must have written its results.

Reads every `results-*.json` a driver wrote to RESULTS_DIR. A missing cell is a failure.
`pass*` means the client deviates from the WHATWG algorithm in a documented way and saw
exactly the deviant sequence the case predicts for it, or that the server (an independent
one: `server_why` in the cases file cases_for.py wrote) deviates in a documented way and
the client saw what it sent. Then, when Chromium ran, the reconnection cases side by side:
what Chromium's native EventSource did and what each other EventSource did. Exits 1 on any
failure.
"""

import glob
import json
import os
import sys

CLIENTS = ["chromium", "eventsource", "httpx-sse", "rust", "rust-h2", "curl", "curl-h2", "sse-client", "sse-client-h2"]
# The reconnection cases, compared with Chromium (issue 23).
RECONNECT_KINDS = ("retry", "resume", "fail")
# The clients that reconnect on their own (the others are parsers driven by their driver).
EVENTSOURCES = ["chromium", "eventsource", "sse-client", "sse-client-h2"]


def main():
    cases_path, results_dir = sys.argv[1], sys.argv[2]
    expected = sys.argv[3].split(",") if len(sys.argv) > 3 else CLIENTS
    with open(cases_path, encoding="utf-8") as f:
        specs = json.load(f)["cases"]
    cases = [c["name"] for c in specs]
    server_why = {c["name"]: c["server_why"] for c in specs if c.get("server_why")}
    kinds = {c["name"]: c["kind"] for c in specs}
    runs = {}
    for path in sorted(glob.glob(os.path.join(results_dir, "results-*.json"))):
        with open(path, encoding="utf-8") as f:
            run = json.load(f)
        runs[run["client"]] = run
    clients = expected + sorted(set(runs) - set(expected))
    cells = {c: {r["case"]: r for r in runs[c]["results"]} if c in runs else {} for c in clients}

    width = max(len(c) for c in cases)
    header = "case".ljust(width) + " | " + " | ".join(c.ljust(max(len(c), 5)) for c in clients)
    print(header)
    print("-" * len(header))
    passed = failed = 0
    failures, notes = [], {}
    for case in cases:
        row = []
        for client in clients:
            result = cells[client].get(case)
            status = result["status"] if result else "missing"
            if status == "pass" and case in server_why:
                status = "pass*"
                result = {**result, "detail": f"client deviation: server: {server_why[case]}"}
            if status in ("pass", "pass*"):
                passed += 1
                label = status
                if status == "pass*":
                    notes.setdefault(result["detail"].split("client deviation: ", 1)[-1], []).append(f"{case}/{client}")
            else:
                failed += 1
                label = "FAIL"
                detail = result["detail"] if result else "no result (did the driver run? see drivers.log)"
                failures.append(f"{case} x {client}: {detail}")
            row.append(label.ljust(max(len(client), 5)))
        print(case.ljust(width) + " | " + " | ".join(row))
    print()
    print("clients:")
    for client in clients:
        version = runs[client]["version"] if client in runs else "(no results)"
        print(f"  {client:<12} {version}")
    if notes:
        print()
        print("pass* = the client deviates from the WHATWG algorithm; it saw exactly the sequence predicted for it:")
        for why, where in notes.items():
            print(f"  - {why} ({len(where)} cells: {', '.join(where)})")
    if "chromium" in runs:
        present = [c for c in EVENTSOURCES if c in runs]
        print()
        print("reconnection, by case (Chromium is the reference):")
        for case in cases:
            if kinds.get(case) not in RECONNECT_KINDS:
                continue
            print(f"  {case}:")
            for client in present:
                result = cells[client].get(case)
                text = f"{result['status']}: {result['detail']}" if result else "missing"
                print(f"    {client:<14} {text}")
    if failures:
        print()
        print("failures:")
        for line in failures:
            print(f"  - {line}")
    print()
    print(f"conformance: {passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
