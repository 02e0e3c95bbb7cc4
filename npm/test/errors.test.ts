// Errors reject with stable codes.
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { HearthError, generate, loadModel, type Model } from "../src/index";
import { describeModels, prompt, stories } from "./helpers";

const tmp = mkdtempSync(join(tmpdir(), "hearth-test-"));

describe("load errors", () => {
  test("a missing file rejects HEARTH_NOT_FOUND", async () => {
    await expect(loadModel(join(tmp, "nope.gguf"))).rejects.toMatchObject({ code: "HEARTH_NOT_FOUND" });
  });

  test("a file that is not GGUF rejects HEARTH_BAD_MODEL", async () => {
    const p = join(tmp, "text.gguf");
    writeFileSync(p, "this is not a GGUF file, just some text that is long enough to read a header from\n".repeat(4));
    const e = await loadModel(p).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(HearthError);
    expect(e).toMatchObject({ code: "HEARTH_BAD_MODEL" });
  });

  test("an empty file rejects HEARTH_BAD_MODEL", async () => {
    const p = join(tmp, "empty.gguf");
    writeFileSync(p, "");
    await expect(loadModel(p)).rejects.toMatchObject({ code: "HEARTH_BAD_MODEL" });
  });

  test("remote sources go through the model cache (offline and not cached: HEARTH_NOT_FOUND)", async () => {
    const cache = { dir: join(tmp, "cache"), offline: true };
    await expect(loadModel("hf:someone/model/model.gguf", { cache })).rejects.toMatchObject({ code: "HEARTH_NOT_FOUND" });
    await expect(loadModel("https://example.com/m.gguf", { cache })).rejects.toMatchObject({ code: "HEARTH_NOT_FOUND" });
    await expect(loadModel("hf:no-file", { cache })).rejects.toMatchObject({ code: "HEARTH_INVALID_OPTION" });
  });

  test.each([
    [{ backend: "tpu" }, "backend"],
    [{ threads: -1 }, "threads"],
    [{ threads: 1.5 }, "threads"],
    [{ contextSize: "big" }, "contextSize"],
    [{ kvType: "q8" }, "kvType"],
    [{ thread: 2 }, "thread"],
    [{ cache: { dri: "/x" } }, "cache.dri"],
  ])("load option %j rejects HEARTH_INVALID_OPTION naming %s", async (opts, name) => {
    const e = await loadModel(stories, opts as never).catch((x: unknown) => x);
    expect(e).toMatchObject({ code: "HEARTH_INVALID_OPTION" });
    expect((e as Error).message).toContain(name);
  });
});

describeModels("model errors", () => {
  let model: Model;
  beforeAll(async () => {
    model = await loadModel(stories, { threads: 1, contextSize: 32 });
  });
  afterAll(async () => {
    await model.close();
  });

  test("a truncated GGUF rejects HEARTH_BAD_MODEL", async () => {
    const data = readFileSync(stories);
    for (const n of [100, Math.floor(data.length / 2), data.length - 1]) {
      const p = join(tmp, `trunc-${n}.gguf`);
      writeFileSync(p, data.subarray(0, n));
      await expect(loadModel(p)).rejects.toMatchObject({ code: "HEARTH_BAD_MODEL" });
    }
  });

  test.each([
    [{ temperature: -1 }, "temperature"],
    [{ temperature: Number.NaN }, "temperature"],
    [{ topP: 1.5 }, "topP"],
    [{ minP: -0.1 }, "minP"],
    [{ topK: 2.5 }, "topK"],
    [{ maxTokens: -3 }, "maxTokens"],
    [{ seed: -1 }, "seed"],
    [{ stop: [""] }, "stop"],
    [{ stop: "x" }, "stop"],
    [{ signal: {} }, "signal"],
    [{ onToken: 3 }, "onToken"],
    [{ temprature: 0.5 }, "temprature"],
  ])("generate option %j throws HEARTH_INVALID_OPTION naming %s", (opts, name) => {
    let err: unknown;
    try {
      void model.generate(prompt, opts as never);
    } catch (e) {
      err = e;
    }
    expect(err).toMatchObject({ code: "HEARTH_INVALID_OPTION" });
    expect((err as Error).message).toContain(name);
  });

  test("generate() one-shot rejects bad options before loading", async () => {
    await expect(generate(prompt, { model: stories, temperature: -2 })).rejects.toMatchObject({ code: "HEARTH_INVALID_OPTION" });
    await expect(generate(prompt, { model: stories, bogus: 1 } as never)).rejects.toMatchObject({ code: "HEARTH_INVALID_OPTION" });
  });

  test("a prompt longer than the context rejects HEARTH_CONTEXT_OVERFLOW", async () => {
    const long = "Once upon a time there was a little girl. ".repeat(20);
    await expect(model.generate(long, { maxTokens: 4 })).rejects.toMatchObject({ code: "HEARTH_CONTEXT_OVERFLOW" });
  });

  test("bad token ids are rejected", async () => {
    expect(() => model.detokenize([1.5])).toThrow(expect.objectContaining({ code: "HEARTH_INVALID_OPTION" }));
    await expect(model.generate([1, 999999], { maxTokens: 2 })).rejects.toMatchObject({ code: "HEARTH_INVALID_OPTION" });
  });
});
