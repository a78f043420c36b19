#!/usr/bin/env python3
"""The cases an independent conformance server serves (issue 23), as a cases file the
drivers take: only the cases the server lists at /cases, and, where cases.json records a
deviation of that server (`servers.NAME`: what the spec says it should send, and what it
sends), that server's expectation, with `server_why` for the report (`pass*`).

    python3 cases_for.py SERVER BASE_URL CASES_JSON OUT_JSON
"""

import json
import sys
import urllib.request


def main():
    server, base, cases_path, out = sys.argv[1:5]
    with urllib.request.urlopen(f"{base}/cases", timeout=10) as response:
        served = set(json.load(response))
    with open(cases_path, encoding="utf-8") as f:
        doc = json.load(f)
    cases = []
    for case in doc["cases"]:
        if case["name"] not in served:
            continue
        deviation = case.get("servers", {}).get(server)
        if deviation:
            case = {**case, "expect": deviation["expect"], "server_why": deviation["why"]}
        cases.append(case)
    doc["cases"] = cases
    doc["server"] = server
    with open(out, "w", encoding="utf-8") as f:
        json.dump(doc, f, ensure_ascii=False, indent=1)
    print(f"{server}: {len(cases)} cases")


if __name__ == "__main__":
    main()
