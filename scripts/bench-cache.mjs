#!/usr/bin/env node
// bench-cache.mjs: how much a model cache hit saves. For each GGUF file it
// serves the file from a local HTTP server (127.0.0.1) and times
//   first   loadModel(URL) into an empty cache (download + verify + load)
//   cached  loadModel(URL) again (index lookup + load), median of --runs
//   path    loadModel(PATH) of the original file, median of --runs
//   resolve cache.resolve(URL) alone on a hit, median of --runs
//
//   node scripts/bench-cache.mjs [--runs N] [FILE.gguf...]
//
// Default file: stories260K.gguf from $HEARTH_TEST_MODELS (../shared/models).
// A larger file: go run ./cmd/hearth synth --preset tinyllama-1.1b --type Q4_0 \
//   --vocab ../shared/models/vocab/ggml-vocab-llama-spm.gguf -o /tmp/tinyllama-q4_0.gguf
// Needs a build (npm run build). Never commit the model files.
import { createReadStream, mkdtempSync, rmSync, statSync } from "node:fs";
import { createServer } from "node:http";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { basename, dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const require = createRequire(import.meta.url);
const { ModelCache, loadModel } = require(join(root, "npm", "dist", "cjs", "index.js"));

let runs = 5;
const files = [];
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i++) {
  if (argv[i] === "--runs") runs = Number(argv[++i]);
  else files.push(resolve(argv[i]));
}
if (files.length === 0) {
  const models = process.env.HEARTH_TEST_MODELS ?? resolve(root, "..", "shared", "models");
  files.push(join(models, "stories260K.gguf"));
}

// Serves each file under /<index>/<name>, whole (no faults), with an ETag.
const server = createServer((req, res) => {
  const m = /^\/(\d+)\//.exec(req.url ?? "");
  const f = m ? files[Number(m[1])] : undefined;
  if (!f) {
    res.statusCode = 404;
    res.end();
    return;
  }
  const size = statSync(f).size;
  res.setHeader("Content-Length", String(size));
  res.setHeader("ETag", `"bench-${size}"`);
  if (req.method === "HEAD") {
    res.end();
    return;
  }
  createReadStream(f, { highWaterMark: 1 << 20 }).pipe(res);
});
await new Promise((r) => server.listen(0, "127.0.0.1", r));
const port = server.address().port;

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const ms = (x) => `${x.toFixed(1)} ms`;

async function timeLoad(source, opts) {
  const t0 = performance.now();
  const m = await loadModel(source, { threads: 1, ...opts });
  const t = performance.now() - t0;
  await m.close();
  return t;
}

const rows = [];
for (const [i, file] of files.entries()) {
  const url = `http://127.0.0.1:${port}/${i}/${basename(file)}`;
  const dir = mkdtempSync(join(tmpdir(), "hearth-bench-cache-"));
  try {
    const cache = new ModelCache({ dir });
    await timeLoad(file, {}); // warm the page cache for the source file
    const first = await timeLoad(url, { cache });
    const cached = [];
    const path = [];
    const res = [];
    for (let r = 0; r < runs; r++) {
      cached.push(await timeLoad(url, { cache }));
      path.push(await timeLoad(file, {}));
      const t0 = performance.now();
      await cache.resolve(url);
      res.push(performance.now() - t0);
    }
    rows.push({ file: basename(file), size: statSync(file).size, first, cached: median(cached), path: median(path), resolve: median(res) });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
server.close();

console.log(`model cache: ${runs} runs, medians; loads use threads: 1 (CPU backend)`);
for (const r of rows) {
  console.log(
    `${r.file} (${(r.size / 1e6).toFixed(1)} MB): first (download+load) ${ms(r.first)} | cached load ${ms(r.cached)} ` +
      `(${(r.first / r.cached).toFixed(1)}x faster than first, ${(r.cached - r.path) >= 0 ? "+" : ""}${ms(r.cached - r.path)} vs path) | ` +
      `path load ${ms(r.path)} | resolve hit ${ms(r.resolve)}`,
  );
}
