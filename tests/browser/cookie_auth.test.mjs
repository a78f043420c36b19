// A cross-origin, cookie-authenticated EventSource in Chromium (examples/cookie_auth.rs):
// the page (http://localhost:PAGE) and the API (http://localhost:API) are two origins of
// one site. Checks:
// - not logged in: the EventSource gets the API's 401 (error, CLOSED) and no event;
// - after logging in (a cross-origin POST whose answer sets an HttpOnly, SameSite=Lax
//   cookie), `withCredentials: true` streams the user's events;
// - a page on an origin the API does not allow, with the same cookie, gets no event.
// Run: node tests/browser/cookie_auth.test.mjs  (builds and starts the example)
import { spawn, execFileSync } from 'node:child_process';
import { createServer } from 'node:http';
import { createInterface } from 'node:readline';
import { chromium } from 'playwright-core';

const root = new URL('../../', import.meta.url).pathname;
execFileSync('cargo', ['build', '-q', '-p', 'sse-examples', '--example', 'cookie_auth'], { cwd: root, stdio: 'inherit' });
const server = spawn('cargo', ['run', '-q', '-p', 'sse-examples', '--example', 'cookie_auth'], {
  cwd: root,
  env: { ...process.env, ADDR: '127.0.0.1:0', PAGE_ADDR: '127.0.0.1:0', RUST_LOG: process.env.RUST_LOG ?? 'warn' },
  stdio: ['ignore', 'pipe', 'inherit'],
});
// Line 1: `listening on http://127.0.0.1:API`; line 2: `page on http://localhost:PAGE/ (API at http://localhost:API)`.
const [, second] = await new Promise((resolve, reject) => {
  const lines = [];
  createInterface({ input: server.stdout }).on('line', (line) => {
    lines.push(line);
    if (lines.length === 2) resolve(lines);
  });
  server.once('exit', (code) => reject(new Error(`server exited with ${code}`)));
});
const [, pageOrigin, apiOrigin] = second.match(/^page on (\S+)\/ \(API at (\S+)\)$/) ?? [];
if (!pageOrigin) throw new Error(`unexpected second line: ${second}`);

// A page on a third origin (same site, another port) that the API's CORS does not name.
const stranger = createServer((req, res) => {
  res.writeHead(200, { 'content-type': 'text/html' });
  res.end('<!doctype html><title>not allowed</title>');
});
await new Promise((resolve) => stranger.listen(0, '127.0.0.1', resolve));
const strangerOrigin = `http://localhost:${stranger.address().port}`;

// Opens an EventSource with credentials on the API and resolves with what it saw once it
// has `count` events, or once the browser closed it (plus a moment for stray events).
function listen([api, count]) {
  return new Promise((resolve) => {
    const seen = { events: [], errors: [] };
    const source = new EventSource(api + '/events', { withCredentials: true });
    source.addEventListener('private', (event) => {
      seen.events.push(JSON.parse(event.data));
      if (seen.events.length >= count) { source.close(); resolve(seen); }
    });
    source.addEventListener('error', (event) => {
      if (event instanceof MessageEvent) return;
      seen.errors.push(source.readyState);
      if (source.readyState === EventSource.CLOSED) setTimeout(() => resolve(seen), 500);
    });
  });
}

function check(what, ok, detail) {
  if (!ok) throw new Error(`${what}: ${JSON.stringify(detail)}`);
  console.log(`${what}: ok ${JSON.stringify(detail)}`);
}

let failed = false;
let browser;
try {
  browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
      '--disable-component-update', '--no-first-run', '--disable-sync'],
  });
  const context = await browser.newContext();
  const page = await context.newPage();
  const statuses = [];
  page.on('response', (response) => {
    if (response.url() === `${apiOrigin}/events`) statuses.push(response.status());
  });
  await page.goto(`${pageOrigin}/`);

  // 1. Not logged in: 401 before the stream starts, so error + CLOSED and no event.
  const anonymous = await page.evaluate(listen, [apiOrigin, 1]);
  check('without login: no event, EventSource CLOSED',
    anonymous.events.length === 0 && anonymous.errors.at(-1) === 2, anonymous);
  check('without login: the API answered 401', statuses.includes(401), statuses);

  // 2. Log in (cross-origin POST, credentials included), then stream with the cookie.
  const status = await page.evaluate(() => window.login('demo', 'demo'));
  check('login answers 204', status === 204, status);
  const cookies = await context.cookies(apiOrigin);
  const session = cookies.find((c) => c.name === 'session');
  check('the session cookie is HttpOnly and SameSite=Lax',
    session?.httpOnly === true && session?.sameSite === 'Lax', session);
  check('no script can read it', !(await page.evaluate(() => document.cookie)).includes('session'),
    await page.evaluate(() => document.cookie));
  const member = await page.evaluate(listen, [apiOrigin, 2]);
  check('after login: events arrive with withCredentials',
    member.events.length === 2 && member.events.every((e) => e.for === 'demo') && member.errors.length === 0,
    member);
  check('after login: the API answered 200', statuses.includes(200), statuses);

  // 3. An origin the API does not allow, with the same cookie: no event.
  const other = await context.newPage();
  await other.goto(`${strangerOrigin}/`);
  const stranded = await other.evaluate(listen, [apiOrigin, 1]);
  check('an origin not allowed: no event, EventSource CLOSED',
    stranded.events.length === 0 && stranded.errors.at(-1) === 2, stranded);
  console.log('cookie_auth: cross-origin EventSource with a session cookie: pass');
} catch (err) {
  failed = true;
  console.error(`cookie_auth: FAIL: ${err.message}`);
} finally {
  await browser?.close();
  stranger.close();
  server.kill('SIGTERM');
}
process.exit(failed ? 1 : 0);
