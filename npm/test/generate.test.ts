// Generation through the real addon, checked against llama.cpp and the Go CLI.
import { Model, generate, loadModel, type TokenChunk } from "../src/index";
import { describeModels, llamaRef, prompt, runGo, stories, type GoRun } from "./helpers";

describeModels("generate on stories260K", () => {
  let model: Model;
  beforeAll(async () => {
    model = await loadModel(stories, { threads: 1 });
  });
  afterAll(async () => {
    await model.close();
  });

  test("tokenize matches llama.cpp, detokenize inverts it", () => {
    const texts = [prompt, "Hello world", " leading space", "Lily's dog ran. Then she said: \"hi!\""];
    const ref = llamaRef<{ tokens: number[][] }>({ op: "tokenize", model: stories, texts, addSpecial: true });
    texts.forEach((t, i) => {
      expect(model.tokenize(t)).toEqual(ref.tokens[i]);
      expect(model.detokenize(model.tokenize(t, { addSpecial: false })).trim()).toBe(t.trim());
    });
  });

  test("greedy continuation equals llama.cpp's and the Go CLI's", async () => {
    const n = 48;
    const r = await model.generate(prompt, { maxTokens: n, temperature: 0 });
    expect(r.stopReason).toBe("maxTokens");
    expect(r.tokens).toHaveLength(n);
    expect(r.promptTokens).toBe(model.tokenize(prompt).length);

    const ref = llamaRef<{ tokens: number[] }>({ op: "greedy", model: stories, tokens: model.tokenize(prompt), n });
    expect(r.tokens).toEqual(ref.tokens);
    expect(r.text).toBe(ref.tokens.map((id) => model.detokenize([id])).join(""));

    const go = JSON.parse(runGo(["run", "-m", stories, "-n", String(n), "--temp", "0", "--json", prompt])) as GoRun;
    expect(r.text).toBe(go.text);
    expect(r.tokens).toEqual(go.tokens);
    expect(r.text.length).toBeGreaterThan(20);
  });

  test("generate() one-shot returns the continuation only", async () => {
    const text = await generate(prompt, { model: stories, maxTokens: 24, temperature: 0, threads: 1 });
    const r = await model.generate(prompt, { maxTokens: 24, temperature: 0 });
    expect(text).toBe(r.text);
    expect(text.startsWith(prompt)).toBe(false);
  });

  test("token ids work as a prompt", async () => {
    const a = await model.generate(prompt, { maxTokens: 16, temperature: 0 });
    const b = await model.generate(model.tokenize(prompt), { maxTokens: 16, temperature: 0 });
    const c = await model.generate(Int32Array.from(model.tokenize(prompt)), { maxTokens: 16, temperature: 0 });
    expect(b.text).toBe(a.text);
    expect(c.tokens).toEqual(a.tokens);
  });

  test("stream() and onToken yield exactly the text generate() returns", async () => {
    const opts = { maxTokens: 64, temperature: 0 };
    const r = await model.generate(prompt, opts);
    let streamed = "";
    const ids: number[] = [];
    for await (const chunk of model.stream(prompt, opts)) {
      streamed += chunk.text;
      ids.push(...chunk.tokens);
    }
    expect(streamed).toBe(r.text);
    expect(ids).toEqual(r.tokens);
    const chunks: TokenChunk[] = [];
    const r2 = await model.generate(prompt, { ...opts, onToken: (c) => chunks.push(c) });
    expect(chunks.map((c) => c.text).join("")).toBe(r2.text);
    expect(r2.text).toBe(r.text);
  });

  test("a stop string ends generation before it, in the result and the stream", async () => {
    const full = await model.generate(prompt, { maxTokens: 64, temperature: 0 });
    const at = full.text.indexOf(".");
    expect(at).toBeGreaterThan(0);
    const r = await model.generate(prompt, { maxTokens: 64, temperature: 0, stop: ["."] });
    expect(r.stopReason).toBe("stop");
    expect(r.text).toBe(full.text.slice(0, at));
    let streamed = "";
    for await (const c of model.stream(prompt, { maxTokens: 64, temperature: 0, stop: ["."] })) streamed += c.text;
    expect(streamed).toBe(r.text);
  });

  test("seeded sampling is reproducible and matches the Go CLI", async () => {
    const opts = { maxTokens: 48, temperature: 0.9, topK: 40, topP: 0.95, minP: 0.05 };
    const a = await model.generate(prompt, { ...opts, seed: 42 });
    const b = await model.generate(prompt, { ...opts, seed: 42 });
    const c = await model.generate(prompt, { ...opts, seed: 7 });
    expect(b.text).toBe(a.text);
    expect(b.tokens).toEqual(a.tokens);
    expect(c.tokens).not.toEqual(a.tokens);
    const go = JSON.parse(
      runGo(["run", "-m", stories, "-n", "48", "--temp", "0.9", "--top-k", "40", "--top-p", "0.95", "--min-p", "0.05", "--seed", "42", "--json", prompt]),
    ) as GoRun;
    expect(a.text).toBe(go.text);
  });

  test("generation runs to end of sequence with stopReason eos", async () => {
    const r = await model.generate(prompt, { temperature: 0, maxTokens: 1000 });
    expect(["eos", "maxTokens"]).toContain(r.stopReason);
    if (r.stopReason === "eos") expect(r.tokens[r.tokens.length - 1]).toBe(model.info.eos);
    expect(r.timings.tokensPerSecond).toBeGreaterThan(0);
  });

  test("info agrees with llama.cpp", () => {
    const ref = llamaRef<{ bos: number; eos: number }>({ op: "info", model: stories });
    const info = model.info;
    expect(info.arch).toBe("llama");
    expect(info.bos).toBe(ref.bos);
    expect(info.eos).toBe(ref.eos);
    expect(info.nLayer).toBeGreaterThan(0);
  });
});
