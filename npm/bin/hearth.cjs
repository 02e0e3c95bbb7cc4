#!/usr/bin/env node
// The `hearth` command of the hearth-llm package.
require("../dist/cjs/cli.js")
  .main(process.argv.slice(2))
  .then((code) => {
    process.exitCode = code;
  });
