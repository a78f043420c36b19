// Clients for the rolling-restart test (tests/it/rolling.rs drives this script; it is not
// run on its own): for each proxy URL given, one npm `eventsource` EventSource and one
// headless Chromium page's native EventSource read a chat_room room through the proxy,
// while the test restarts the instances behind it.
//
//   node rolling_clients.mjs '{"targets":[{"name":"nginx","url":"http://127.0.0.1:PORT"}],
//                              "room":"r","end":"end","timeoutMs":60000}'
//
// Prints one JSON line `{"ready":true}` once every client is open, then, once every client
// has received the message whose text is `end` (or at the timeout), one JSON line per
// client: {"client", "values": [the texts received, as numbers, in order],
// "ids": number of distinct ids, "opens", "maxGapMs" (the longest time between two
// consecutive events), "done"}. Exits 0 (the Rust test judges); 1 if it could not start.
// Environment: CHROMIUM (default /usr/bin/chromium).

import { EventSource } from "eventsource";
import { chromium } from "playwright-core";

const config = JSON.parse(process.argv[2]);
const executablePath = process.env.CHROMIUM || "/usr/bin/chromium";
const path = `/rooms/${encodeURIComponent(config.room)}/events`;

function out(value) {
  process.stdout.write(JSON.stringify(value) + "\n");
}

/** A client's record, filled as events arrive (the same shape in the page). */
function record() {
  return { values: [], ids: new Set(), opens: 0, last: 0, maxGapMs: 0, done: false };
}

function onMessage(rec, end, data, id) {
  const now = Date.now();
  const text = JSON.parse(data).text;
  if (rec.last) rec.maxGapMs = Math.max(rec.maxGapMs, now - rec.last);
  rec.last = now;
  rec.ids.add(id);
  if (text === end) rec.done = true;
  else rec.values.push(Number(text));
}

async function main() {
  const browser = await chromium.launch({ executablePath, headless: true, args: ["--no-sandbox"] });
  const clients = [];
  for (const target of config.targets) {
    const rec = record();
    const source = new EventSource(target.url + path);
    source.onopen = () => rec.opens++;
    source.onmessage = (e) => onMessage(rec, config.end, e.data, e.lastEventId);
    clients.push({
      name: `eventsource via ${target.name}`,
      state: async () => rec,
      close: () => source.close(),
    });

    const page = await (await browser.newContext()).newPage();
    await page.goto(target.url + "/health");
    await page.evaluate(
      ({ path, end }) => {
        const rec = { values: [], ids: [], opens: 0, last: 0, maxGapMs: 0, done: false };
        window.rec = rec;
        const source = new EventSource(path);
        window.source = source;
        source.onopen = () => rec.opens++;
        source.onmessage = (e) => {
          const now = Date.now();
          const text = JSON.parse(e.data).text;
          if (rec.last) rec.maxGapMs = Math.max(rec.maxGapMs, now - rec.last);
          rec.last = now;
          rec.ids.push(e.lastEventId);
          if (text === end) rec.done = true;
          else rec.values.push(Number(text));
        };
      },
      { path, end: config.end },
    );
    clients.push({
      name: `chromium via ${target.name}`,
      state: async () => {
        const rec = await page.evaluate(() => window.rec);
        return { ...rec, ids: new Set(rec.ids) };
      },
      close: () => page.evaluate(() => window.source.close()).catch(() => {}),
    });
  }

  const deadline = Date.now() + config.timeoutMs;
  for (;;) {
    const states = await Promise.all(clients.map((c) => c.state()));
    if (states.every((s) => s.opens > 0)) break;
    if (Date.now() > deadline) throw new Error("not every client opened");
    await new Promise((r) => setTimeout(r, 50));
  }
  out({ ready: true });

  let states;
  for (;;) {
    states = await Promise.all(clients.map((c) => c.state()));
    if (states.every((s) => s.done) || Date.now() > deadline) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  for (const [i, client] of clients.entries()) {
    const s = states[i];
    out({
      client: client.name,
      values: s.values,
      ids: s.ids.size,
      opens: s.opens,
      maxGapMs: s.maxGapMs,
      done: s.done,
    });
    await client.close();
  }
  await browser.close();
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error("[rolling] FAILED:", err);
    process.exit(1);
  },
);
