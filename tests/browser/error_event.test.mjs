// The framework's mid-stream failure event (`event: error`) and the browser's own
// connection errors reach the same `error` listener of an EventSource; the guide's
// listener (docs/guide.md, "The front end") tells them apart with `instanceof
// MessageEvent`. In Chromium, on the conformance server:
// - a stream that fails after its first event: the page's stream-error branch gets the
//   JSON `{status, detail}` and closes the source; the connection-error branch never fires;
// - a stream the server ends and then refuses with 500: only the connection-error branch
//   fires (reconnecting, then CLOSED), the stream-error branch never.
// Run: node tests/browser/error_event.test.mjs  (builds and starts the conformance server)
import { spawn, execFileSync } from 'node:child_process';
import { createInterface } from 'node:readline';
import { chromium } from 'playwright-core';

const root = new URL('../../', import.meta.url).pathname;
execFileSync('cargo', ['build', '-q', '-p', 'sse-tests', '--bin', 'conformance-server'], { cwd: root, stdio: 'inherit' });
const server = spawn('cargo', ['run', '-q', '-p', 'sse-tests', '--bin', 'conformance-server'], {
  cwd: root,
  env: { ...process.env, ADDR: '127.0.0.1:0', RUST_LOG: process.env.RUST_LOG ?? 'warn' },
  stdio: ['ignore', 'pipe', 'inherit'],
});
const firstLine = await new Promise((resolve, reject) => {
  const lines = createInterface({ input: server.stdout });
  lines.once('line', resolve);
  server.once('exit', (code) => reject(new Error(`server exited with ${code}`)));
});
const url = firstLine.replace('listening on ', '');

// The guide's listener, recording which branch ran. Resolves once the source is closed
// (by the page after a stream error, or by the browser) and a second has passed.
function observe(path) {
  return new Promise((resolve) => {
    const log = [];
    const source = new EventSource(path);
    const finish = () => setTimeout(() => resolve(log), 1000);
    source.onmessage = (event) => log.push({ kind: 'message', data: event.data });
    source.addEventListener('error', (event) => {
      if (event instanceof MessageEvent) {
        log.push({ kind: 'stream-error', data: JSON.parse(event.data) });
        source.close();
        finish();
        return;
      }
      log.push({ kind: 'connection-error', readyState: source.readyState, hasData: 'data' in event });
      if (source.readyState === EventSource.CLOSED) finish();
    });
  });
}

function expect(name, got, want) {
  const [g, w] = [JSON.stringify(got), JSON.stringify(want)];
  if (g !== w) throw new Error(`${name}:\n  got  ${g}\n  want ${w}`);
  console.log(`${name}: ${g}`);
}

let failed = false;
let browser;
try {
  browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
      '--disable-component-update', '--no-first-run', '--disable-sync'],
  });
  const page = await browser.newPage();
  await page.goto(`${url}/page`);

  // A stream that fails after its first event (here: an event the encoder refuses).
  const midStream = await page.evaluate(observe, '/case/injection-refused');
  expect('mid-stream failure', midStream, [
    { kind: 'message', data: 'ok' },
    { kind: 'stream-error', data: { status: 500, detail: 'SSE `id` must be a single line (no CR or LF)' } },
  ]);

  // A real connection failure: the stream ends (the browser reconnects), then the server
  // answers 500, which closes the EventSource for good.
  const key = `browser-${Date.now()}`;
  const refused = await page.evaluate(observe, `/fail/500/${key}`);
  expect('connection failure', refused, [
    { kind: 'message', data: 'first' },
    { kind: 'connection-error', readyState: 0, hasData: false },
    { kind: 'connection-error', readyState: 2, hasData: false },
  ]);
  console.log('error_event: the stream-error and connection-error branches each fire only for their own case: pass');
} catch (err) {
  failed = true;
  console.error(`error_event: FAIL: ${err.message}`);
} finally {
  await browser?.close();
  server.kill('SIGTERM');
}
process.exit(failed ? 1 : 0);
