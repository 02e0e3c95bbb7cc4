#!/usr/bin/env node
// llamacpp-load asks llama.cpp (node-llama-cpp) whether it loads each GGUF
// file named in the JSON array argv[2]; it prints a JSON array of booleans.
// Used by gguf's tests to check that files the package rejects are invalid
// for llama.cpp too.
import { getLlama, LlamaLogLevel } from "node-llama-cpp";

const paths = JSON.parse(process.argv[2]);
const llama = await getLlama({ gpu: false, build: "never", logLevel: LlamaLogLevel.fatal });
const out = [];
for (const p of paths) {
  try {
    const m = await llama.loadModel({ modelPath: p, gpuLayers: 0 });
    await m.dispose();
    out.push(true);
  } catch {
    out.push(false);
  }
}
console.log(JSON.stringify(out));
