// The package as users get it: require/import of "hearth-llm" and the CLI.
import { spawnSync } from "node:child_process";

import { loadModel } from "../src/index";
import { describeModels, prompt, root, stories } from "./helpers";

function node(args: string[], input?: string): { stdout: string; stderr: string; status: number | null } {
  const r = spawnSync(process.execPath, args, { cwd: root, encoding: "utf8", input, timeout: 120_000 });
  return { stdout: r.stdout, stderr: r.stderr, status: r.status };
}

describeModels("package", () => {
  const opts = { maxTokens: 24, temperature: 0, threads: 1 };
  let expected: string;
  beforeAll(async () => {
    const m = await loadModel(stories, { threads: 1 });
    expected = (await m.generate(prompt, { maxTokens: opts.maxTokens, temperature: opts.temperature })).text;
    await m.close();
  });

  test('require("hearth-llm") works (CommonJS build)', () => {
    const code = `const h = require("hearth-llm");
      h.generate(${JSON.stringify(prompt)}, { model: ${JSON.stringify(stories)}, ...${JSON.stringify(opts)} })
        .then((t) => process.stdout.write(JSON.stringify({ t, keys: Object.keys(h).sort(), v: h.engineVersion() })));`;
    const r = node(["-e", code]);
    expect(r.stderr).toBe("");
    const out = JSON.parse(r.stdout) as { t: string; keys: string[]; v: string };
    expect(out.t).toBe(expected);
    expect(out.keys).toEqual(expect.arrayContaining(["generate", "loadModel", "Model", "HearthError"]));
    expect(out.v).toMatch(/^\d+\.\d+\.\d+/);
  });

  test('import from "hearth-llm" works (ESM build)', () => {
    const code = `import { generate, loadModel, HearthError } from "hearth-llm";
      const t = await generate(${JSON.stringify(prompt)}, { model: ${JSON.stringify(stories)}, ...${JSON.stringify(opts)} });
      const e = await loadModel("/nonexistent.gguf").catch((x) => x);
      process.stdout.write(JSON.stringify({ t, code: e.code, isHearth: e instanceof HearthError }));`;
    const r = node(["--input-type=module", "-e", code]);
    expect(r.stderr).toBe("");
    expect(JSON.parse(r.stdout)).toEqual({ t: expected, code: "HEARTH_NOT_FOUND", isHearth: true });
  });

  // npm 11 runs a project's own bin by linking the project into npx's cache
  // (running its install script once: an incremental build).
  test("npx hearth run prints what the API returns", () => {
    const r = spawnSync("npx", ["hearth", "run", "-m", stories, "-n", "24", "--temp", "0", "--threads", "1", prompt], {
      cwd: root,
      encoding: "utf8",
      timeout: 300_000,
    });
    expect(r.status).toBe(0);
    expect(r.stdout).toBe(expected + "\n");
    const j = node(["npm/bin/hearth.cjs", "run", "-m", stories, "-n", "24", "--temp", "0", "--json", prompt]);
    expect(j.status).toBe(0);
    expect(JSON.parse(j.stdout)).toMatchObject({ text: expected, stopReason: "maxTokens" });
  });

  test("hearth tokenize and inspect print what the API returns", async () => {
    const m = await loadModel(stories, { threads: 1 });
    const ids = m.tokenize(prompt);
    const info = m.info;
    await m.close();
    const t = node(["npm/bin/hearth.cjs", "tokenize", "-m", stories, prompt]);
    expect(t.stdout).toBe(ids.join(" ") + "\n");
    const tj = node(["npm/bin/hearth.cjs", "tokenize", "-m", stories, "--json", prompt]);
    expect(JSON.parse(tj.stdout)).toEqual(ids);
    const i = node(["npm/bin/hearth.cjs", "inspect", "--json", stories]);
    expect(JSON.parse(i.stdout)).toEqual(info);
  });

  test("process.exit() during a streaming generation exits at once", () => {
    const code = `const { loadModel } = require("hearth-llm");
      loadModel(${JSON.stringify(stories)}, { threads: 1 }).then((m) => {
        let n = 0;
        m.generate("Once upon a time", { maxTokens: 100000, onToken: () => { if (++n === 3) process.exit(7); } });
        m.generate("Once upon a time", { maxTokens: 100000 });
      });`;
    const t0 = Date.now();
    const r = spawnSync(process.execPath, ["-e", code], { cwd: root, encoding: "utf8", timeout: 60_000 });
    expect(r.status).toBe(7);
    expect(Date.now() - t0).toBeLessThan(20_000);
  });

  test("the CLI explains usage errors", () => {
    const h = node(["npm/bin/hearth.cjs", "run", "--help"]);
    expect(h.status).toBe(0);
    expect(h.stdout).toContain("--temp");
    const bad = node(["npm/bin/hearth.cjs", "run", "--nope", prompt]);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain("unknown flag --nope");
    const missing = node(["npm/bin/hearth.cjs", "run", "-m", "/nonexistent.gguf", prompt]);
    expect(missing.status).toBe(1);
    expect(missing.stderr).toContain("HEARTH_NOT_FOUND");
  });
});
