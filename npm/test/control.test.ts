// Concurrency and control: abort, queueing, close, responsiveness, leaks, callback errors.
import { loadModel, type Model } from "../src/index";
import { describeModels, prompt, stories } from "./helpers";

describeModels("control", () => {
  let model: Model;
  beforeAll(async () => {
    model = await loadModel(stories, { threads: 1 });
  });
  afterAll(async () => {
    await model.close();
  });

  test("abort after N tokens stops within one token with the partial text", async () => {
    const full = await model.generate(prompt, { maxTokens: 200, temperature: 0 });
    for (const n of [1, 5, 20]) {
      const ac = new AbortController();
      let seen = 0;
      let streamed = "";
      const r = await model.generate(prompt, {
        maxTokens: 200,
        temperature: 0,
        signal: ac.signal,
        onToken: (c) => {
          streamed += c.text;
          seen += c.tokens.length;
          if (seen === n) ac.abort();
        },
      });
      expect(r.stopReason).toBe("abort");
      expect(r.tokens.length).toBeGreaterThanOrEqual(n);
      expect(r.tokens.length).toBeLessThanOrEqual(n + 1);
      expect(r.tokens).toEqual(full.tokens.slice(0, r.tokens.length));
      expect(full.text.startsWith(r.text)).toBe(true);
      expect(streamed).toBe(r.text);
    }
  });

  test("an already aborted signal resolves at once with an empty abort result", async () => {
    const r = await model.generate(prompt, { maxTokens: 50, signal: AbortSignal.abort() });
    expect(r).toMatchObject({ stopReason: "abort", text: "", tokens: [] });
  });

  test("breaking out of stream() aborts the generation", async () => {
    let n = 0;
    for await (const c of model.stream(prompt, { maxTokens: 500, temperature: 0 })) {
      n += c.tokens.length;
      if (n >= 3) break;
    }
    // The model is free again right away.
    const r = await model.generate(prompt, { maxTokens: 4, temperature: 0 });
    expect(r.tokens).toHaveLength(4);
  });

  test("the event loop keeps ticking during generation", async () => {
    const ticks: number[] = [];
    const timer = setInterval(() => ticks.push(performance.now()), 5);
    const t0 = performance.now();
    const r = await model.generate(prompt, { maxTokens: 400, temperature: 0 });
    const elapsed = performance.now() - t0;
    clearInterval(timer);
    expect(r.tokens.length).toBeGreaterThan(50);
    let maxGap = 0;
    for (let i = 1; i < ticks.length; i++) maxGap = Math.max(maxGap, ticks[i]! - ticks[i - 1]!);
    expect(ticks.length).toBeGreaterThanOrEqual(Math.floor(elapsed / 5 / 4));
    expect(maxGap).toBeLessThan(250);
  });

  test("concurrent calls on one model queue and each get their own result", async () => {
    const ref = await model.generate(prompt, { maxTokens: 16, temperature: 0 });
    const order: number[] = [];
    const runs = [0, 1, 2].map((i) =>
      model.generate(prompt, { maxTokens: 16, temperature: 0 }).then((r) => {
        order.push(i);
        return r;
      }),
    );
    const results = await Promise.all(runs);
    for (const r of results) expect(r.tokens).toEqual(ref.tokens);
    expect(order).toEqual([0, 1, 2]);
  });

  test("two models generate concurrently", async () => {
    const other = await loadModel(stories, { threads: 1 });
    try {
      const ref = await model.generate(prompt, { maxTokens: 150, temperature: 0 });
      const times: Record<string, number[]> = { a: [], b: [] };
      const [a, b] = await Promise.all([
        model.generate(prompt, { maxTokens: 150, temperature: 0, onToken: () => times.a!.push(performance.now()) }),
        other.generate(prompt, { maxTokens: 150, temperature: 0, onToken: () => times.b!.push(performance.now()) }),
      ]);
      expect(a.tokens).toEqual(ref.tokens);
      expect(b.tokens).toEqual(ref.tokens);
      // They overlapped: each started before the other finished.
      expect(times.b![0]!).toBeLessThan(times.a![times.a!.length - 1]!);
      expect(times.a![0]!).toBeLessThan(times.b![times.b!.length - 1]!);
    } finally {
      await other.close();
    }
  });

  test("a throwing token callback rejects with its error and the model stays usable", async () => {
    const boom = new Error("boom from user code");
    let calls = 0;
    await expect(
      model.generate(prompt, {
        maxTokens: 100,
        temperature: 0,
        onToken: () => {
          calls++;
          if (calls === 3) throw boom;
        },
      }),
    ).rejects.toBe(boom);
    expect(calls).toBe(3);
    await expect(
      model.generate(prompt, { maxTokens: 10, onToken: () => { throw "a string"; } }), // eslint-disable-line no-throw-literal
    ).rejects.toBe("a string");
    const r = await model.generate(prompt, { maxTokens: 8, temperature: 0 });
    expect(r.tokens).toHaveLength(8);
  });

  test("close() during generation cancels it, then frees; later calls reject HEARTH_CLOSED", async () => {
    const m = await loadModel(stories, { threads: 1 });
    let first = true;
    let closing: Promise<void> | undefined;
    const running = m.generate(prompt, {
      maxTokens: 2000,
      temperature: 0,
      onToken: () => {
        if (first) {
          first = false;
          closing = m.close();
        }
      },
    });
    const queued = m.generate(prompt, { maxTokens: 5 }).catch((e: unknown) => e);
    const r = await running;
    expect(r.stopReason).toBe("abort");
    expect(r.tokens.length).toBeLessThanOrEqual(2);
    expect(await queued).toMatchObject({ code: "HEARTH_CLOSED" });
    await closing;
    expect(m.closed).toBe(true);
    expect(() => m.tokenize("x")).toThrow(expect.objectContaining({ code: "HEARTH_CLOSED" }));
    expect(() => m.generate(prompt)).toThrow(expect.objectContaining({ code: "HEARTH_CLOSED" }));
    await m.close(); // idempotent
  });

  test("200 sequential generate calls leave RSS flat", async () => {
    // Half stream through onToken, half do not; 200 calls of warm-up first
    // (allocator arenas, Go heap and V8 settle), then 200 measured calls.
    const opts = { maxTokens: 8, temperature: 0.8, seed: 1 };
    const call = (i: number) => model.generate(prompt, i % 2 === 0 ? opts : { ...opts, onToken: () => undefined });
    for (let i = 0; i < 200; i++) await call(i);
    const before = process.memoryUsage().rss;
    for (let i = 0; i < 200; i++) await call(i);
    const after = process.memoryUsage().rss;
    const growthMB = (after - before) / 2 ** 20;
    expect(growthMB).toBeLessThan(4);
  });
});
