// Headless Chromium's native EventSource over every case, on the page the conformance
// server serves (so every request is same-origin), driven by playwright-core.
// node browser-driver.mjs --base http://127.0.0.1:PORT --cases ../cases.json --out results.json
import { chromium } from "playwright-core";
import { parseArgs, runAll, packageVersion } from "./common.mjs";

const args = parseArgs(process.argv.slice(2));
// playwright-core adds --headless and a fresh, temporary --user-data-dir.
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
  args: [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-quic",
    "--disable-sync",
  ],
});
try {
  const page = await browser.newPage();
  page.on("pageerror", (err) => console.error(`[chromium] page error: ${err}`));
  await page.goto(`${args.base}/page`);
  await page.waitForFunction(() => typeof window.runCase === "function", null, { timeout: 10000 });
  await runAll({
    client: "chromium",
    version: `Chromium ${browser.version()} (playwright-core ${packageVersion("playwright-core")})`,
    cases: args.cases,
    out: args.out,
    run: (spec) => page.evaluate(([spec, client]) => window.runCase(spec, location.origin, client), [spec, "chromium"]),
  });
} finally {
  await browser.close();
}
