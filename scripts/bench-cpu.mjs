#!/usr/bin/env node
// bench-cpu runs Hearth and llama.cpp side by side on the CPU, on the SAME
// GGUF files with the same thread count, and prints tokens/s and the ratio
// Hearth/llama.cpp for prompt processing (pp) and generation (tg).
//
//   node scripts/bench-cpu.mjs [--types Q4_K_M,Q4_0,...,stories260K] [--threads 2]
//        [--rounds 3] [-p 128] [-n 64] [--ctx 512] [--hearth BIN] [--cpu] [--regen] [--json]
//        [--timeout SECONDS] [--skip-llama] [--no-raw] [--floor] [--from RESULT.json]
//   (make bench-cpu / npm run bench:cpu run it with the defaults; --from
//   re-renders the table of a saved --json result; a run that fails or passes
//   --timeout counts as missing)
//
// Models: TinyLlama-1.1B-shaped random-weight files made by `hearth synth`
// (cached in build/bench-cpu/models and reused until the synth or type-mix
// code changes, or --regen), and the real
// stories260K.gguf from $HEARTH_TEST_MODELS (default ../shared/models), which
// always runs at 1 thread (--stories-threads overrides).
//
// Each round runs Hearth, then llama.cpp, each in a fresh process, so both
// start with the same cold caches and memory state; the table holds the
// median over the rounds. What is timed, on both sides:
//   pp: one batch of p prompt tokens (ids (i*7919+1) mod n_vocab) on an empty
//       KV cache, as one decode call;
//   tg: n single-token decode calls from position 0 (after clearing the
//       cache), each feeding back the greedy (argmax) token.
// Hearth: `hearth bench -m FILE -p P -n N --threads T --ctx C --json`.
// llama.cpp: node-llama-cpp 3.21.1 (gpu: false, threads T, batchSize 512,
// flash attention off, F16 KV cache, context C). Two decode figures come back:
//   tg     through the public API (sequence.evaluate with temperature 0): what
//          a Node user of node-llama-cpp gets, JS batching and sampling included;
//   tgRaw  one llama_decode per token through the addon's batch calls with no
//          sampling (like llama-bench's tg loop), i.e. llama.cpp's own speed
//          without node-llama-cpp's per-token overhead.
// --cpu adds CPU milliseconds per token (user+system, all threads), a proxy
// that survives a loaded machine better than wall time: llama.cpp's from
// process.cpuUsage() around the same loops, Hearth's from the Go benchmarks
// in bench/ (engine/cpu directly, getrusage around the loops).
// --floor measures this machine's read bandwidth in every round, right after
// the two decode runs (bench/'s BenchmarkReadBandwidth with the widest
// assembly probe the CPU has, same thread count), and adds a table of
// decode against it: a model's floor is that bandwidth over the bytes one
// token reads (every weight tensor, of token_embd one row: from `hearth
// inspect --json`); "of floor" is the median over rounds of tg / floor, each
// round against its own measurement, since the bandwidth wanders.
// Progress goes to stderr, the table (or --json) to stdout.
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const self = fileURLToPath(import.meta.url);

// ALL_TYPES are the synthetic TinyLlama weight types the issue tracks, plus
// the real stories260K model.
const ALL_TYPES = ["Q4_K_M", "Q4_0", "Q8_0", "Q6_K", "Q2_K", "F16", "stories260K"];

// ANCHORS are llama-bench -t 2 numbers from the issue (2 cores of an AMD EPYC
// Zen 5, TinyLlama-1.1B shapes): tg, pp and the decode floor in tok/s.
const ANCHORS = {
  Q4_K_M: { tg: 46.3, pp: 92.3, floor: 77.8 },
  Q4_0: { tg: 64.2, pp: 225.6, floor: 81.8 },
  Q8_0: { tg: 32.7, pp: 138.9, floor: 44.6 },
  Q6_K: { tg: 39.1, pp: 71.2, floor: 57.7 },
  Q2_K: { tg: 49.2, pp: 87.9, floor: 119.5 },
  F16: { tg: 20.0, pp: 173.1, floor: 23.7 },
  stories260K: { tg: 12500, pp: null, floor: null },
};

// targetTG is the decode target: 80% of the floor, or llama.cpp's
// 12,500 tok/s for stories260K at 1 thread.
function targetTG(type) {
  if (type === "stories260K") return 12500;
  const a = ANCHORS[type];
  return a?.floor != null ? 0.8 * a.floor : null;
}

function parseArgs(argv) {
  const o = {
    types: ALL_TYPES, threads: 2, storiesThreads: 1, rounds: 3, p: 128, n: 64, ctx: 512,
    json: false, hearth: null, models: path.join(root, "build", "bench-cpu", "models"),
    vocab: null, raw: true, cpu: false, regen: false, timeout: 600, llama: true, floor: false,
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const val = () => {
      if (i + 1 >= argv.length) throw new Error(`bench-cpu: ${a} needs a value`);
      return argv[++i];
    };
    const int = () => {
      const v = Number(val());
      if (!Number.isInteger(v) || v < 0) throw new Error(`bench-cpu: ${a} needs a non-negative integer`);
      return v;
    };
    switch (a) {
      case "--types": o.types = val().split(",").map((s) => s.trim()).filter(Boolean); break;
      case "--threads": o.threads = int(); break;
      case "--stories-threads": o.storiesThreads = int(); break;
      case "--rounds": o.rounds = int(); break;
      case "-p": o.p = int(); break;
      case "-n": o.n = int(); break;
      case "--ctx": o.ctx = int(); break;
      case "--hearth": o.hearth = path.resolve(val()); break;
      case "--models": o.models = path.resolve(val()); break;
      case "--vocab": o.vocab = path.resolve(val()); break;
      case "--no-raw": o.raw = false; break;
      case "--cpu": o.cpu = true; break;
      case "--regen": o.regen = true; break;
      case "--timeout": o.timeout = int(); break;
      case "--skip-llama": o.llama = false; break;
      case "--floor": o.floor = true; break;
      case "--from": o.from = path.resolve(val()); break;
      case "--json": o.json = true; break;
      case "-h": case "--help":
        process.stdout.write(readHeader());
        process.exit(0);
      default: throw new Error(`bench-cpu: unknown argument ${a}`);
    }
  }
  if (o.rounds < 1) throw new Error("bench-cpu: --rounds must be >= 1");
  return o;
}

function readHeader() {
  return "usage: node scripts/bench-cpu.mjs [--types Q4_K_M,Q4_0,Q8_0,Q6_K,Q2_K,F16,stories260K] [--threads 2]\n" +
    "       [--stories-threads 1] [--rounds 3] [-p 128] [-n 64] [--ctx 512] [--hearth BIN] [--models DIR] [--no-raw] [--cpu] [--regen]\n       [--timeout SECONDS] [--skip-llama] [--floor] [--json] [--from RESULT.json]\n";
}

const log = (s) => process.stderr.write(`bench-cpu: ${s}\n`);

function sharedModels() {
  return process.env.HEARTH_TEST_MODELS ? path.resolve(process.env.HEARTH_TEST_MODELS) : path.resolve(root, "..", "shared", "models");
}

// buildHearth compiles cmd/hearth into build/bench-cpu/hearth (a private
// binary, so that other builds of build/hearth cannot change it mid-run).
function buildHearth() {
  const bin = path.join(root, "build", "bench-cpu", "hearth");
  mkdirSync(path.dirname(bin), { recursive: true });
  log(`go build -o ${path.relative(root, bin)} ./cmd/hearth`);
  const r = spawnSync("go", ["build", "-o", bin, "./cmd/hearth"], { cwd: root, stdio: ["ignore", "inherit", "inherit"] });
  if (r.status !== 0) throw new Error("bench-cpu: go build ./cmd/hearth failed");
  return bin;
}

// modelFor returns the GGUF path of one entry of --types, making (and
// caching) the synthetic TinyLlama file when needed.
function modelFor(o, hearth, type) {
  if (type === "stories260K") {
    const p = path.join(sharedModels(), "stories260K.gguf");
    if (!existsSync(p)) throw new Error(`bench-cpu: ${p} is missing (set HEARTH_TEST_MODELS)`);
    return p;
  }
  mkdirSync(o.models, { recursive: true });
  const out = path.join(o.models, `tinyllama-1.1b-${type}.gguf`);
  // The cache is valid for the synth and type-mix code that made it.
  const stamp = path.join(o.models, `tinyllama-1.1b-${type}.stamp`);
  const want = synthStamp();
  const have = existsSync(stamp) ? readFileSync(stamp, "utf8").trim() : "";
  if (!o.regen && existsSync(out) && statSync(out).size > 0 && (have === want || want === "")) return out;
  const vocab = o.vocab ?? path.join(sharedModels(), "vocab", "ggml-vocab-llama-spm.gguf");
  const tmp = `${out}.tmp-${process.pid}`;
  log(`hearth synth --preset tinyllama-1.1b --type ${type} -> ${path.relative(root, out)}`);
  const r = spawnSync(hearth, ["synth", "--preset", "tinyllama-1.1b", "--type", type, "--vocab", vocab, "-o", tmp],
    { cwd: root, stdio: ["ignore", "inherit", "inherit"] });
  if (r.status !== 0) throw new Error(`bench-cpu: hearth synth --type ${type} failed`);
  renameSync(tmp, out);
  writeFileSync(stamp, `${want}\n`);
  return out;
}

// synthStamp names the last commit of the code that decides what a synthetic
// model holds ("" outside git).
function synthStamp() {
  const r = spawnSync("git", ["log", "-1", "--format=%H", "--", "cmd/hearth/synth.go", "quant/mix.go"], { cwd: root, encoding: "utf8" });
  return r.status === 0 ? r.stdout.trim() : "";
}

// run starts a process and resolves with its stdout; stderr is kept for
// errors. A process that runs longer than timeout seconds is killed.
function run(cmd, args, timeout, opts = {}) {
  return new Promise((resolve, reject) => {
    const c = spawn(cmd, args, { cwd: root, ...opts, stdio: ["ignore", "pipe", "pipe"], timeout: timeout ? timeout * 1000 : undefined, killSignal: "SIGKILL" });
    let out = "", err = "";
    c.stdout.on("data", (d) => { out += d; });
    c.stderr.on("data", (d) => { err += d; });
    c.on("error", reject);
    c.on("close", (code) => {
      if (code !== 0) reject(new Error(`${path.basename(cmd)} ${args.join(" ")} exited ${code}: ${err.slice(-2000)}`));
      else resolve(out);
    });
  });
}

function lastJSON(out) {
  const lines = out.trim().split("\n");
  return JSON.parse(lines[lines.length - 1]);
}

async function runHearth(o, bin, model, threads) {
  const out = await run(bin, ["bench", "-m", model, "-p", String(o.p), "-n", String(o.n),
    "--threads", String(threads), "--ctx", String(o.ctx), "--json"], o.timeout);
  const j = lastJSON(out);
  return { pp: j.pp_tok_s, tg: j.tg_tok_s };
}

async function runLlama(o, model, threads) {
  const args = [self, "--worker", model, String(threads), String(o.p), String(o.n), String(o.ctx), o.raw ? "1" : "0"];
  return lastJSON(await run(process.execPath, args, o.timeout));
}

// buildGoBench compiles the bench/ package's test binary (BenchmarkDecode,
// BenchmarkPrefill), which reports Hearth's CPU time per token.
function buildGoBench() {
  const bin = path.join(root, "build", "bench-cpu", "bench.test");
  log(`go test -c -o ${path.relative(root, bin)} ./bench`);
  const r = spawnSync("go", ["test", "-c", "-o", bin, "./bench"], { cwd: root, stdio: ["ignore", "inherit", "inherit"] });
  if (r.status !== 0) throw new Error("bench-cpu: go test -c ./bench failed");
  return bin;
}

// runHearthCPU runs the Go benchmarks on one model and returns Hearth's CPU
// milliseconds per token for tg (n tokens) and pp (one batch of p).
async function runHearthCPU(o, bin, model, threads) {
  const env = { ...process.env, HEARTH_BENCH_MODEL: model, HEARTH_BENCH_THREADS: String(threads), HEARTH_BENCH_PROMPT: String(o.p) };
  const one = (name, times) => new Promise((resolve, reject) => {
    const c = spawn(bin, ["-test.run", "^$", "-test.bench", `^Benchmark${name}$`, "-test.benchtime", `${times}x`],
      { cwd: path.join(root, "bench"), env, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    c.stdout.on("data", (d) => { out += d; });
    c.stderr.on("data", (d) => { out += d; });
    c.on("error", reject);
    c.on("close", (code) => {
      const m = out.match(/([\d.]+) cpu-ms\/tok/);
      if (code !== 0 || !m) reject(new Error(`bench-cpu: Go benchmark ${name} failed: ${out.slice(-2000)}`));
      else resolve(Number(m[1]));
    });
  });
  return { tgCpuMs: o.n > 0 ? await one("Decode", o.n) : null, ppCpuMs: o.p > 0 ? await one("Prefill", 1) : null };
}

// runFloor measures the read bandwidth in GB/s on threads threads with the
// widest probe BenchmarkReadBandwidth offers here (avx512, avx2, else go).
async function runFloor(o, bin, threads) {
  const env = { ...process.env, HEARTH_BENCH_THREADS: String(threads) };
  const out = await run(bin, ["-test.run", "^$", "-test.bench", "^BenchmarkReadBandwidth$", "-test.benchtime", "4x"],
    o.timeout, { cwd: path.join(root, "bench"), env });
  const rate = {};
  for (const m of out.matchAll(/BenchmarkReadBandwidth\/(\w+)\S*\s+\d+\s+[\d.]+ ns\/op\s+([\d.]+) MB\/s/g)) rate[m[1]] = Number(m[2]);
  const v = rate.avx512 ?? rate.avx2 ?? rate.go;
  if (v == null) throw new Error(`bench-cpu: no bandwidth in: ${out.slice(-1000)}`);
  return v / 1000;
}

// tokenBytes is what one decode token reads of model's weights: every
// tensor, of token_embd (a row lookup) one row.
function tokenBytes(bin, model) {
  const r = spawnSync(bin, ["inspect", "--json", model], { encoding: "utf8", maxBuffer: 1 << 30 });
  if (r.status !== 0) throw new Error(`bench-cpu: hearth inspect ${model}: ${r.stderr}`);
  let n = 0;
  for (const t of JSON.parse(r.stdout).tensors) {
    n += t.name === "token_embd.weight" ? t.size / t.dims[t.dims.length - 1] : t.size;
  }
  return n;
}

function median(xs) {
  const v = xs.filter((x) => typeof x === "number" && Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return null;
  const m = v.length >> 1;
  return v.length % 2 ? v[m] : (v[m - 1] + v[m]) / 2;
}

function loadAvg() {
  return os.loadavg().map((x) => x.toFixed(2)).join(" ");
}

async function main() {
  const o = parseArgs(process.argv.slice(2));
  if (o.from) { // re-render a saved --json result
    process.stdout.write(table(JSON.parse(readFileSync(o.from, "utf8"))));
    return;
  }
  for (const t of o.types) if (!ALL_TYPES.includes(t) && !t.endsWith(".gguf")) log(`warning: ${t} is not one of ${ALL_TYPES.join(",")}; trying hearth synth --type ${t}`);
  const bin = o.hearth ?? buildHearth();
  const goBench = o.cpu || o.floor ? buildGoBench() : null;
  const rows = [];
  const started = new Date().toISOString();
  const loadStart = loadAvg();
  for (const type of o.types) {
    const model = type.endsWith(".gguf") ? path.resolve(type) : modelFor(o, bin, type);
    const threads = type === "stories260K" ? o.storiesThreads : o.threads;
    const row = { type, model: path.relative(root, model), threads, hearth: [], llama: [], load: [] };
    if (o.floor) {
      row.tokenBytes = tokenBytes(bin, model);
      row.floorGBs = [];
    }
    for (let r = 0; r < o.rounds; r++) {
      // A run that fails or times out counts as missing (null), so one
      // collapse on a loaded machine does not lose the whole table.
      const attempt = async (what, f) => {
        try { return await f(); } catch (e) { log(`${type} round ${r + 1}: ${what} failed: ${e.message.split("\n")[0]}`); return {}; }
      };
      const h = await attempt("hearth", () => runHearth(o, bin, model, threads));
      if (o.cpu) Object.assign(h, await attempt("hearth CPU time", () => runHearthCPU(o, goBench, model, threads)));
      const l = o.llama ? await attempt("llama.cpp", () => runLlama(o, model, threads)) : {};
      if (o.floor) {
        const f = await attempt("read bandwidth", async () => ({ gbs: await runFloor(o, goBench, threads) }));
        row.floorGBs.push(f.gbs ?? null);
      }
      row.hearth.push(h);
      row.llama.push(l);
      row.load.push(os.loadavg()[0]);
      log(`${type} t=${threads} round ${r + 1}/${o.rounds}: hearth ${JSON.stringify(h)} | llama.cpp ${JSON.stringify(l)} | load ${loadAvg()}`);
    }
    row.median = {
      hearthPP: median(row.hearth.map((x) => x.pp)), hearthTG: median(row.hearth.map((x) => x.tg)),
      llamaPP: median(row.llama.map((x) => x.pp)), llamaTG: median(row.llama.map((x) => x.tg)),
      llamaTGRaw: median(row.llama.map((x) => x.tgRaw)),
      hearthTGCpuMs: median(row.hearth.map((x) => x.tgCpuMs)), hearthPPCpuMs: median(row.hearth.map((x) => x.ppCpuMs)),
      llamaTGCpuMs: median(row.llama.map((x) => x.tgCpuMs)), llamaTGRawCpuMs: median(row.llama.map((x) => x.tgRawCpuMs)),
      llamaPPCpuMs: median(row.llama.map((x) => x.ppCpuMs)),
    };
    if (o.floor) {
      // each round's decode against that round's bandwidth
      const of = (xs) => median(xs.map((x, i) => (x?.tg == null || row.floorGBs[i] == null ? null
        : (x.tg * row.tokenBytes) / (row.floorGBs[i] * 1e9))));
      Object.assign(row.median, { floorGBs: median(row.floorGBs), hearthOfFloor: of(row.hearth), llamaOfFloor: of(row.llama) });
    }
    rows.push(row);
  }
  const result = {
    started, finished: new Date().toISOString(), cpu: os.cpus()[0]?.model, cores: os.cpus().length,
    loadStart, loadEnd: loadAvg(), p: o.p, n: o.n, ctx: o.ctx, threads: o.threads, rounds: o.rounds, rows,
  };
  if (o.json) process.stdout.write(JSON.stringify(result, null, 2) + "\n");
  else process.stdout.write(table(result));
}

const f1 = (x) => (x == null ? "-" : x >= 1000 ? x.toFixed(0) : x.toFixed(1));
const ratio = (a, b) => (a == null || b == null || b === 0 ? "-" : `${(a / b).toFixed(2)}x`);
const pct = (a, b) => (a == null || b == null || b === 0 ? "-" : `${Math.round((100 * a) / b)}%`);

// table renders the medians as a Markdown table (the format of docs/benchmarks.md).
function table(res) {
  const head = ["type", "thr", "Hearth tg", "llama.cpp(node) tg", "ratio", "llama.cpp(raw) tg", "ratio raw",
    "llama-bench anchor tg", "floor", "target tg", "Hearth/target", "Hearth pp", "llama.cpp pp", "ratio", "anchor pp"];
  const lines = [`| ${head.join(" | ")} |`, `|${head.map(() => "---").join("|")}|`];
  for (const r of res.rows) {
    const m = r.median, a = ANCHORS[r.type] ?? {};
    lines.push(`| ${[r.type, r.threads, f1(m.hearthTG), f1(m.llamaTG), ratio(m.hearthTG, m.llamaTG), f1(m.llamaTGRaw),
      ratio(m.hearthTG, m.llamaTGRaw), f1(a.tg), f1(a.floor), f1(targetTG(r.type)), pct(m.hearthTG, targetTG(r.type)), f1(m.hearthPP), f1(m.llamaPP),
      ratio(m.hearthPP, m.llamaPP), f1(a.pp)].join(" | ")} |`);
  }
  let cpu = "";
  if (res.rows.some((r) => r.median.hearthTGCpuMs != null)) {
    const h2 = ["type", "thr", "Hearth tg", "llama.cpp(raw) tg", "ratio", "llama.cpp(node) tg", "Hearth pp", "llama.cpp pp", "ratio",
      "Hearth tg proj.", "/anchor", "/target", "Hearth pp proj.", "/anchor"];
    const l2 = [`| ${h2.join(" | ")} |`, `|${h2.map(() => "---").join("|")}|`];
    const f3 = (x) => (x == null ? "-" : x.toFixed(3));
    // proj is the speed the CPU time allows on idle cores at the anchors'
    // thread count (2; 1 for stories260K): threads x 1000 / ms, an upper
    // bound that ignores memory bandwidth and imperfect scaling.
    const proj = (type, ms) => (ms == null || ms === 0 ? null : ((type === "stories260K" ? 1 : 2) * 1000) / ms);
    for (const r of res.rows) {
      const m = r.median, a = ANCHORS[r.type] ?? {};
      // CPU time: lower is better, so the ratio is llama.cpp/Hearth (>1: Hearth cheaper).
      l2.push(`| ${[r.type, r.threads, f3(m.hearthTGCpuMs), f3(m.llamaTGRawCpuMs), ratio(m.llamaTGRawCpuMs, m.hearthTGCpuMs),
        f3(m.llamaTGCpuMs), f3(m.hearthPPCpuMs), f3(m.llamaPPCpuMs), ratio(m.llamaPPCpuMs, m.hearthPPCpuMs),
        f1(proj(r.type, m.hearthTGCpuMs)), ratio(proj(r.type, m.hearthTGCpuMs), a.tg),
        ratio(proj(r.type, m.hearthTGCpuMs), targetTG(r.type)), f1(proj(r.type, m.hearthPPCpuMs)),
        ratio(proj(r.type, m.hearthPPCpuMs), a.pp)].join(" | ")} |`);
    }
    cpu = `\nCPU milliseconds per token (user+system, all threads; lower is better; ratio = llama.cpp/Hearth, ` +
      `so > 1 means Hearth is cheaper). Hearth: Go benchmarks in bench/ (same engine, same thread count). ` +
      `"proj." = 2 x 1000 / CPU-ms (1 x for stories260K), the tok/s that CPU cost allows on 2 (1) idle cores, ` +
      `the anchors' thread count; /anchor and /target compare it with the llama-bench anchor and the decode target.\n\n${l2.join("\n")}\n`;
  }
  let floor = "";
  if (res.rows.some((r) => r.median.floorGBs != null)) {
    const h3 = ["type", "thr", "MB a token", "read GB/s (rounds)", "floor t/s", "Hearth tg", "of floor", "llama.cpp(node) tg", "of floor"];
    const l3 = [`| ${h3.join(" | ")} |`, `|${h3.map(() => "---").join("|")}|`];
    const p100 = (x) => (x == null ? "-" : `${Math.round(100 * x)}%`);
    for (const r of res.rows) {
      const m = r.median;
      if (m.floorGBs == null || r.type === "stories260K") continue; // it fits in cache: no floor
      const gbs = r.floorGBs.map((x) => (x == null ? "-" : x.toFixed(1))).join(", ");
      l3.push(`| ${[r.type, r.threads, (r.tokenBytes / 1e6).toFixed(1), gbs, f1((m.floorGBs * 1e9) / r.tokenBytes),
        f1(m.hearthTG), p100(m.hearthOfFloor), f1(m.llamaTG), p100(m.llamaOfFloor)].join(" | ")} |`);
    }
    floor = `\nDecode against this machine's read floor (bench/ BenchmarkReadBandwidth, widest probe, measured ` +
      `in every round after the decode runs; "of floor" = median over rounds of tg x bytes a token / that round's ` +
      `bandwidth; floor t/s from the median bandwidth):\n\n${l3.join("\n")}\n`;
  }
  return `pp${res.p} / tg${res.n}, ctx ${res.ctx}, median of ${res.rounds} alternating rounds; ` +
    `load average ${res.loadStart} at start, ${res.loadEnd} at end (${res.cores} cores)\n\n${lines.join("\n")}\n${cpu}${floor}`;
}

// worker measures llama.cpp on one model in this (fresh) process and prints
// {"pp","tg","tgRaw"} in tok/s.
async function worker([model, threadsS, pS, nS, ctxS, rawS]) {
  const [threads, p, n, ctxSize] = [threadsS, pS, nS, ctxS].map(Number);
  const { getLlama, LlamaLogLevel } = await import("node-llama-cpp");
  const llama = await getLlama({ gpu: false, build: "never", logLevel: LlamaLogLevel.error, maxThreads: threads });
  const m = await llama.loadModel({ modelPath: model, gpuLayers: 0 });
  const ctx = await m.createContext({
    contextSize: ctxSize, batchSize: Math.max(512, p), sequences: 1, flashAttention: false,
    threads: { ideal: threads, min: threads },
  });
  const nVocab = vocabSize(m);
  const seq = ctx.getSequence();
  const out = { pp: null, tg: null, tgRaw: null, threads: ctx.currentThreads ?? threads };

  // cpuMs returns the process's user+system CPU milliseconds (all threads).
  const cpuMs = () => { const u = process.cpuUsage(); return (u.user + u.system) / 1e3; };
  if (p > 0) {
    const toks = Array.from({ length: p }, (_, i) => (i * 7919 + 1) % nVocab);
    const c0 = cpuMs(), t0 = process.hrtime.bigint();
    await seq.evaluateWithoutGeneratingNewTokens(toks);
    out.pp = p / (Number(process.hrtime.bigint() - t0) / 1e9);
    out.ppCpuMs = (cpuMs() - c0) / p;
    await seq.clearHistory();
  }
  const bos = m.tokens.bos != null && m.tokens.bos >= 0 && m.tokens.bos < nVocab ? m.tokens.bos : 0;
  if (n > 0) {
    let got = 0;
    const c0 = cpuMs(), t0 = process.hrtime.bigint();
    for await (const _ of seq.evaluate([bos], { temperature: 0 })) {
      if (++got >= n) break;
    }
    out.tg = n / (Number(process.hrtime.bigint() - t0) / 1e9);
    out.tgCpuMs = (cpuMs() - c0) / n;
    await seq.clearHistory();
  }
  if (n > 0 && rawS === "1") {
    // One llama_decode per token with its logits requested, no sampling, as
    // llama-bench's tg loop does; seq is empty again after clearHistory.
    const c = ctx._ctx, id = seq.sequenceId ?? seq._sequenceId;
    const one = new Uint32Array(1), logit = Uint32Array.of(0);
    one[0] = bos;
    const c0 = cpuMs(), t0 = process.hrtime.bigint();
    for (let i = 0; i < n; i++) {
      c.initBatch(1);
      c.addToBatch(id, i, one, logit);
      await c.decodeBatch();
      one[0] = (i * 7919 + 1) % nVocab;
    }
    out.tgRaw = n / (Number(process.hrtime.bigint() - t0) / 1e9);
    out.tgRawCpuMs = (cpuMs() - c0) / n;
    c.removeTokenCellsFromSequence(id, 0, -1);
  }
  await ctx.dispose();
  await m.dispose();
  await llama.dispose();
  process.stdout.write(JSON.stringify(out) + "\n");
}

// vocabSize reads the vocabulary size from the GGUF metadata node-llama-cpp parsed.
function vocabSize(m) {
  const md = m.fileInfo?.metadata;
  const toks = md?.tokenizer?.ggml?.tokens;
  if (Array.isArray(toks) && toks.length > 0) return toks.length;
  const arch = md?.general?.architecture;
  const v = arch && md?.[arch]?.vocab_size;
  if (typeof v === "number" && v > 0) return v;
  throw new Error("bench-cpu: cannot find the vocabulary size in the GGUF metadata");
}

try {
  if (process.argv[2] === "--worker") await worker(process.argv.slice(3));
  else await main();
} catch (e) {
  process.stderr.write(`${process.env.BENCH_CPU_DEBUG ? e.stack : e.message}\n`);
  process.exit(1);
}
