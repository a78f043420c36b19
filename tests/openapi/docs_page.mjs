// Drives the `/docs` page in headless Chromium over the DevTools protocol (no npm
// package: Node's WebSocket, `node --experimental-websocket` on Node 20), with every host
// but loopback unresolvable, and prints what it saw as JSON.
//
//   node --experimental-websocket tests/openapi/docs_page.mjs '<plan JSON>'
//
// The plan: {"url": ".../docs", "chromium": "/usr/bin/chromium", "screenshot": "x.png",
//   "actions": [{"operationId": "...", "params": {"name": "value"}, "body": "...",
//                "eventSource": false, "events": 3}]}
// Prints: {"operations": [operationId...], "results": [{"operationId", "status",
//   "events": [{"event", "id", "data"}]}], "requests": [url...], "errors": [...]}
// Exits non-zero when the page does not load or an action sees too few events in time.

import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";

const plan = JSON.parse(process.argv[2] || "{}");
const TIMEOUT_MS = 20000;

function fail(message) {
  process.stderr.write(message + "\n");
  process.exitCode = 1;
}

async function waitFor(what, check, timeout = TIMEOUT_MS) {
  const deadline = Date.now() + timeout;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error("timed out waiting for " + what);
    await sleep(100);
  }
}

async function main() {
  if (typeof WebSocket === "undefined") throw new Error("no WebSocket: run node with --experimental-websocket");
  const profile = mkdtempSync(join(tmpdir(), "docs-page-"));
  const browser = spawn(plan.chromium || "/usr/bin/chromium", [
    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
    "--no-first-run", "--no-default-browser-check", "--disable-extensions",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1, EXCLUDE localhost",
    "--remote-debugging-port=0", `--user-data-dir=${profile}`, "--window-size=1280,2000",
    "about:blank",
  ], { stdio: ["ignore", "ignore", "pipe"] });
  let browserLog = "";
  browser.stderr.on("data", (d) => { browserLog += d; });
  try {
    const portFile = join(profile, "DevToolsActivePort");
    await waitFor("Chromium's DevTools port", () => existsSync(portFile) && readFileSync(portFile, "utf8").includes("\n"));
    const port = readFileSync(portFile, "utf8").split("\n")[0].trim();
    const targets = await (await fetch(`http://127.0.0.1:${port}/json/list`)).json();
    const page = targets.find((t) => t.type === "page");
    if (!page) throw new Error("no page target");
    return await drive(page.webSocketDebuggerUrl);
  } catch (err) {
    throw new Error(err.message + "\n--- chromium stderr ---\n" + browserLog.slice(-3000));
  } finally {
    browser.kill("SIGKILL");
    await sleep(200);
    rmSync(profile, { recursive: true, force: true });
  }
}

async function drive(wsUrl) {
  const ws = new WebSocket(wsUrl);
  await new Promise((resolve, reject) => { ws.onopen = resolve; ws.onerror = () => reject(new Error("DevTools WebSocket failed")); });
  let nextId = 1;
  const pending = new Map();
  const requests = [];
  const errors = [];
  ws.onmessage = (message) => {
    const msg = JSON.parse(message.data);
    if (msg.id && pending.has(msg.id)) {
      const { resolve, reject } = pending.get(msg.id);
      pending.delete(msg.id);
      if (msg.error) reject(new Error(JSON.stringify(msg.error))); else resolve(msg.result);
    } else if (msg.method === "Network.requestWillBeSent") {
      requests.push(msg.params.request.url);
    } else if (msg.method === "Runtime.exceptionThrown") {
      errors.push(msg.params.exceptionDetails.exception?.description || msg.params.exceptionDetails.text);
    } else if (msg.method === "Runtime.consoleAPICalled" && msg.params.type === "error") {
      errors.push(msg.params.args.map((a) => a.value ?? a.description).join(" "));
    }
  };
  const send = (method, params = {}) => new Promise((resolve, reject) => {
    const id = nextId++;
    pending.set(id, { resolve, reject });
    ws.send(JSON.stringify({ id, method, params }));
  });
  const evaluate = async (expression) => {
    const result = await send("Runtime.evaluate", { expression, returnByValue: true, awaitPromise: true });
    if (result.exceptionDetails) throw new Error("page script failed: " + JSON.stringify(result.exceptionDetails));
    return result.result.value;
  };

  await send("Network.enable");
  await send("Runtime.enable");
  await send("Page.enable");
  await send("Page.navigate", { url: plan.url });
  await waitFor("the operations to be listed", () => evaluate(`document.getElementById("status")?.dataset.ready === "true"`));
  const operations = await evaluate(`[...document.querySelectorAll("details.op")].map((d) => d.dataset.operationId)`);

  const results = [];
  for (const action of plan.actions || []) {
    const op = `document.querySelector('details.op[data-operation-id=${JSON.stringify(action.operationId)}]')`;
    await evaluate(`(() => {
      const op = ${op};
      if (!op) throw new Error("no operation ${action.operationId}");
      op.open = true;
      op.querySelector('[data-action="stop"]').click();
      op.querySelector('[data-action="clear"]').click();
      for (const [name, value] of Object.entries(${JSON.stringify(action.params || {})})) {
        const input = op.querySelector('input[data-param="' + name + '"]');
        if (!input) throw new Error("no parameter " + name);
        input.value = value;
      }
      const body = ${JSON.stringify(action.body ?? null)};
      if (body !== null) op.querySelector('[data-role="body"]').value = body;
      const es = op.querySelector('[data-role="eventsource"]');
      if (es) es.checked = ${action.eventSource ? "true" : "false"};
      op.querySelector('[data-action="try"]').click();
    })()`);
    const wanted = action.events ?? 1;
    let events;
    try {
      events = await waitFor(`${wanted} events of ${action.operationId}`, async () => {
        const got = await evaluate(`[...${op}.querySelectorAll('li.event')].map((li) => ({
          event: li.dataset.event, id: li.dataset.id, data: li.querySelector("pre").textContent }))`);
        return got.length >= wanted ? got : null;
      });
    } finally {
      const status = await evaluate(`${op}.querySelector('[data-role="status"]').textContent`);
      results.push({ operationId: action.operationId, status, events: events || [] });
      await evaluate(`${op}.querySelector('[data-action="stop"]').click()`);
    }
  }

  if (plan.screenshot) {
    const shot = await send("Page.captureScreenshot", { format: "png" });
    writeFileSync(plan.screenshot, Buffer.from(shot.data, "base64"));
  }
  ws.close();
  return { operations, results, requests, errors };
}

main().then(
  (result) => { process.stdout.write(JSON.stringify(result) + "\n"); },
  (err) => fail("docs_page.mjs: " + err.message),
);
