#!/usr/bin/env python3
"""`curl -N` over every conformance case (issue 5): the exact bytes on the wire.

    python3 curl_driver.py --base http://127.0.0.1:PORT --cases cases.json --out results.json [--http2]

With `--http2`, curl speaks HTTP/2 with prior knowledge (h2c) and the driver checks that
it did. Only the Python standard library and the `curl` binary are used.
"""

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
import uuid

EVENT_STREAM = "text/event-stream; charset=utf-8"


def expand(text):
    if isinstance(text, str):
        return text
    if isinstance(text, list):
        return "".join(expand(t) for t in text)
    return text["repeat"] * text["times"]


def show(data):
    text = repr(data)
    return text if len(text) <= 160 else f"{text[:160]}... ({len(data)} bytes)"


class Curl:
    def __init__(self, base, http2):
        self.base = base
        self.http2 = http2
        self.dir = tempfile.mkdtemp(prefix="conformance-curl-")

    def get(self, path, headers=None, max_time=20.0, compressed=False):
        """(exit code, status, http version, lower-cased headers, body bytes)"""
        head = os.path.join(self.dir, "head")
        body = os.path.join(self.dir, "body")
        cmd = ["curl", "-sS", "-N", "--max-time", str(max_time), "-D", head, "-o", body,
               "-w", "%{http_code} %{http_version}"]
        if compressed:
            # Sends `Accept-Encoding: deflate, gzip, br, zstd` and decodes as it reads.
            cmd.append("--compressed")
        if self.http2:
            cmd.append("--http2-prior-knowledge")
        for name, value in (headers or {}).items():
            cmd += ["-H", f"{name}: {value}"]
        cmd.append(self.base + path)
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
        status, _, version = proc.stdout.partition(" ")
        fields = {}
        with open(head, "rb") as f:
            for line in f.read().decode("latin-1").split("\r\n")[1:]:
                name, sep, value = line.partition(":")
                if sep:
                    fields[name.strip().lower()] = value.strip()
        with open(body, "rb") as f:
            data = f.read()
        return proc.returncode, int(status or 0), version, fields, data

    def expect(self, path, problems, *, status=200, content_type=EVENT_STREAM, wire=None,
               wire_regex=None, headers=None, coding=None):
        code, got_status, version, fields, data = self.get(path, headers, compressed=coding is not None)
        if coding is not None and fields.get("content-encoding", "identity") != coding:
            problems.append(f"{path}: content-encoding {fields.get('content-encoding')!r}, want {coding!r}")
        if code != 0:
            problems.append(f"curl exit code {code}")
        want_version = "2" if self.http2 else "1.1"
        if version != want_version:
            problems.append(f"HTTP version {version}, want {want_version}")
        if got_status != status:
            problems.append(f"{path}: status {got_status}, want {status}")
        if fields.get("content-type") != content_type:
            problems.append(f"{path}: content-type {fields.get('content-type')!r}, want {content_type!r}")
        if content_type == EVENT_STREAM and fields.get("cache-control") != "no-cache":
            problems.append(f"{path}: cache-control {fields.get('cache-control')!r}, want 'no-cache'")
        if wire is not None and data != expand(wire).encode("utf-8"):
            problems.append(f"{path}: body {show(data)}, want {show(expand(wire).encode('utf-8'))}")
        if wire_regex is not None and not re.fullmatch(wire_regex.encode("utf-8"), data):
            problems.append(f"{path}: body {show(data)} does not match {wire_regex!r}")
        return data

    def hits(self, key):
        return int(self.get(f"/hits/{key}")[4])


def run_case(curl, client, spec):
    problems = []
    kind = spec["kind"]
    key = f"{client}-{spec['name']}-{uuid.uuid4().hex[:8]}"
    detail = "exact bytes"
    if kind in ("stream", "split", "retry"):
        path = "/split" if kind == "split" else f"/case/{spec['name']}"
        data = curl.expect(path, problems, wire=spec.get("wire"), wire_regex=spec.get("wire_regex"))
        detail = f"{len(data)} bytes" + (" (pattern)" if "wire_regex" in spec else " exact")
    elif kind == "compressed":
        # `--compressed`: the decoded bytes must be exactly the stream's.
        data = curl.expect(f"/zcase/{spec['name']}/{key}", problems, wire=spec.get("wire"),
                           wire_regex=spec.get("wire_regex"), coding=spec["coding"])
        if curl.hits(f"{key}-coding-{spec['coding']}") != 1:
            problems.append(f"the server did not negotiate {spec['coding']}")
        detail = f"{len(data)} bytes decoded from {spec['coding']} (pattern)"
    elif kind == "resume":
        for request in spec["curl"]:
            curl.expect(spec["path"], problems, status=request["status"],
                        content_type=request.get("content_type", EVENT_STREAM),
                        wire=request["wire"], headers=request["headers"])
        detail = f"{len(spec['curl'])} requests with Last-Event-ID, exact bytes"
    elif kind == "fail":
        path = f"/fail/{spec['mode']}/{key}"
        curl.expect(path, problems, wire=spec["first_wire"])
        failure = spec["failure"]
        curl.expect(path, problems, status=failure["status"], content_type=failure["content_type"],
                    wire=failure["body"])
        requests = curl.hits(key)
        if requests != 2:
            problems.append(f"server saw {requests} requests, want 2")
        detail = f"stream, then HTTP {failure['status']}"
    elif kind == "cancel":
        code, status, _, fields, data = curl.get(f"/cancel/{key}", max_time=0.3)
        if code != 28:
            problems.append(f"curl exit code {code}, want 28 (stopped by --max-time)")
        if status != 200 or fields.get("content-type") != EVENT_STREAM:
            problems.append(f"status {status}, content-type {fields.get('content-type')!r}")
        if not data.startswith(b"data: 0\nid: 0\n\ndata: 1\nid: 1\n\n"):
            problems.append(f"body {show(data)} does not start with events 0 and 1")
        started = time.monotonic()
        dropped = 0
        while time.monotonic() - started < 3:
            dropped = curl.hits(f"{key}-dropped")
            if dropped >= 1:
                break
            time.sleep(0.025)
        if dropped != 1:
            problems.append(f"server cleanup ran {dropped} times within 3 s of curl exiting, want 1")
        detail = f"server cleanup ran {1000 * (time.monotonic() - started):.0f} ms after curl exited"
    else:
        problems.append(f"unknown case kind {kind}")
    if problems:
        return {"status": "fail", "detail": "; ".join(problems)}
    return {"status": "pass", "detail": detail}


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--base", required=True)
    parser.add_argument("--cases", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--only", default=None)
    parser.add_argument("--http2", action="store_true")
    args = parser.parse_args()
    client = "curl-h2" if args.http2 else "curl"
    with open(args.cases, encoding="utf-8") as f:
        cases = json.load(f)["cases"]
    if args.only:
        only = set(args.only.split(","))
        cases = [c for c in cases if c["name"] in only]
    curl = Curl(args.base, args.http2)
    results = []
    for spec in cases:
        started = time.monotonic()
        try:
            result = run_case(curl, client, spec)
        except Exception as err:  # noqa: BLE001 - any driver error is a failed cell
            result = {"status": "fail", "detail": f"driver error: {err!r}"}
        results.append({"case": spec["name"], **result})
        ms = 1000 * (time.monotonic() - started)
        note = "" if result["status"] == "pass" else result["detail"]
        print(f"[{client}] {spec['name']}: {result['status']} ({ms:.0f} ms) {note}", file=sys.stderr)
    version = subprocess.run(["curl", "--version"], capture_output=True, text=True, check=False)
    first = version.stdout.splitlines()[0] if version.stdout else "curl (unknown version)"
    out = {"client": client, "version": " ".join(first.split()[:2]) + (" --http2-prior-knowledge" if args.http2 else ""),
           "results": results}
    with open(args.out, "w", encoding="utf-8") as f:
        json.dump(out, f, ensure_ascii=False, indent=1)


if __name__ == "__main__":
    main()
