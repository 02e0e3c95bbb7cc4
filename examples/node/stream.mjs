#!/usr/bin/env node
// Streams a continuation to stdout; Ctrl-C stops it within one token.
//
//   node examples/node/stream.mjs [MODEL.gguf] [PROMPT]
import { loadModel } from "hearth-llm";

const modelPath = process.argv[2] ?? new URL("../../../shared/models/stories260K.gguf", import.meta.url).pathname;
const prompt = process.argv[3] ?? "Once upon a time";

const model = await loadModel(modelPath, { backend: "auto" });
console.error(`${model.info.name} (${model.info.arch}, ${model.info.fileType}) on ${model.info.backend}`);

const ac = new AbortController();
process.once("SIGINT", () => ac.abort());

process.stdout.write(prompt);
const it = model.stream(prompt, { maxTokens: 256, temperature: 0.8, seed: 42, signal: ac.signal });
let r;
for (;;) {
  const { value, done } = await it.next();
  if (done) {
    r = value; // the GenerateResult
    break;
  }
  process.stdout.write(value.text);
}
process.stdout.write("\n");
console.error(`${r.tokens.length} tokens, ${r.timings.tokensPerSecond.toFixed(1)} tok/s, stop: ${r.stopReason}`);
await model.close();
