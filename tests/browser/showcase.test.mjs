// Opens the showcase example in headless Chromium and checks that every demo shows live
// events: each GET demo (one EventSource each) and the POST chat (fetch + stream reader).
// Then the chat room panel (a broadcast hub) in two pages: a message posted in either shows
// up live in both; while one page's connection is cut (it goes through a TCP proxy) the
// other posts, and once it is back its EventSource resumes with Last-Event-ID and shows
// exactly the missed message; a third page joining late gets the room's history. The
// server metrics panel (it polls GET /metrics) shows open streams and events per second.
// Screenshots: target/showcase.png (page A), target/showcase-chat-room-b.png (page B).
//
//   cd tests/browser && npm ci && node showcase.test.mjs
//
// Starts `cargo run --example showcase` with ADDR=127.0.0.1:0, reads the port from its first
// stdout line, opens `/`, waits for the events, saves a screenshot to target/showcase.png,
// then stops the server with SIGINT (graceful shutdown) and exits 0 on success, 1 on failure.
// Environment: CHROMIUM (default /usr/bin/chromium), SHOWCASE_TIMEOUT_MS (default 30000).

import { spawn } from "node:child_process";
import { createServer, connect } from "node:net";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const executablePath = process.env.CHROMIUM || "/usr/bin/chromium";
const timeout = Number(process.env.SHOWCASE_TIMEOUT_MS || 30000);
const screenshot = join(root, "target", "showcase.png");

/** What each panel must show once its events arrived: [panel, text that must appear]. */
const expectations = [
  ["quickstart", '"message":"Event 9"'],
  ["typed_events", '"message":"Hello"'],
  ["notifications", '"content":"系统更新"'],
  ["logs", "2025-01-01 INFO Application started"],
  ["stocks", "price_update"],
  ["resume", "#0"],
  ["safe_stream", '"count":0'],
];
const getDemos = expectations.map(([demo]) => demo);

function log(...args) {
  console.log("[showcase]", ...args);
}

/** Starts the example in its own process group; resolves with its URL. */
function startServer() {
  const child = spawn("cargo", ["run", "--quiet", "--example", "showcase"], {
    cwd: root,
    env: { ...process.env, ADDR: "127.0.0.1:0", RUST_LOG: process.env.RUST_LOG || "info" },
    stdio: ["ignore", "pipe", "inherit"],
    detached: true,
  });
  const exited = new Promise((res) => child.on("exit", (code, signal) => res({ code, signal })));
  const url = new Promise((res, rej) => {
    const lines = createInterface({ input: child.stdout });
    lines.once("line", (line) => {
      const m = /^listening on (http:\/\/[^\s]+)$/.exec(line);
      if (m) res(m[1]);
      else rej(new Error(`unexpected first stdout line: ${JSON.stringify(line)}`));
    });
    exited.then(({ code, signal }) => rej(new Error(`server exited early (code ${code}, signal ${signal})`)));
  });
  return { child, url, exited };
}

/** Sends SIGINT to the server's process group (cargo and the example) and waits for it. */
async function stopServer(server) {
  if (server.child.exitCode !== null || server.child.signalCode !== null) return server.exited;
  try {
    process.kill(-server.child.pid, "SIGINT");
  } catch {
    return server.exited;
  }
  const timer = setTimeout(() => {
    log("server did not stop within 10 s of SIGINT; killing it");
    try { process.kill(-server.child.pid, "SIGKILL"); } catch { /* gone */ }
  }, 10000);
  const result = await server.exited;
  clearTimeout(timer);
  return result;
}

/** The chat messages (not notes) a page's chat room panel shows, as "user text". */
function chatLines(page) {
  return page.evaluate(() =>
    [...document.querySelectorAll('[data-demo="chat_room"] .log li:not(.note)')].map((li) =>
      [li.querySelector(".tag")?.textContent ?? "", li.lastChild?.textContent ?? ""].join(" "),
    ),
  );
}

/** Waits until the page's chat room panel is in `state` ("open", "reconnecting", ...). */
async function chatState(page, state, what, failures) {
  try {
    await page.waitForFunction(
      (s) => document.querySelector('[data-demo="chat_room"] .state')?.textContent === s,
      state,
      { timeout, polling: 50 },
    );
    return true;
  } catch {
    failures.push(`chat room: ${what} (panel never ${state})`);
    return false;
  }
}

/** Waits until the page's chat room panel shows exactly `expected` ("user text" lines). */
async function chatShows(page, expected, what, failures) {
  try {
    await page.waitForFunction(
      (want) => {
        const got = [...document.querySelectorAll('[data-demo="chat_room"] .log li:not(.note)')].map((li) =>
          [li.querySelector(".tag")?.textContent ?? "", li.lastChild?.textContent ?? ""].join(" "),
        );
        return got.length === want.length && got.every((line, i) => line === want[i]);
      },
      expected,
      { timeout, polling: 50 },
    );
  } catch {
    failures.push(`chat room: ${what}: expected ${JSON.stringify(expected)}, shows ${JSON.stringify(await chatLines(page))}`);
  }
}

/** Posts `text` through the page's chat room form, as a user would. */
async function chatSay(page, text) {
  await page.locator('[data-demo="chat_room"] input[name="text"]').fill(text);
  await page.locator('[data-demo="chat_room"] button[type="submit"]').click();
}

/**
 * A TCP proxy to the server, for the second page: a page loaded through it is another
 * origin (another port), so its streams do not share the browser's six HTTP/1.1
 * connections per origin with the first page's, and `cut()` drops its connections and
 * refuses new ones, as a network outage would, until `restore()`.
 */
function startProxy(serverUrl) {
  const target = new URL(serverUrl);
  const pairs = new Set();
  let refusing = false;
  const server = createServer((client) => {
    if (refusing) {
      client.destroy();
      return;
    }
    const upstream = connect(Number(target.port), target.hostname);
    const pair = [client, upstream];
    pairs.add(pair);
    const close = () => {
      pairs.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    client.on("error", close).on("close", close);
    upstream.on("error", close).on("close", close);
    client.pipe(upstream).pipe(client);
  });
  const url = new Promise((res, rej) => {
    server.once("error", rej);
    server.listen(0, "127.0.0.1", () => res(`http://127.0.0.1:${server.address().port}`));
  });
  return {
    url,
    cut() {
      refusing = true;
      for (const [client, upstream] of pairs) {
        client.destroy();
        upstream.destroy();
      }
      pairs.clear();
    },
    restore() {
      refusing = false;
    },
    close() {
      this.cut();
      return new Promise((res) => server.close(() => res()));
    },
  };
}

/**
 * The chat room panel in two pages (same room, different names): messages posted in
 * either show up live in both; page B's network goes down, A posts, and once B is back its
 * EventSource resumes with Last-Event-ID and shows exactly the missed message; a page C
 * joining late gets the room's history.
 */
async function chatRoom(page, url, failures) {
  const room = "browser-test";
  const proxy = startProxy(url);
  const viaProxy = await proxy.url;
  const context = page.context();
  let other;
  let late;
  try {
    // Page A: the already open page, switched to the room with the Join button.
    await page.locator('[data-demo="chat_room"] input[name="room"]').fill(room);
    await page.locator('[data-demo="chat_room"] input[name="user"]').fill("alice");
    await page.locator('[data-demo="chat_room"] button[name="join"]').click();
    // Page B: a second tab, through the proxy; room and name from the query string.
    other = await context.newPage();
    other.on("pageerror", (err) => failures.push(`page B error: ${err.message}`));
    await other.goto(`${viaProxy}/?room=${room}&user=bob`);
    if (!(await chatState(page, "open", "page A joins", failures))) return;
    if (!(await chatState(other, "open", "page B joins", failures))) return;

    const said = [];
    await chatSay(page, "hello from A");
    said.push("alice hello from A");
    await chatShows(page, said, "A sees its own message", failures);
    await chatShows(other, said, "B sees A's message live", failures);
    await chatSay(other, "hi from B");
    said.push("bob hi from B");
    await chatShows(page, said, "A sees B's message live", failures);
    await chatShows(other, said, "B sees its own message", failures);

    // B's network goes down: its EventSource errors and retries (every second: the
    // stream's `retry: 1000`). A posts meanwhile. Back online, B reconnects with
    // Last-Event-ID and gets exactly the missed message: no gap, no duplicate.
    proxy.cut();
    const dropped = await chatState(other, "reconnecting", "page B notices the outage", failures);
    await chatSay(page, "while B was away");
    said.push("alice while B was away");
    await chatShows(page, said, "A sees its message posted during B's outage", failures);
    const duringOutage = await chatLines(other);
    if (duringOutage.length !== said.length - 1) {
      failures.push(`chat room: page B got messages during its outage: ${JSON.stringify(duringOutage)}`);
    }
    proxy.restore();
    if (dropped) {
      await chatState(other, "open", "page B reconnects", failures);
      await chatShows(other, said, "B resumes with exactly the missed message", failures);
      const notes = await other.evaluate(() =>
        [...document.querySelectorAll('[data-demo="chat_room"] .log li.note')].map((li) => li.textContent),
      );
      const resumed = notes.find((n) => n.startsWith("reconnected: resumed after id "));
      if (!resumed || resumed.endsWith("(none)")) {
        failures.push(`chat room: page B did not note its resume: ${JSON.stringify(notes)}`);
      }
    }
    await chatSay(other, "B is back");
    said.push("bob B is back");
    await chatShows(page, said, "A sees B's message after B's reconnect", failures);
    await chatShows(other, said, "B sees its own message after its reconnect", failures);
    const screenshotB = join(root, "target", "showcase-chat-room-b.png");
    await other.screenshot({ path: screenshotB, fullPage: true });
    log("screenshot of page B saved to", screenshotB);
    log(`chat room page B: ${JSON.stringify(await chatLines(other))}`);
    await other.close();
    other = undefined;

    // Page C joins late (through the proxy, now that B is gone): the room's history.
    late = await context.newPage();
    late.on("pageerror", (err) => failures.push(`page C error: ${err.message}`));
    await late.goto(`${viaProxy}/?room=${room}&user=carol`);
    await chatShows(late, said, "a late joiner gets the room's history", failures);
    log(`chat room page C: ${JSON.stringify(await chatLines(late))}`);
    log(`chat room page A: ${JSON.stringify(await chatLines(page))}`);
  } finally {
    if (other) await other.close().catch(() => {});
    if (late) await late.close().catch(() => {});
    await proxy.close();
  }
}

async function main() {
  const server = startServer();
  let browser;
  const userDataDir = mkdtempSync(join(tmpdir(), "showcase-chromium-"));
  const failures = [];
  try {
    const url = await server.url;
    log("server at", url);
    const context = await chromium.launchPersistentContext(userDataDir, {
      executablePath,
      headless: true,
      viewport: { width: 1280, height: 1100 },
      args: [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--no-first-run",
        "--disable-sync",
      ],
    });
    browser = context;
    const page = context.pages()[0] || (await context.newPage());
    page.on("pageerror", (err) => failures.push(`page error: ${err.message}`));
    page.on("console", (msg) => {
      if (msg.type() === "error") failures.push(`console error: ${msg.text()}`);
    });

    const response = await page.goto(url + "/");
    if (!response || response.status() !== 200) {
      throw new Error(`GET / answered ${response && response.status()}`);
    }

    // The chat demo is a POST stream: submit its form, as a user would.
    await page.locator('[data-demo="chat"] input[name="query"]').fill("browsers");
    await page.locator('[data-demo="chat"] button[type="submit"]').click();

    const all = [...expectations, ["chat", "browsers"]];
    try {
      await page.waitForFunction(
        (checks) =>
          checks.every(([demo, text]) => {
            const panel = document.querySelector(`[data-demo="${demo}"]`);
            return (
              panel &&
              Number(panel.querySelector(".count").textContent) >= 1 &&
              panel.querySelector(".log").textContent.includes(text)
            );
          }),
        all,
        { timeout, polling: 100 },
      );
    } catch (err) {
      failures.push(`not every demo showed its events within ${timeout} ms`);
    }

    // Resume in a real browser: after the fifth item the stream ends, EventSource
    // reconnects on its own with `Last-Event-ID: 4`, gets nothing new, and the page closes it.
    try {
      await page.waitForFunction(
        () => document.querySelector('[data-demo="resume"] .log')?.textContent.includes("resumed after id 4"),
        null,
        { timeout, polling: 100 },
      );
    } catch {
      failures.push(`the resume demo did not reconnect with Last-Event-ID within ${timeout} ms`);
    }

    // The metrics panel (it polls GET /metrics): while the demos stream, a non-zero
    // open-streams count and an events/s figure above zero.
    try {
      await page.waitForFunction(
        () => {
          const panel = document.getElementById("metrics");
          const open = Number(panel?.querySelector(".open-streams").textContent);
          const rate = Number(panel?.querySelector(".events-per-second").textContent);
          return open >= 1 && Number.isFinite(rate) && rate > 0;
        },
        null,
        { timeout, polling: 100 },
      );
    } catch {
      failures.push(`the metrics panel showed no open streams and events/s within ${timeout} ms`);
    }
    const metrics = await page.evaluate(() => {
      const panel = document.getElementById("metrics");
      const text = (cls) => panel?.querySelector("." + cls)?.textContent ?? "";
      return {
        open: text("open-streams"),
        rate: text("events-per-second"),
        connections: text("open-connections"),
        routes: text("by-route"),
        points: panel?.querySelector("polyline")?.getAttribute("points")?.split(" ").filter(Boolean).length ?? 0,
      };
    });
    log(`metrics panel: ${metrics.open} open streams, ${metrics.rate} events/s, ${metrics.connections} connections, ${metrics.points} sparkline points; ${metrics.routes}`);
    if (metrics.points < 1) failures.push("the metrics panel drew no sparkline");

    const report = await page.evaluate(() =>
      [...document.querySelectorAll("[data-demo]")].map((panel) => ({
        demo: panel.dataset.demo,
        count: Number(panel.querySelector(".count").textContent),
        state: panel.querySelector(".state").textContent,
        last: [...panel.querySelectorAll(".log li:not(.note)")].pop()?.textContent ?? "",
      })),
    );
    for (const row of report) {
      log(`${row.demo.padEnd(14)} ${String(row.count).padStart(3)} events  ${row.state.padEnd(12)} ${row.last.slice(0, 70)}`);
    }
    for (const demo of [...getDemos, "chat"]) {
      const row = report.find((r) => r.demo === demo);
      if (!row) failures.push(`panel ${demo} is missing`);
      else if (row.count < 1) failures.push(`panel ${demo} shows no event`);
    }
    for (const [demo, text] of all) {
      const ok = await page.evaluate(
        ([d, t]) => document.querySelector(`[data-demo="${d}"] .log`)?.textContent.includes(t),
        [demo, text],
      );
      if (!ok) failures.push(`panel ${demo} does not show ${JSON.stringify(text)}`);
    }

    // Last: the chat room takes a few seconds, and the panels checked above keep only
    // their latest rows.
    mkdirSync(dirname(screenshot), { recursive: true });
    await chatRoom(page, url, failures);

    await page.screenshot({ path: screenshot, fullPage: true });
    log("screenshot saved to", screenshot);
  } catch (err) {
    failures.push(String(err && err.stack ? err.stack : err));
  } finally {
    if (browser) await browser.close().catch(() => {});
    rmSync(userDataDir, { recursive: true, force: true });
    const { code, signal } = await stopServer(server);
    log(`server stopped (code ${code}, signal ${signal})`);
  }

  if (failures.length) {
    for (const f of failures) console.error("[showcase] FAIL:", f);
    process.exit(1);
  }
  log(
    `PASS: all ${getDemos.length} GET demos and the POST chat showed live events; resume reconnected; ` +
      "the metrics panel showed open streams and events/s; " +
      "the chat room showed messages live in two pages, resumed after a network drop and gave a late joiner the history",
  );
  process.exit(0);
}

main().catch((err) => {
  console.error("[showcase] FAIL:", err);
  process.exit(1);
});
