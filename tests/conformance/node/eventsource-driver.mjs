// The npm `eventsource` package (WHATWG EventSource for Node) over every case.
// node eventsource-driver.mjs --base http://127.0.0.1:PORT --cases ../cases.json --out results.json
import { EventSource } from "eventsource";
import { parseArgs, runAll, packageVersion } from "./common.mjs";
import { runCase } from "./run-case.js";

globalThis.EventSource = EventSource;
const args = parseArgs(process.argv.slice(2));
await runAll({
  client: "eventsource",
  version: `eventsource ${packageVersion("eventsource")} (eventsource-parser ${packageVersion("eventsource-parser")}), Node ${process.versions.node}`,
  cases: args.cases,
  out: args.out,
  run: (spec) => runCase(spec, args.base, "eventsource"),
});
