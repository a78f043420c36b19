// Compressed EventSources in Chromium (issue 15): the tls_streams example (ten streams,
// `App::compression` on) over HTTPS, once over HTTP/2 and once over HTTP/1.1
// (--disable-http2). Chromium sends `Accept-Encoding: gzip, deflate, br, zstd`, so the
// streams come as `gzip` (the app's first choice); then each coding in turn is asked for alone (an extra request
// header). Every stream must deliver its events (one every 200 ms): a compressor that held
// frames back would starve the page. Over HTTP/1.1 the browser opens six connections per
// origin, so six of the ten streams run (the point of the example); over h2 all ten.
// Run: node tests/browser/compressed_streams.test.mjs  (builds and starts the example)
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

const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
  '--disable-component-update', '--no-first-run', '--disable-sync', '--disable-quic',
  '--ignore-certificate-errors'];

/** One page load: ten EventSources; what Chromium sent and got for each stream. */
async function load(browser, acceptEncoding, need) {
  const page = await browser.newPage({ ignoreHTTPSErrors: true });
  try {
    const cdp = await page.context().newCDPSession(page);
    await cdp.send('Network.enable');
    if (acceptEncoding) {
      await cdp.send('Network.setExtraHTTPHeaders', { headers: { 'Accept-Encoding': acceptEncoding } });
    }
    const responses = [];
    const sent = [];
    cdp.on('Network.responseReceived', (e) => {
      if (!e.response.url.includes('/streams/')) return;
      const headers = Object.fromEntries(Object.entries(e.response.headers).map(([k, v]) => [k.toLowerCase(), v]));
      responses.push({ protocol: e.response.protocol, encoding: headers['content-encoding'] ?? 'identity', vary: headers.vary });
    });
    cdp.on('Network.requestWillBeSentExtraInfo', (e) => {
      const headers = Object.fromEntries(Object.entries(e.headers).map(([k, v]) => [k.toLowerCase(), v]));
      if ((headers[':path'] ?? '').includes('/streams/') || sent.length < 20) sent.push(headers['accept-encoding']);
    });
    await page.goto(`${url}/`);
    await page.waitForFunction((need) => window.counts.filter((c) => c >= 3).length >= need, need, { timeout: 20000 });
    const counts = await page.evaluate(() => window.counts);
    return { counts, responses, sent: [...new Set(sent.filter(Boolean))] };
  } finally {
    await page.close();
  }
}

let failed = false;
let browser;
try {
  for (const [label, extra, protocol, need] of [['h2', [], 'h2', 10], ['HTTP/1.1', ['--disable-http2'], 'http/1.1', 6]]) {
    browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: [...ARGS, ...extra] });
    for (const [ask, want] of [[null, 'gzip'], ['br', 'br'], ['gzip', 'gzip'], ['zstd', 'zstd']]) {
      const { counts, responses, sent } = await load(browser, ask, need);
      const encodings = [...new Set(responses.map((r) => r.encoding))];
      const protocols = [...new Set(responses.map((r) => r.protocol))];
      console.log(`${label}, Accept-Encoding ${ask ?? `as sent (${sent.join(' | ')})`}: ` +
        `${responses.length} streams, ${protocols.join(', ')}, Content-Encoding ${encodings.join(', ')}, counts ${counts.join(', ')}`);
      if (responses.length < need) throw new Error(`${label}: ${responses.length} stream responses, want ${need}`);
      if (protocols.length !== 1 || protocols[0] !== protocol) throw new Error(`${label}: protocols ${protocols}, want ${protocol}`);
      if (encodings.length !== 1 || encodings[0] !== want) throw new Error(`${label}: Content-Encoding ${encodings}, want ${want}`);
      if (responses.some((r) => !/accept-encoding/i.test(r.vary ?? ''))) throw new Error(`${label}: a stream without Vary: Accept-Encoding`);
    }
    await browser.close();
    browser = undefined;
  }
  console.log('compressed_streams: br, zstd and gzip EventSources over h2 and HTTP/1.1: pass');
} catch (err) {
  failed = true;
  console.error(`compressed_streams: FAIL: ${err.message}`);
} finally {
  await browser?.close();
  server.kill('SIGTERM');
}
process.exit(failed ? 1 : 0);
