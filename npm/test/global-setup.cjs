// Jest global setup: builds what the tests compare against and run.
//  - the Go CLI (go build -o build/hearth ./cmd/hearth), the reference for `hearth run --json`
//  - the addon and the TypeScript package (incremental; `npm install` normally did it)
const { spawnSync } = require("node:child_process");
const path = require("node:path");

module.exports = async function globalSetup() {
  const root = path.resolve(__dirname, "..", "..");
  const steps = [
    ["go", ["build", "-o", "build/hearth", "./cmd/hearth"]],
    [process.execPath, ["scripts/build.mjs", "addon", "ts"]],
  ];
  for (const [cmd, args] of steps) {
    const r = spawnSync(cmd, args, { cwd: root, stdio: "inherit" });
    if (r.status !== 0) throw new Error(`jest global setup: ${cmd} ${args.join(" ")} failed`);
  }
};
