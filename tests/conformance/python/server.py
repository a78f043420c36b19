"""An independent conformance server (issue 23): the cases of cases.json served by
sse-starlette's EventSourceResponse and ServerSentEvent on Starlette and uvicorn (nothing of
sse-runtime), for our client (and Chromium, for reference) to check.

    python server.py          # ADDR=127.0.0.1:0 by default

Prints `listening on http://HOST:PORT` first. Routes as server.rs, for what a server of
another framework can serve: /case/{name} (every `stream` and `retry` case but the two that
check our encoder's refusals), /resume, /fail/{mode}/{key}, /cancel/{key}, /hits/{key},
/page, /run-case.js, and /cases: the names of the cases it serves. HTTP/1.1 only (uvicorn).
"""

import asyncio
import json
import os
import pathlib
import socket
import sys
from collections import defaultdict

import uvicorn
from sse_starlette import EventSourceResponse, ServerSentEvent
from starlette.applications import Starlette
from starlette.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

HERE = pathlib.Path(__file__).resolve().parent
CASES = json.loads((HERE.parent / "cases.json").read_text(encoding="utf-8"))["cases"]
RUN_CASE_JS = (HERE.parent / "node" / "run-case.js").read_text(encoding="utf-8")
NOT_SERVED = {"injection-refused", "nul-id-refused"}
SERVED = {
    c["name"]: c
    for c in CASES
    if c["kind"] in ("stream", "retry") and c["name"] not in NOT_SERVED
}
OTHERS = ["resume", "fail-204", "fail-500", "fail-wrong-type", "fail-stream-error", "cancel"]
PAGE = """<!doctype html>
<html lang="en">
<meta charset="utf-8">
<title>sse-starlette conformance</title>
<script type="module">
import { runCase } from "/run-case.js";
window.runCase = runCase;
</script>
</html>
"""

hits = defaultdict(int)


def expand(text):
    if isinstance(text, str):
        return text
    return text["repeat"] * text["times"]


def build(item):
    """One event, with sse-starlette's own ServerSentEvent."""
    data = None
    if "data" in item:
        data = json.dumps(item["data"], ensure_ascii=False, separators=(",", ":"))
    if "raw_data" in item:
        data = expand(item["raw_data"])
    return ServerSentEvent(
        data=data,
        event=item.get("event"),
        id=item.get("id"),
        retry=item.get("retry_ms"),
        comment=item.get("comment"),
    )


async def case(request):
    name = request.path_params["name"]
    spec = SERVED.get(name)
    if spec is None:
        return PlainTextResponse(f"no case `{name}`", status_code=404)

    async def events():
        if spec.get("sse_retry_ms") is not None:
            yield ServerSentEvent(retry=spec["sse_retry_ms"])
        for item in spec.get("send", []):
            if "sleep_ms" in item:
                await asyncio.sleep(item["sleep_ms"] / 1000)
                continue
            yield build(item)

    ping = spec.get("keep_alive_ms")
    return EventSourceResponse(events(), ping=ping / 1000 if ping else 0)


async def resume(request):
    received = request.headers.get("last-event-id")
    try:
        start = int(received) + 1 if received is not None else 0
    except ValueError:
        start = 0
    if start >= 10:
        return Response(status_code=204)

    async def events():
        for n in range(start, min(start + 3, 10)):
            data = json.dumps({"n": n, "last_event_id": received}, separators=(",", ":"))
            yield ServerSentEvent(data=data, id=str(n), retry=100 if n == start else None)

    return EventSourceResponse(events(), ping=0)


async def fail(request):
    mode, key = request.path_params["mode"], request.path_params["key"]
    hits[key] += 1
    if hits[key] == 1:

        async def first():
            yield ServerSentEvent(data="first", retry=100)

        return EventSourceResponse(first(), ping=0)
    if mode == "204":
        return Response(status_code=204)
    if mode == "500":
        return JSONResponse({"detail": "conformance: failing on purpose"}, status_code=500)
    if mode == "wrong-type":
        return PlainTextResponse("data: not an event stream\n\n")
    if mode == "stream-error":
        return JSONResponse({"detail": "conformance: unavailable"}, status_code=503)
    return PlainTextResponse(f"no failure mode `{mode}`", status_code=404)


async def cancel(request):
    key = request.path_params["key"]
    hits[key] += 1

    async def events():
        try:
            n = 0
            while True:
                yield ServerSentEvent(data=str(n), id=str(n))
                n += 1
                await asyncio.sleep(0.05)
        finally:
            hits[f"{key}-dropped"] += 1

    return EventSourceResponse(events(), ping=0)


async def count(request):
    return PlainTextResponse(str(hits[request.path_params["key"]]))


async def cases(_request):
    return JSONResponse(sorted([*SERVED, *OTHERS]))


async def page(_request):
    return HTMLResponse(PAGE)


async def run_case_js(_request):
    return Response(RUN_CASE_JS, media_type="text/javascript; charset=utf-8")


app = Starlette(
    routes=[
        Route("/case/{name}", case),
        Route("/resume", resume),
        Route("/fail/{mode}/{key}", fail),
        Route("/cancel/{key}", cancel),
        Route("/hits/{key:path}", count),
        Route("/cases", cases),
        Route("/page", page),
        Route("/run-case.js", run_case_js),
    ]
)


def main():
    host, port = os.environ.get("ADDR", "127.0.0.1:0").rsplit(":", 1)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, int(port)))
    print(f"listening on http://{host}:{sock.getsockname()[1]}", flush=True)
    config = uvicorn.Config(app, log_level=os.environ.get("LOG_LEVEL", "warning"))
    uvicorn.Server(config).run(sockets=[sock])


if __name__ == "__main__":
    sys.exit(main())
