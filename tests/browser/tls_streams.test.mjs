// Ten EventSources on one page over HTTPS (self-signed, --ignore-certificate-errors):
// all ten deliver, and the browser reports HTTP/2 for them (one multiplexed connection).
// Run: node tests/browser/tls_streams.test.mjs  (builds and starts the tls_streams example)
import { spawn, execFileSync } from 'node:child_process';
import { createInterface } from 'node:readline';
import { chromium } from 'playwright-core';

const root = new URL('../../', import.meta.url).pathname;
execFileSync('cargo', ['build', '-q', '-p', 'sse-examples', '--example', 'tls_streams'], { cwd: root, stdio: 'inherit' });
const server = spawn('cargo', ['run', '-q', '-p', 'sse-examples', '--example', 'tls_streams'], {
  cwd: root,
  env: { ...process.env, ADDR: '127.0.0.1:0' },
  stdio: ['ignore', 'pipe', 'inherit'],
});
const firstLine = await new Promise((resolve, reject) => {
  const lines = createInterface({ input: server.stdout });
  lines.once('line', resolve);
  server.once('exit', (code) => reject(new Error(`server exited with ${code}`)));
});
const url = firstLine.replace('listening on ', '').replace('127.0.0.1', 'localhost');
let failed = false;
let browser;
try {
  // Playwright starts Chromium with a fresh, temporary profile of its own.
  browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
    '--disable-component-update', '--no-first-run', '--disable-sync', '--disable-quic',
    '--ignore-certificate-errors'],
  });
  const page = await browser.newPage({ ignoreHTTPSErrors: true });
  // The negotiated protocol of every stream's response, as DevTools reports it.
  const seen = [];
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('Network.enable');
  cdp.on('Network.responseReceived', (e) => {
    if (e.response.url.includes('/streams/')) seen.push(e.response.protocol);
  });
  await page.goto(`${url}/`);
  await page.waitForFunction(() => window.counts.every((c) => c >= 3), null, { timeout: 20000 });
  const counts = await page.evaluate(() => window.counts);
  const protocols = seen;
  console.log(`counts per stream: ${counts.join(', ')}`);
  console.log(`protocols: ${[...new Set(protocols)].join(', ')}`);
  if (protocols.length < 10 || protocols.some((p) => p !== 'h2')) {
    throw new Error(`expected 10 h2 streams, got ${JSON.stringify(protocols)}`);
  }
  console.log('tls_streams: 10 EventSources delivered over HTTP/2: pass');
} catch (err) {
  failed = true;
  console.error(`tls_streams: FAIL: ${err.message}`);
} finally {
  await browser?.close();
  server.kill('SIGTERM');
}
process.exit(failed ? 1 : 0);
