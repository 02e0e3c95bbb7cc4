#!/usr/bin/env node
// `npm test`: the Go tests, then the Node package's Jest tests (against the real addon).
import { spawnSync } from "node:child_process";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
function run(cmd, args) {
  console.log(`\n$ ${cmd} ${args.join(" ")}`);
  const r = spawnSync(cmd, args, { cwd: root, stdio: "inherit" });
  if (r.status !== 0) process.exit(r.status ?? 1);
}
run("go", ["test", ...(process.env.HEARTH_GO_TEST_FLAGS ?? "").split(" ").filter(Boolean), "./..."]);
run(process.execPath, ["scripts/build.mjs", "addon", "ts"]);
run(process.execPath, ["node_modules/jest/bin/jest.js", ...process.argv.slice(2)]);
