#!/usr/bin/env node
// build.mjs builds hearth-llm from source: the Go shared library
// (build/libhearth.so), the Node-API addon (binding/build/Release/hearth.node)
// and the TypeScript package (npm/dist/{esm,cjs}). It is the package's
// "install" script, so `npm install` on a machine with Go, a C/C++ compiler,
// python3 and Node builds everything.
//
//   node scripts/build.mjs [all|lib|addon|ts]...
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, utimesSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");

function fail(line) {
  console.error(`hearth-llm: ${line}`);
  process.exit(1);
}

function has(cmd, args = ["--version"]) {
  const r = spawnSync(cmd, args, { stdio: "ignore" });
  return !r.error && r.status === 0;
}

function run(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { cwd: root, stdio: "inherit", ...opts });
  if (r.error) fail(`${cmd} failed to start: ${r.error.message}`);
  if (r.status !== 0) fail(`\`${cmd} ${args.join(" ")}\` failed (exit ${r.status}); see the output above`);
}

// mtime of a file (0 when missing), and the newest mtime under a directory.
function mtime(p) {
  try {
    return statSync(p).mtimeMs;
  } catch {
    return 0;
  }
}
function newest(dir, ext) {
  let t = 0;
  for (const e of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (e.isFile() && e.name.endsWith(ext)) t = Math.max(t, mtime(join(e.parentPath ?? e.path, e.name)));
  }
  return t;
}
const force = process.env.HEARTH_FORCE_BUILD === "1";

function buildLib() {
  if (!has("go", ["version"])) fail("building needs Go (>= 1.26, https://go.dev/dl/) on PATH, and `go` was not found");
  const cc = process.env.CC || "cc";
  if (!has(cc) && !has("gcc")) fail("building needs a C compiler for cgo (e.g. `apt-get install build-essential`), and none was found");
  mkdirSync(join(root, "build"), { recursive: true });
  // Go's build cache makes this cheap when nothing changed; the library is only
  // replaced when its bytes differ, so the addon is not relinked needlessly.
  run("go", ["build", "-trimpath", "-buildmode=c-shared", "-o", "build/libhearth.so.tmp", "./capi"], {
    env: { ...process.env, CGO_ENABLED: "1" },
  });
  const lib = join(root, "build", "libhearth.so");
  const tmp = lib + ".tmp";
  if (!force && existsSync(lib) && readFileSync(lib).equals(readFileSync(tmp))) rmSync(tmp);
  else renameSync(tmp, lib);
  rmSync(join(root, "build", "libhearth.so.h"), { force: true });
  const hdr = join(root, "build", "libhearth.so.tmp.h");
  if (existsSync(hdr)) renameSync(hdr, join(root, "build", "libhearth.h"));
}

function nodeGyp() {
  const candidates = [
    process.env.npm_config_node_gyp,
    join(root, "node_modules", "node-gyp", "bin", "node-gyp.js"),
    join(dirname(process.execPath), "..", "lib", "node_modules", "npm", "node_modules", "node-gyp", "bin", "node-gyp.js"),
  ];
  for (const c of candidates) if (c && existsSync(c)) return c;
  const npmRoot = spawnSync("npm", ["root", "-g"], { encoding: "utf8" });
  const g = join((npmRoot.stdout || "").trim(), "npm", "node_modules", "node-gyp", "bin", "node-gyp.js");
  if (existsSync(g)) return g;
  fail("building the addon needs node-gyp (it ships with npm), and it was not found");
}

function buildAddon() {
  if (!existsSync(join(root, "build", "libhearth.so"))) buildLib();
  const out = join(root, "binding", "build", "Release", "hearth.node");
  const inputs = [join(root, "build", "libhearth.so"), join(root, "capi", "hearth.h"), join(root, "binding", "binding.gyp")];
  const src = Math.max(newest(join(root, "binding", "src"), ""), ...inputs.map(mtime));
  if (!force && mtime(out) > src) return; // up to date
  const cxx = process.env.CXX || "c++";
  if (!has(cxx) && !has("g++")) fail("building the addon needs a C++ compiler (e.g. `apt-get install build-essential`), and none was found");
  if (!has("python3") && !has("python")) fail("building the addon needs python3 for node-gyp (e.g. `apt-get install python3`), and none was found");
  // configure + build, not rebuild: the old hearth.node stays in place (for
  // processes loading it meanwhile) until the new one is linked.
  const extra = ["--directory", "binding", "--loglevel=warn"];
  // Use the headers of the running Node when they are installed (no download).
  const prefix = resolve(dirname(process.execPath), "..");
  if (existsSync(join(prefix, "include", "node", "common.gypi"))) extra.push(`--nodedir=${prefix}`);
  const gyp = nodeGyp();
  run(process.execPath, [gyp, "configure", ...extra]);
  run(process.execPath, [gyp, "build", "-j", "max", ...extra]);
  // make relinks only when needed (a new libhearth.so needs no relink); record the check.
  const now = new Date();
  utimesSync(out, now, now);
}

function buildTS() {
  const tsc = join(root, "node_modules", "typescript", "bin", "tsc");
  if (!existsSync(tsc)) {
    if (existsSync(join(root, "npm", "dist", "cjs", "index.js"))) return; // prebuilt (installed from a tarball)
    fail("building the TypeScript sources needs the devDependency typescript; run `npm install`");
  }
  const src = Math.max(newest(join(root, "npm", "src"), ".ts"), ...["tsconfig.json", "tsconfig.esm.json", "tsconfig.cjs.json", "scripts/build.mjs"].map((f) => mtime(join(root, f))));
  if (!force && ["esm", "cjs"].every((f) => mtime(join(root, "npm", "dist", f, "addon.js")) > src)) return; // up to date
  // Each build is compiled next to the live one and swapped in, so a process
  // that loads the package meanwhile never sees a half-written dist.
  const addonJS = {
    esm: 'export { default } from "../../addon.mjs";\n',
    cjs: 'module.exports = require("../../addon.cjs");\n',
  };
  for (const f of ["esm", "cjs"]) {
    const dir = join(root, "npm", "dist", f);
    const tmp = `${dir}.tmp-${process.pid}`;
    rmSync(tmp, { recursive: true, force: true });
    run(process.execPath, [tsc, "-p", `tsconfig.${f}.json`, "--outDir", tmp]);
    writeFileSync(join(tmp, "package.json"), f === "esm" ? '{"type":"module"}\n' : '{"type":"commonjs"}\n');
    // npm/src/addon.d.ts types the addon loaders npm/addon.{mjs,cjs}; each build gets a one-line addon.js.
    writeFileSync(join(tmp, "addon.js"), addonJS[f]);
    const old = `${dir}.old-${process.pid}`;
    if (existsSync(dir)) renameSync(dir, old);
    renameSync(tmp, dir);
    rmSync(old, { recursive: true, force: true });
  }
}

const steps = process.argv.slice(2);
for (const step of steps.length ? steps : ["all"]) {
  switch (step) {
    case "all":
      buildLib();
      buildAddon();
      buildTS();
      break;
    case "lib":
      buildLib();
      break;
    case "addon":
      buildAddon();
      break;
    case "ts":
      buildTS();
      break;
    default:
      fail(`unknown build step ${JSON.stringify(step)} (want all, lib, addon or ts)`);
  }
}
