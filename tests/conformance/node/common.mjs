// Command line and result file shared by the Node drivers (issue 5 conformance).
import { readFileSync, writeFileSync } from "node:fs";

/** `--base URL --cases FILE --out FILE [--only a,b]` */
export function parseArgs(argv) {
  const args = { only: null };
  for (let i = 0; i < argv.length; i += 2) {
    const name = argv[i].replace(/^--/, "");
    args[name] = argv[i + 1];
  }
  for (const required of ["base", "cases", "out"]) {
    if (!args[required]) throw new Error(`missing --${required}`);
  }
  const cases = JSON.parse(readFileSync(args.cases, "utf8")).cases;
  const only = args.only ? new Set(args.only.split(",")) : null;
  return { ...args, cases: only ? cases.filter((c) => only.has(c.name)) : cases };
}

/** Runs every case through `run(spec)` and writes `{client, version, results}` to `out`. */
export async function runAll({ client, version, cases, out, run }) {
  const results = [];
  for (const spec of cases) {
    const started = Date.now();
    let result;
    try {
      result = await run(spec);
    } catch (err) {
      result = { status: "fail", detail: `driver error: ${err?.stack ?? err}` };
    }
    results.push({ case: spec.name, ...result });
    const ms = Date.now() - started;
    console.error(`[${client}] ${spec.name}: ${result.status} (${ms} ms) ${result.status === "pass" ? "" : result.detail}`);
  }
  writeFileSync(out, JSON.stringify({ client, version, results }, null, 1));
}

export function packageVersion(name) {
  const url = new URL(`./node_modules/${name}/package.json`, import.meta.url);
  return JSON.parse(readFileSync(url, "utf8")).version;
}
