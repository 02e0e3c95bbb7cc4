#!/usr/bin/env node
// `npm test`: the Go tests (with quant/_avo's), then the Node package's Jest
// tests (against the real addon). Both always run; the exit status is non-zero if either failed.
// HEARTH_GO_TEST_FLAGS adds flags to `go test` (e.g. "-timeout 30m -short").
import { spawnSync } from "node:child_process";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const failed = [];
function run(name, cmd, args, cwd = root) {
  console.log(`\n$ ${cmd} ${args.join(" ")}${cwd === root ? "" : ` (in ${cwd})`}`);
  const r = spawnSync(cmd, args, { cwd, stdio: "inherit" });
  if (r.status !== 0) failed.push(name);
  return r.status === 0;
}
run("go test", "go", ["test", ...(process.env.HEARTH_GO_TEST_FLAGS ?? "").split(" ").filter(Boolean), "./..."]);
// quant/_avo (its own module, skipped by ./...): the instruction emulator runs
// the generated AVX-512 kernels on any CPU, and the committed .s must be what
// the generator writes.
const avo = resolve(root, "quant/_avo");
run("avo emulator", "go", ["test", "./..."], avo);
run("avo generate check", "sh", ["check.sh"], avo);
if (run("build", process.execPath, ["scripts/build.mjs", "addon", "ts"])) {
  run("jest", process.execPath, ["node_modules/jest/bin/jest.js", ...process.argv.slice(2)]);
}
if (failed.length > 0) {
  console.error(`\nnpm test: FAILED: ${failed.join(", ")}`);
  process.exit(1);
}
console.log("\nnpm test: all passed");
