#!/usr/bin/env node
// llamacpp-ref answers questions about a GGUF file with llama.cpp itself
// (through node-llama-cpp, pinned in package.json), so that tests can compare
// Hearth with an independent implementation. It reads one JSON request from
// stdin and writes one JSON answer to stdout:
//
//   {"op":"tokenize","model":P,"texts":[...],"addSpecial":false,"special":false}
//        -> {"tokens":[[ids...],...]}        (vocab-only load)
//        (addSpecial: BOS/EOS added as llama_tokenize(add_special=true) adds them)
//   {"op":"detokenize","model":P,"tokens":[[ids...],...],"special":false}
//        -> {"texts":[...]}                  (llama_detokenize, remove_special=false)
//   {"op":"vocab","model":P,"n":N} -> {"attrs":[...],"eog":[...],"bos","eos","eot","addBos","addEos"}
//        (llama_token_attr bits and llama_vocab_is_eog of tokens 0..N-1; vocab-only load)
//   {"op":"greedy","model":P,"tokens":[ids],"n":N}
//        -> {"tokens":[ids...]}              (greedy continuation of the given ids)
//   {"op":"probs","model":P,"tokens":[ids],"kvF32":true}
//        -> {"probs":[[p0..pV-1],...]}       (next-token distribution after each prefix;
//                                              softmax of the raw logits, temperature 1;
//                                              "oneByOne":true decodes one token per call)
//   {"op":"info","model":P} -> {"bos":id,"eos":id,"trainContextSize":N}
//   {"op":"batch","requests":[req,...]} -> {"results":[answer,...]}
//        (any of the requests above, answered in order by one process)
//
// Diagnostic output from llama.cpp goes to stderr.
import { getLlama, LlamaLogLevel } from "node-llama-cpp";

async function readStdin() {
  const chunks = [];
  for await (const c of process.stdin) chunks.push(c);
  return JSON.parse(Buffer.concat(chunks).toString("utf8"));
}

// vocabModels caches vocab-only loads across the requests of one batch.
const vocabModels = new Map();

async function answer(llama, req) {
  const vocabOnly = ["tokenize", "detokenize", "vocab", "info"].includes(req.op);
  let model = vocabOnly ? vocabModels.get(req.model) : undefined;
  if (!model) {
    model = await llama.loadModel({ modelPath: req.model, vocabOnly, gpuLayers: 0 });
    if (vocabOnly) vocabModels.set(req.model, model);
  }
  let out;

  switch (req.op) {
    case "info":
      out = { bos: model.tokens.bos, eos: model.tokens.eos, trainContextSize: model.trainContextSize };
      break;
    case "tokenize": {
      const tokens = [];
      for (const t of req.texts) {
        let ids = model.tokenize(t, Boolean(req.special));
        // model.tokenize uses add_special=false; llama_tokenize(add_special=true)
        // prepends BOS when add_bos and appends EOS when add_eos (SPM and BPE).
        if (req.addSpecial && model.tokens.shouldPrependBosToken && model.tokens.bos != null)
          ids = [model.tokens.bos, ...ids];
        if (req.addSpecial && model._model.shouldAppendEosToken() && model.tokens.eos != null)
          ids = [...ids, model.tokens.eos];
        tokens.push(Array.from(ids));
      }
      out = { tokens };
      break;
    }
    case "detokenize":
      // llama_detokenize(remove_special=false, unparse_special=req.special) of each id list
      out = { texts: req.tokens.map((ids) => model.detokenize(ids, Boolean(req.special))) };
      break;
    case "vocab": {
      // llama_token_attr bits and llama_vocab_is_eog of tokens 0..n-1, after llama.cpp's fix-ups
      const attrs = [], eog = [];
      for (let i = 0; i < req.n; i++) {
        attrs.push(model._model.getTokenAttributes(i));
        eog.push(model._model.isEogToken(i));
      }
      out = { attrs, eog, bos: model.tokens.bos, eos: model.tokens.eos, eot: model.tokens.eot,
        addBos: model._model.shouldPrependBosToken(), addEos: model._model.shouldAppendEosToken() };
      break;
    }
    case "greedy": {
      const ctx = await model.createContext({ contextSize: Math.max(256, req.tokens.length + req.n + 8), batchSize: 512, threads: req.threads ?? 2 });
      const seq = ctx.getSequence();
      const gen = [];
      for await (const t of seq.evaluate(req.tokens, { temperature: 0 })) {
        gen.push(t);
        if (gen.length >= req.n) break;
      }
      out = { tokens: gen };
      await ctx.dispose();
      break;
    }
    case "probs": {
      const kv = req.kvF32 === false ? {} : { experimentalKvCacheKeyType: "F32", experimentalKvCacheValueType: "F32" };
      const ctx = await model.createContext({ contextSize: Math.max(256, req.tokens.length + 8), flashAttention: false, threads: req.threads ?? 2, ...kv });
      const seq = ctx.getSequence();
      const input = req.tokens.map((t) => [t, { generateNext: { probabilities: true, options: { temperature: 1, topK: 0, topP: 1, minP: 0 } } }]);
      let res;
      if (req.oneByOne) {
        // one decode call per token: llama.cpp's single-token (matrix-vector) kernels
        res = [];
        for (const item of input) res.push(...(await seq.controlledEvaluate([item])));
      } else {
        res = await seq.controlledEvaluate(input);
      }
      out = {
        probs: res.map((r) => {
          const m = r?.next?.probabilities;
          if (!m) return null;
          let max = 0;
          for (const k of m.keys()) max = Math.max(max, k);
          const p = new Array(max + 1).fill(0);
          for (const [k, v] of m) p[k] = v;
          return p;
        }),
      };
      await ctx.dispose();
      break;
    }
    default:
      throw new Error(`llamacpp-ref: unknown op ${JSON.stringify(req.op)}`);
}
if (!vocabOnly) await model.dispose();
return out;
}

const req = await readStdin();
const llama = await getLlama({ gpu: false, build: "never", logLevel: LlamaLogLevel.error });
let out;
if (req.op === "batch") {
  const results = [];
  for (const r of req.requests) results.push(await answer(llama, r));
  out = { results };
} else {
  out = await answer(llama, req);
}
for (const m of vocabModels.values()) await m.dispose();
process.stdout.write(JSON.stringify(out));
process.stdout.write("\n");
