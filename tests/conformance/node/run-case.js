// One conformance case (issue 5) against `globalThis.EventSource`: the browser's native
// one on the page the conformance server serves, or the npm `eventsource` package in Node
// (eventsource-driver.mjs). An ES module that runs unchanged in both.
//
// runCase(spec, base, client) -> { status: "pass" | "fail", detail }
// `spec` is one entry of cases.json; `base` is the server's origin; `client` names the
// client in the hit-counter keys.

const CONNECTING = 0;
const CLOSED = 2;

/** A text of cases.json: a string, `{repeat, times}`, or a list of those, concatenated. */
export function expandText(text) {
  if (typeof text === "string") return text;
  if (Array.isArray(text)) return text.map(expandText).join("");
  return text.repeat.repeat(text.times);
}

function expected(spec) {
  return spec.expect.map((e) => ({ type: e.type, data: expandText(e.data), lastEventId: e.lastEventId }));
}

function show(value) {
  const text = JSON.stringify(value);
  return text.length > 200 ? `${text.slice(0, 200)}... (${text.length} chars)` : text;
}

/** First difference between two event lists, or null. */
export function diffEvents(got, want) {
  for (let i = 0; i < Math.max(got.length, want.length); i++) {
    const g = got[i];
    const w = want[i];
    if (!g || !w || g.type !== w.type || g.data !== w.data || g.lastEventId !== w.lastEventId) {
      return `event ${i}: got ${show(g)}, want ${show(w)} (got ${got.length} events, want ${want.length})`;
    }
  }
  return null;
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Opens an EventSource on `url`, listening to `message` (through `onmessage`) and to every
 * other type in `types` (through `addEventListener`), and logs what happens until
 * `stop(log, es)` is true or `timeoutMs` passes. The source is closed on return.
 */
function observe(url, types, stop, timeoutMs) {
  return new Promise((resolve) => {
    const es = new globalThis.EventSource(url);
    const log = [];
    const t0 = performance.now();
    let done = false;
    let timer;
    const finish = (timedOut) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      es.close();
      resolve({ log, timedOut });
    };
    const check = () => {
      if (stop(log, es)) finish(false);
    };
    const record = (e) => {
      log.push({ kind: "message", type: e.type, data: e.data, lastEventId: e.lastEventId });
      check();
    };
    es.onopen = () => {
      log.push({ kind: "open", t: performance.now() - t0 });
      check();
    };
    es.onmessage = record;
    for (const type of types) {
      if (type === "message") continue;
      if (type === "error") {
        // A server-sent `event: error` is a MessageEvent; a connection error has no data.
        es.addEventListener("error", (e) => {
          if (typeof e.data === "string") record(e);
        });
      } else {
        es.addEventListener(type, record);
      }
    }
    es.addEventListener("error", (e) => {
      if (typeof e.data === "string") return;
      log.push({ kind: "error", readyState: es.readyState, t: performance.now() - t0 });
      check();
    });
    timer = setTimeout(() => finish(true), timeoutMs);
  });
}

const messages = (log) => log.filter((x) => x.kind === "message").map(({ kind, ...e }) => e);
const count = (log, kind) => log.filter((x) => x.kind === kind).length;

async function hits(base, key) {
  const response = await fetch(`${base}/hits/${encodeURIComponent(key)}`);
  return Number(await response.text());
}

function verdict(problems, detail) {
  return problems.length ? { status: "fail", detail: problems.join("; ") } : { status: "pass", detail };
}

export async function runCase(spec, base, client) {
  const key = `${client}-${spec.name}-${Math.random().toString(36).slice(2, 10)}`;
  const want = expected(spec);
  const types = new Set(["message", ...want.map((e) => e.type)]);
  const problems = [];
  switch (spec.kind) {
    case "stream":
    case "split": {
      const url = spec.kind === "split" ? `${base}/split` : `${base}/case/${encodeURIComponent(spec.name)}`;
      // The server ends the stream: the source fires `error` and would reconnect.
      const { log, timedOut } = await observe(url, types, (l) => count(l, "error") > 0, 15000);
      if (timedOut) problems.push("timed out waiting for the end of the stream");
      if (log[0]?.kind !== "open") problems.push(`first happening is ${show(log[0])}, want open`);
      const error = log.find((x) => x.kind === "error");
      if (error && error.readyState !== CONNECTING) {
        problems.push(`after the stream ended readyState is ${error.readyState}, want CONNECTING (0)`);
      }
      const diff = diffEvents(messages(log), want);
      if (diff) problems.push(diff);
      return verdict(problems, `${want.length} events`);
    }
    case "compressed": {
      // As `stream`, compressed with the case's coding if this client accepts it: every
      // event must be decoded as its frame arrives (keep-alive comments between them).
      const url = `${base}/zcase/${encodeURIComponent(spec.name)}/${encodeURIComponent(key)}`;
      const { log, timedOut } = await observe(url, types, (l) => count(l, "error") > 0, 15000);
      if (timedOut) problems.push("timed out waiting for the end of the stream");
      if (log[0]?.kind !== "open") problems.push(`first happening is ${show(log[0])}, want open`);
      const diff = diffEvents(messages(log), want);
      if (diff) problems.push(diff);
      const override = spec.clients?.[client];
      const coding = override?.coding ?? spec.coding;
      const negotiated = await hits(base, `${key}-coding-${coding}`);
      if (negotiated !== 1) problems.push(`the server did not send it as ${coding} (${negotiated} requests)`);
      if (problems.length) return verdict(problems, "");
      const detail = `${want.length} events, Content-Encoding ${coding}`;
      return override ? { status: "pass*", detail: `${detail}; client deviation: ${override.why}` } : verdict([], detail);
    }
    case "retry": {
      const url = `${base}/case/${encodeURIComponent(spec.name)}`;
      // Until the reconnection's `open`: measure from the `error` that ends the first stream.
      const { log, timedOut } = await observe(url, types, (l) => count(l, "open") >= 2, 10000);
      if (timedOut) problems.push("timed out waiting for the reconnection");
      const error = log.find((x) => x.kind === "error");
      const reopen = log.filter((x) => x.kind === "open")[1];
      let delay = NaN;
      if (error && reopen) delay = reopen.t - error.t;
      const [min, max] = spec.delay_ms;
      if (!(delay >= min && delay <= max)) {
        problems.push(`reconnected after ${delay.toFixed(0)} ms, want ${min}..${max} ms (retry ${spec.retry_ms} ms)`);
      }
      const firstStream = log.slice(0, log.indexOf(error));
      const diff = diffEvents(messages(firstStream), want);
      if (diff) problems.push(diff);
      return verdict(problems, `reconnected after ${delay.toFixed(0)} ms (retry ${spec.retry_ms} ms)`);
    }
    case "resume": {
      const url = `${base}${spec.path}`;
      // Until the 204 closes the source for good.
      const stop = (l, es) => l.some((x) => x.kind === "error" && x.readyState === CLOSED) || es.readyState === CLOSED;
      const { log, timedOut } = await observe(url, types, stop, 15000);
      if (timedOut) problems.push("timed out waiting for the 204 to stop the source");
      const opens = count(log, "open");
      if (opens !== spec.expect_opens) problems.push(`${opens} connections opened, want ${spec.expect_opens}`);
      const last = log[log.length - 1];
      if (!(last?.kind === "error" && last.readyState === CLOSED)) {
        problems.push(`last happening is ${show(last)}, want error with readyState CLOSED (2)`);
      }
      const diff = diffEvents(messages(log), want);
      if (diff) problems.push(diff);
      return verdict(problems, `${want.length} events over ${opens} connections, then 204`);
    }
    case "fail": {
      const url = `${base}/fail/${spec.mode}/${encodeURIComponent(key)}`;
      const stop = (l) => l.some((x) => x.kind === "error" && x.readyState === CLOSED);
      const { log, timedOut } = await observe(url, types, stop, 10000);
      if (timedOut) problems.push("timed out waiting for the source to fail");
      const opens = count(log, "open");
      if (opens !== 1) problems.push(`${opens} connections opened, want 1`);
      const diff = diffEvents(messages(log), want);
      if (diff) problems.push(diff);
      // The source is closed; give a wrong reconnection time to show up (retry is 100 ms).
      await sleep(600);
      const requests = await hits(base, key);
      if (requests !== 2) problems.push(`server saw ${requests} requests, want 2 (no reconnect after the failure)`);
      return verdict(problems, `failed after ${requests} requests, readyState CLOSED`);
    }
    case "cancel": {
      const url = `${base}/cancel/${encodeURIComponent(key)}`;
      const { log, timedOut } = await observe(url, types, (l) => count(l, "message") >= 1, 10000);
      if (timedOut) problems.push("timed out waiting for the first event");
      const diff = diffEvents(messages(log), want);
      if (diff) problems.push(diff);
      let dropped = 0;
      const t0 = performance.now();
      while (performance.now() - t0 < 3000) {
        dropped = await hits(base, `${key}-dropped`);
        if (dropped >= 1) break;
        await sleep(25);
      }
      const waited = performance.now() - t0;
      if (dropped !== 1) problems.push(`server cleanup ran ${dropped} times within 3 s of close(), want 1`);
      return verdict(problems, `server cleanup ran ${waited.toFixed(0)} ms after close()`);
    }
    default:
      return { status: "fail", detail: `unknown case kind ${spec.kind}` };
  }
}
