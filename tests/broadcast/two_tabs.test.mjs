// The chat_room example as two instances on two ports against one redis-server, with a
// headless Chromium tab on each: both tabs must show the same conversation (issue 9).
//
//   bash tests/broadcast/ensure-redis.sh            # redis-server, if missing
//   cd tests/broadcast && npm ci && node two_tabs.test.mjs
//
// Starts redis-server on a free loopback port (--save '' --appendonly no), builds and starts
// `chat_room` twice with REDIS_URL and ADDR=127.0.0.1:0 (reading each port from its first
// stdout line), opens `/?room=..&user=..` on each in its own browser context, types a message
// in each tab, and checks that both message lists are identical (same ids, same order).
// Saves screenshots to target/broadcast-tab-{a,b}.png. Exits 0 on success, 1 on failure.
// Environment: CHROMIUM (default /usr/bin/chromium), BROADCAST_TIMEOUT_MS (default 30000).

import { spawn, spawnSync } from "node:child_process";
import { mkdirSync } from "node:fs";
import { createServer, connect } from "node:net";
import { dirname, join, resolve } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const executablePath = process.env.CHROMIUM || "/usr/bin/chromium";
const timeout = Number(process.env.BROADCAST_TIMEOUT_MS || 30000);

function log(...args) {
  console.log("[broadcast]", ...args);
}

function freePort() {
  return new Promise((res, rej) => {
    const server = createServer();
    server.once("error", rej);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => res(port));
    });
  });
}

function ping(port) {
  return new Promise((res) => {
    const socket = connect(port, "127.0.0.1");
    let reply = "";
    socket.setTimeout(500, () => socket.destroy());
    socket.on("connect", () => socket.write("PING\r\n"));
    socket.on("data", (data) => {
      reply += data;
      if (reply.includes("\r\n")) {
        socket.end();
        res(reply.startsWith("+PONG"));
      }
    });
    socket.on("error", () => res(false));
    socket.on("close", () => res(reply.startsWith("+PONG")));
  });
}

async function startRedis() {
  const port = await freePort();
  const child = spawn(
    "redis-server",
    ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--loglevel", "warning"],
    { stdio: "ignore" },
  );
  child.on("error", (err) => log("redis-server failed to start:", err.message));
  const deadline = Date.now() + 10000;
  while (Date.now() < deadline) {
    if (await ping(port)) return { child, url: `redis://127.0.0.1:${port}/` };
    await new Promise((r) => setTimeout(r, 50));
  }
  child.kill("SIGKILL");
  throw new Error("redis-server did not answer PING");
}

/** Starts one chat_room instance in its own process group; resolves with its URL. */
function startInstance(redisUrl) {
  const child = spawn("cargo", ["run", "--quiet", "-p", "sse-examples", "--example", "chat_room"], {
    cwd: root,
    env: { ...process.env, ADDR: "127.0.0.1:0", REDIS_URL: redisUrl, RUST_LOG: process.env.RUST_LOG || "warn" },
    stdio: ["ignore", "pipe", "inherit"],
    detached: true,
  });
  const exited = new Promise((res) => child.on("exit", (code, signal) => res({ code, signal })));
  const url = new Promise((res, rej) => {
    createInterface({ input: child.stdout }).once("line", (line) => {
      const m = /^listening on (http:\/\/[^\s]+)$/.exec(line);
      if (m) res(m[1]);
      else rej(new Error(`unexpected first stdout line: ${JSON.stringify(line)}`));
    });
    exited.then(({ code, signal }) => rej(new Error(`chat_room exited early (code ${code}, signal ${signal})`)));
  });
  return { child, url, exited };
}

async function stopInstance({ child, exited }) {
  try {
    process.kill(-child.pid, "SIGINT");
  } catch {
    return;
  }
  const stopped = await Promise.race([exited, new Promise((r) => setTimeout(() => r(null), 10000))]);
  if (stopped === null) {
    try {
      process.kill(-child.pid, "SIGKILL");
    } catch {}
  }
}

/** The messages a tab shows: [id, author, text] per line. */
function shown(page) {
  return page.$$eval("#messages li.message", (items) =>
    items.map((li) => [li.dataset.id, li.querySelector("b")?.textContent ?? "", li.lastChild?.textContent ?? ""]),
  );
}

async function say(page, text) {
  await page.fill("#send input[name=text]", text);
  await page.press("#send input[name=text]", "Enter");
}

async function waitForText(page, text) {
  await page.waitForFunction(
    (t) => [...document.querySelectorAll("#messages li.message")].some((li) => li.textContent.includes(t)),
    text,
    { timeout },
  );
}

async function main() {
  log("building the chat_room example");
  const build = spawnSync("cargo", ["build", "--quiet", "-p", "sse-examples", "--example", "chat_room"], {
    cwd: root,
    stdio: "inherit",
  });
  if (build.status !== 0) throw new Error("cargo build failed");

  const redis = await startRedis();
  const instances = [];
  let browser;
  try {
    for (let i = 0; i < 2; i++) instances.push(startInstance(redis.url));
    const [urlA, urlB] = await Promise.all(instances.map((instance) => instance.url));
    log(`instances on ${urlA} and ${urlB}, redis at ${redis.url}`);
    if (urlA === urlB) throw new Error("both instances on the same address");

    browser = await chromium.launch({ executablePath, headless: true, args: ["--no-sandbox"] });
    // Two contexts: two independent browsers, as far as the pages can tell.
    const tabA = await (await browser.newContext()).newPage();
    const tabB = await (await browser.newContext()).newPage();
    await tabA.goto(`${urlA}/?room=lobby&user=alice`);
    await tabB.goto(`${urlB}/?room=lobby&user=bob`);
    for (const tab of [tabA, tabB]) {
      await tab.waitForSelector("body[data-state=open]", { timeout });
    }

    const lines = [
      [tabA, "hi from A"],
      [tabB, "hello from B"],
      [tabA, "same room, two servers"],
    ];
    for (const [tab, text] of lines) {
      await say(tab, text);
      await waitForText(tabA, text);
      await waitForText(tabB, text);
    }
    const a = await shown(tabA);
    const b = await shown(tabB);
    mkdirSync(join(root, "target"), { recursive: true });
    await tabA.screenshot({ path: join(root, "target", "broadcast-tab-a.png") });
    await tabB.screenshot({ path: join(root, "target", "broadcast-tab-b.png") });
    log("tab A:", JSON.stringify(a));
    log("tab B:", JSON.stringify(b));
    const expected = [
      ["alice", "hi from A"],
      ["bob", "hello from B"],
      ["alice", "same room, two servers"],
    ];
    if (JSON.stringify(a) !== JSON.stringify(b)) throw new Error("the two tabs show different conversations");
    if (JSON.stringify(a.map(([, user, text]) => [user, text])) !== JSON.stringify(expected)) {
      throw new Error(`unexpected conversation: ${JSON.stringify(a)}`);
    }
    if (a.some(([id]) => !/^\d+-\d+$/.test(id))) throw new Error("a message without an event id");
  } finally {
    if (browser) await browser.close();
    await Promise.all(instances.map(stopInstance));
    redis.child.kill("SIGKILL");
  }
}

main().then(
  () => {
    log("both tabs show the same conversation");
    console.log("1 passed, 0 failed");
    process.exit(0);
  },
  (err) => {
    console.error("[broadcast] FAILED:", err);
    console.log("0 passed, 1 failed");
    process.exit(1);
  },
);
