#!/usr/bin/env node
// bench.mjs compares generation throughput through Node (the addon) with the
// Go CLI on the same model, same threads, same number of tokens.
//
//   node scripts/bench.mjs [--model M] [-n N] [--threads T] [--reps R] [--json]
//
// Go:   `hearth bench -p 128 -n N` (tg: decode tok/s) and `hearth run --temp 0 --json -n N` (gen_tok_s)
// Node: a fresh process's first generate (cold, like one Go CLI run); then, on a
//       warm model, generate (engine-timed and wall-clock tok/s) and generate with
//       an onToken callback (streaming)
// Each figure is the median of R interleaved runs; the % is Node relative to Go's `run`.
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

import { loadModel } from "hearth-llm";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const args = process.argv.slice(2);
function flag(name, def) {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : def;
}
const modelPath = resolve(flag("--model", join(process.env.HEARTH_TEST_MODELS ?? join(root, "..", "shared", "models"), "stories260K.gguf")));
const n = Number(flag("-n", "128"));
const threads = Number(flag("--threads", "1"));
const reps = Number(flag("--reps", "5"));
const asJSON = args.includes("--json");
const prompt = "Once upon a time";

const goCLI = join(root, "build", "hearth");
if (!existsSync(goCLI)) {
  const r = spawnSync("go", ["build", "-o", goCLI, "./cmd/hearth"], { cwd: root, stdio: "inherit" });
  if (r.status !== 0) throw new Error("go build ./cmd/hearth failed");
}
function go(cmdArgs) {
  const r = spawnSync(goCLI, cmdArgs, { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`hearth ${cmdArgs.join(" ")}: ${r.stderr}`);
  return JSON.parse(r.stdout);
}
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const model = await loadModel(modelPath, { threads });
const opts = { maxTokens: n, temperature: 0 };
await model.generate(prompt, opts); // warm up
const goBench = [];
const goRun = [];
const nodeEngine = [];
const nodeWall = [];
const nodeStream = [];
const nodeCold = [];
let tokens = 0;
// A fresh Node process's first generation: the same cold start as one Go CLI run.
const coldScript = `const { loadModel } = require("hearth-llm");
  loadModel(${JSON.stringify(modelPath)}, { threads: ${threads} })
    .then((m) => m.generate(${JSON.stringify(prompt)}, { maxTokens: ${n}, temperature: 0 }).then((r) => { process.stdout.write(String(r.timings.tokensPerSecond)); return m.close(); }));`;
function nodeColdRun() {
  const r = spawnSync(process.execPath, ["-e", coldScript], { cwd: root, encoding: "utf8" });
  if (r.status !== 0) throw new Error(`node cold run: ${r.stderr}`);
  return Number(r.stdout);
}
// Interleaved, so that load from elsewhere on the machine hits both sides alike.
for (let i = 0; i < reps; i++) {
  goBench.push(go(["bench", "-m", modelPath, "-p", "128", "-n", String(n), "--threads", String(threads), "--json"]).tg_tok_s);
  goRun.push(go(["run", "-m", modelPath, "-n", String(n), "--temp", "0", "--threads", String(threads), "--json", prompt]).gen_tok_s);
  nodeCold.push(nodeColdRun());
  const t0 = performance.now();
  const r = await model.generate(prompt, opts);
  const wall = performance.now() - t0;
  tokens = r.tokens.length;
  nodeEngine.push(r.timings.tokensPerSecond);
  nodeWall.push((r.tokens.length * 1000) / wall);
  const s = await model.generate(prompt, { ...opts, onToken: () => undefined });
  nodeStream.push(s.timings.tokensPerSecond);
}
await model.close();

const base = median(goRun);
const pct = (x) => ((x / base - 1) * 100).toFixed(1) + "%";
const rows = [
  ["go: hearth bench (tg)", median(goBench)],
  ["go: hearth run --json (gen_tok_s)", base],
  ["node: fresh process, first generate", median(nodeCold)],
  ["node: generate (engine timing, warm)", median(nodeEngine)],
  ["node: generate (wall clock, incl. prompt)", median(nodeWall)],
  ["node: generate + onToken streaming", median(nodeStream)],
];
if (asJSON) {
  console.log(JSON.stringify({ model: modelPath, n, threads, reps, tokens, results: Object.fromEntries(rows.map(([k, v]) => [k, v])) }));
} else {
  console.log(`model ${modelPath}, ${tokens} tokens, threads ${threads}, median of ${reps}`);
  for (const [k, v] of rows) console.log(`${k.padEnd(44)} ${v.toFixed(1).padStart(9)} tok/s  ${k.startsWith("node") ? "(" + pct(v) + " vs go run)" : ""}`);
}
