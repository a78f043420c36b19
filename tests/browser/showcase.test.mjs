// Opens the showcase example in headless Chromium and checks that every demo shows live
// events: each GET demo (one EventSource each) and the POST chat (fetch + stream reader).
//
//   cd tests/browser && npm ci && node showcase.test.mjs
//
// Starts `cargo run --example showcase` with ADDR=127.0.0.1:0, reads the port from its first
// stdout line, opens `/`, waits for the events, saves a screenshot to target/showcase.png,
// then stops the server with SIGINT (graceful shutdown) and exits 0 on success, 1 on failure.
// Environment: CHROMIUM (default /usr/bin/chromium), SHOWCASE_TIMEOUT_MS (default 30000).

import { spawn } from "node:child_process";
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

    mkdirSync(dirname(screenshot), { recursive: true });
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
  log(`PASS: all ${getDemos.length} GET demos and the POST chat showed live events; resume reconnected`);
  process.exit(0);
}

main().catch((err) => {
  console.error("[showcase] FAIL:", err);
  process.exit(1);
});
