#!/usr/bin/env python3
"""Python `httpx` + `httpx-sse` over every conformance case (issue 5).

    python driver.py --base http://127.0.0.1:PORT --cases ../cases.json --out results.json

httpx-sse is a parser, not an EventSource: it does not reconnect. Where a case needs a
reconnection, this driver does what an EventSource would (reconnect after the `retry` the
client parsed, sending the `Last-Event-ID` it parsed, stop on 204) and checks the events
the client yields.
"""

import argparse
import json
import sys
import time
import uuid
from importlib.metadata import version

import httpx
from httpx_sse import SSEError, connect_sse

CLIENT = "httpx-sse"
EVENT_STREAM = "text/event-stream; charset=utf-8"


def expand(text):
    if isinstance(text, str):
        return text
    if isinstance(text, list):
        return "".join(expand(t) for t in text)
    return text["repeat"] * text["times"]


def normalize(expected):
    out = []
    for e in expected:
        if "one_or_more" in e:
            out.append({"one_or_more": normalize([e["one_or_more"]])[0]})
        else:
            out.append({"type": e["type"], "data": expand(e["data"]), "lastEventId": e["lastEventId"]})
    return out


def show(value):
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 200 else f"{text[:200]}... ({len(text)} chars)"


def diff_events(got, want):
    """First difference, or None. `{"one_or_more": e}` in `want` matches a run of e."""
    i = 0
    for w in want:
        if "one_or_more" in w:
            run = 0
            while i < len(got) and got[i] == w["one_or_more"]:
                i += 1
                run += 1
            if run == 0:
                return f"event {i}: got {show(got[i] if i < len(got) else None)}, want one or more {show(w['one_or_more'])}"
            continue
        if i >= len(got) or got[i] != w:
            return f"event {i}: got {show(got[i] if i < len(got) else None)}, want {show(w)} ({len(got)} events)"
        i += 1
    if i < len(got):
        return f"event {i}: got {show(got[i])}, want nothing more ({len(got)} events)"
    return None


def event_of(sse):
    return {"type": sse.event, "data": sse.data, "lastEventId": sse.id}


def check_stream_headers(response, problems):
    if response.status_code != 200:
        problems.append(f"status {response.status_code}, want 200")
    for name, want in (("content-type", EVENT_STREAM), ("cache-control", "no-cache")):
        got = response.headers.get(name)
        if got != want:
            problems.append(f"{name}: {got!r}, want {want!r}")


def hits(client, base, key):
    return int(client.get(f"{base}/hits/{key}").text)


def run_case(client, base, spec):
    key = f"{CLIENT}-{spec['name']}-{uuid.uuid4().hex[:8]}"
    override = spec.get("clients", {}).get(CLIENT)
    want = normalize(override["expect"] if override and "expect" in override else spec.get("expect", []))
    problems = []
    kind = spec["kind"]
    detail = ""

    if kind in ("stream", "split", "retry"):
        url = f"{base}/split" if kind == "split" else f"{base}/case/{spec['name']}"
        with connect_sse(client, "GET", url) as source:
            check_stream_headers(source.response, problems)
            items = list(source.iter_sse())
        got = [event_of(s) for s in items]
        detail = f"{len(got)} events"
        if kind == "retry":
            retries = [s.retry for s in items if s.retry is not None]
            if retries != [spec["retry_ms"]]:
                problems.append(f"parsed retry values {retries}, want [{spec['retry_ms']}]")
            detail += f", parsed retry {retries}"
    elif kind == "compressed":
        # As `stream`, compressed with the case's coding (httpx decodes gzip, and br and
        # zstd with the `brotli` and `zstandard` packages of requirements.txt).
        url = f"{base}/zcase/{spec['name']}/{key}"
        with connect_sse(client, "GET", url) as source:
            check_stream_headers(source.response, problems)
            encoding = source.response.headers.get("content-encoding", "identity")
            got = [event_of(s) for s in source.iter_sse()]
        coding = (override or {}).get("coding", spec["coding"])
        if encoding != coding:
            problems.append(f"content-encoding {encoding!r}, want {coding!r}")
        if hits(client, base, f"{key}-coding-{coding}") != 1:
            problems.append(f"the server did not negotiate {coding}")
        detail = f"{len(got)} events, Content-Encoding {coding}"
    elif kind == "resume":
        got, connections, last_id, retry_ms = [], 0, "", 3000
        for _ in range(20):
            headers = {"Last-Event-ID": last_id} if last_id else {}
            with connect_sse(client, "GET", f"{base}{spec['path']}", headers=headers) as source:
                if source.response.status_code == 204:
                    break
                check_stream_headers(source.response, problems)
                connections += 1
                for sse in source.iter_sse():
                    got.append(event_of(sse))
                    last_id = sse.id
                    if sse.retry is not None:
                        retry_ms = sse.retry
            time.sleep(retry_ms / 1000)
        else:
            problems.append("no 204 after 20 connections")
        if connections != spec["expect_opens"]:
            problems.append(f"{connections} connections, want {spec['expect_opens']}")
        detail = f"{len(got)} events over {connections} connections, then 204"
    elif kind == "fail":
        url = f"{base}/fail/{spec['mode']}/{key}"
        with connect_sse(client, "GET", url) as source:
            check_stream_headers(source.response, problems)
            got = [event_of(s) for s in source.iter_sse()]
        failure = spec["failure"]
        with connect_sse(client, "GET", url) as source:
            response = source.response
            response.read()
            if response.status_code != failure["status"]:
                problems.append(f"status {response.status_code}, want {failure['status']}")
            if response.headers.get("content-type") != failure["content_type"]:
                problems.append(f"content-type {response.headers.get('content-type')!r}, want {failure['content_type']!r}")
            if response.text != failure["body"]:
                problems.append(f"body {response.text!r}, want {failure['body']!r}")
            try:
                list(source.iter_sse())
                problems.append("httpx-sse accepted a response that is not an event stream")
            except SSEError:
                pass
        requests = hits(client, base, key)
        if requests != 2:
            problems.append(f"server saw {requests} requests, want 2")
        detail = f"HTTP {failure['status']} refused by httpx-sse (SSEError)"
    elif kind == "cancel":
        got = []
        with connect_sse(client, "GET", f"{base}/cancel/{key}") as source:
            check_stream_headers(source.response, problems)
            for sse in source.iter_sse():
                got.append(event_of(sse))
                break
        started = time.monotonic()
        dropped = 0
        while time.monotonic() - started < 3:
            dropped = hits(client, base, f"{key}-dropped")
            if dropped >= 1:
                break
            time.sleep(0.025)
        if dropped != 1:
            problems.append(f"server cleanup ran {dropped} times within 3 s of closing, want 1")
        detail = f"server cleanup ran {1000 * (time.monotonic() - started):.0f} ms after closing"
    else:
        return {"status": "fail", "detail": f"unknown case kind {kind}"}

    diff = diff_events(got, want)
    if diff:
        problems.append(diff)
    if problems:
        return {"status": "fail", "detail": "; ".join(problems)}
    if override:
        return {"status": "pass*", "detail": f"{detail}; client deviation: {override['why']}"}
    return {"status": "pass", "detail": detail}


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--base", required=True)
    parser.add_argument("--cases", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--only", default=None)
    args = parser.parse_args()
    with open(args.cases, encoding="utf-8") as f:
        cases = json.load(f)["cases"]
    if args.only:
        only = set(args.only.split(","))
        cases = [c for c in cases if c["name"] in only]
    results = []
    with httpx.Client(timeout=httpx.Timeout(20.0)) as client:
        for spec in cases:
            started = time.monotonic()
            try:
                result = run_case(client, args.base, spec)
            except Exception as err:  # noqa: BLE001 - any driver error is a failed cell
                result = {"status": "fail", "detail": f"driver error: {err!r}"}
            results.append({"case": spec["name"], **result})
            ms = 1000 * (time.monotonic() - started)
            note = "" if result["status"] == "pass" else result["detail"]
            print(f"[{CLIENT}] {spec['name']}: {result['status']} ({ms:.0f} ms) {note}", file=sys.stderr)
    out = {
        "client": CLIENT,
        "version": f"httpx-sse {version('httpx-sse')}, httpx {version('httpx')}, Python {sys.version.split()[0]}",
        "results": results,
    }
    with open(args.out, "w", encoding="utf-8") as f:
        json.dump(out, f, ensure_ascii=False, indent=1)


if __name__ == "__main__":
    main()
