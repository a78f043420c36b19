"""The FastAPI server of the benchmark: the same routes as the Rust servers.

Written the way FastAPI's Server-Sent Events guide writes them: a path operation with
``response_class=EventSourceResponse`` that ``yield``s Pydantic models (each sent as one
``data:`` line of JSON, with FastAPI's default keep-alive ``: ping`` comments).

Run by the bench as ``python -m uvicorn app:app --app-dir <this dir> --port N``.
"""

import asyncio
import time
from collections.abc import AsyncIterable

from fastapi import FastAPI
from fastapi.sse import EventSourceResponse
from pydantic import BaseModel


class Event(BaseModel):
    message: str
    timestamp: float


app = FastAPI()


@app.get("/events", response_class=EventSourceResponse)
async def events() -> AsyncIterable[Event]:
    """An endless stream, as fast as it can be produced (throughput)."""
    i = 0
    while True:
        yield Event(message=f"Event {i}", timestamp=time.time())
        i += 1


@app.get("/idle", response_class=EventSourceResponse)
async def idle() -> AsyncIterable[Event]:
    """One event, then silence but keep-alive (open streams, time to first event)."""
    yield Event(message="Event 0", timestamp=time.time())
    await asyncio.Event().wait()


@app.get("/short", response_class=EventSourceResponse)
async def short() -> AsyncIterable[Event]:
    """Ten events, then the end of the response (short streams)."""
    for i in range(10):
        yield Event(message=f"Event {i}", timestamp=time.time())


# Fan-out: one asyncio queue per subscriber, as a FastAPI app without a broker would do.
subscribers: set[asyncio.Queue] = set()
publishers: set[asyncio.Task] = set()


@app.get("/fanout", response_class=EventSourceResponse)
async def fanout() -> AsyncIterable[Event]:
    """Every event published to the topic, as it comes."""
    queue: asyncio.Queue = asyncio.Queue()
    subscribers.add(queue)
    try:
        while True:
            yield await queue.get()
    finally:
        subscribers.discard(queue)


@app.get("/publish")
async def publish(n: int, every_ms: int) -> str:
    """Starts publishing ``n`` events, one every ``every_ms`` ms."""

    async def run() -> None:
        for i in range(n):
            event = Event(message=f"Event {i}", timestamp=time.time())
            for queue in list(subscribers):
                queue.put_nowait(event)
            await asyncio.sleep(every_ms / 1000)

    task = asyncio.get_running_loop().create_task(run())
    publishers.add(task)
    task.add_done_callback(publishers.discard)
    return "ok"
