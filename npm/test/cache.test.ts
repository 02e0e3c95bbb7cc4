// The model cache through the real addon and libhearth, against a local HTTP
// server with injected faults (npm/test/model-server.ts). Digests are
// computed here with node:crypto, independently of the Go side.
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { HearthError, ModelCache, generate, loadModel, type DownloadProgress } from "../src/index";
import { describeModels, prompt, root, stories } from "./helpers";
import { ModelServer, sha256 } from "./model-server";

/** Runs a command asynchronously (the test's HTTP server must keep serving). */
function exec(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const c = spawn(process.execPath, args, { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, ...env } });
    let stdout = "";
    let stderr = "";
    c.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    c.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    c.on("close", (code) => resolve({ code, stdout, stderr }));
  });
}

describeModels("model cache", () => {
  const server = new ModelServer();
  let data: Buffer;
  let digest: string;
  let tmp: string;
  let n = 0;
  // A fresh cache folder and a fresh URL path per test.
  const fresh = (): { cache: ModelCache; dir: string; path: string; url: string } => {
    n++;
    const dir = join(tmp, `cache${n}`);
    const path = `/m${n}/stories260K.gguf`;
    server.set(path, data);
    return { cache: new ModelCache({ dir }), dir, path, url: server.url(path) };
  };

  beforeAll(async () => {
    data = readFileSync(stories);
    digest = sha256(data);
    tmp = mkdtempSync(join(tmpdir(), "hearth-cache-test-"));
    await server.start();
  });
  afterAll(async () => {
    await server.close();
    rmSync(tmp, { recursive: true, force: true });
  });

  test("downloads once, stores by SHA-256, reports progress", async () => {
    const { cache, dir, path, url } = fresh();
    expect(cache.dir).toBe(dir);
    const progress: DownloadProgress[] = [];
    const r = await cache.resolve(url, { onProgress: (p) => progress.push(p) });
    expect(r).toMatchObject({ sha256: digest, size: data.length, downloaded: true, resumed: false, offline: false });
    expect(r.path.startsWith(join(dir, "blobs"))).toBe(true);
    expect(sha256(readFileSync(r.path))).toBe(digest);
    expect(progress.length).toBeGreaterThan(0);
    expect(progress[progress.length - 1]).toMatchObject({ downloaded: data.length, total: data.length });

    const again = await cache.resolve(url, { sha256: digest.toUpperCase() });
    expect(again).toMatchObject({ path: r.path, downloaded: false });
    expect(server.requests(path).map((e) => e.method)).toEqual(["GET"]);

    const list = await cache.list();
    expect(list).toHaveLength(1);
    expect(list[0]).toMatchObject({ sha256: digest, size: data.length, source: url, sources: [url], path: r.path });
    expect(list[0]!.lastAccess).toBeInstanceOf(Date);

    // Revalidation is a conditional request; unchanged, nothing is fetched.
    const rv = await cache.resolve(url, { revalidate: true });
    expect(rv.downloaded).toBe(false);
    expect(server.requests(path).slice(1)).toEqual([{ method: "HEAD", path, status: 304 }]);
  });

  test("a dropped connection resumes from the byte it had", async () => {
    const { cache, path, url } = fresh();
    const cut = 400_000;
    server.fault(path, { dropAfter: cut });
    await expect(cache.resolve(url)).rejects.toMatchObject({ code: "HEARTH_DOWNLOAD" });
    server.fault(path, undefined);
    const r = await cache.resolve(url);
    expect(r).toMatchObject({ sha256: digest, downloaded: true, resumed: true });
    const log = server.requests(path);
    expect(log.map((e) => [e.range, e.status])).toEqual([
      [undefined, 200],
      [`bytes=${cut}-`, 206],
    ]);
    expect(sha256(readFileSync(r.path))).toBe(digest);
  });

  test("a server that ignores Range is downloaded again from the start", async () => {
    const { cache, path, url } = fresh();
    server.fault(path, { dropAfter: 300_000 });
    await expect(cache.resolve(url)).rejects.toMatchObject({ code: "HEARTH_DOWNLOAD" });
    server.fault(path, { ignoreRange: true });
    const r = await cache.resolve(url);
    expect(r).toMatchObject({ sha256: digest, downloaded: true, resumed: false });
    expect(server.requests(path).map((e) => [e.range, e.status])).toEqual([
      [undefined, 200],
      ["bytes=300000-", 200],
    ]);
    expect(sha256(readFileSync(r.path))).toBe(digest);
  });

  test.each([404, 500])("HTTP %d rejects HEARTH_DOWNLOAD and caches nothing", async (status) => {
    const { cache, path, url } = fresh();
    server.fault(path, { status });
    const e = await cache.resolve(url).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(HearthError);
    expect(e).toMatchObject({ code: "HEARTH_DOWNLOAD", message: expect.stringContaining(String(status)) });
    expect(await cache.list()).toEqual([]);
  });

  test("an AbortSignal cancels a slow download; the partial file is kept and resumed", async () => {
    const { cache, dir, path, url } = fresh();
    server.fault(path, { delayMs: 200, chunk: 16384 });
    const ac = new AbortController();
    let seen = 0;
    const t0 = Date.now();
    const p = cache.resolve(url, {
      signal: ac.signal,
      onProgress: (pr) => {
        seen = pr.downloaded;
        if (pr.downloaded > 0) ac.abort();
      },
    });
    await expect(p).rejects.toMatchObject({ code: "HEARTH_ABORTED" });
    expect(Date.now() - t0).toBeLessThan(5000); // the whole file would take ~15 s
    expect(seen).toBeGreaterThan(0);
    const part = readdirSync(join(dir, "partial")).filter((f) => f.endsWith(".part"));
    expect(part).toHaveLength(1);

    server.fault(path, undefined);
    const r = await cache.resolve(url);
    expect(r).toMatchObject({ sha256: digest, resumed: true });
    const resumedAt = Number(/bytes=(\d+)-/.exec(server.requests(path)[1]!.range ?? "")?.[1]);
    expect(resumedAt).toBeGreaterThan(0);

    // Aborted before it starts: nothing is requested.
    const before = server.log.length;
    await expect(cache.resolve(server.url("/never"), { signal: AbortSignal.abort() })).rejects.toMatchObject({ code: "HEARTH_ABORTED" });
    expect(server.log.length).toBe(before);
  });

  test("other bytes than the expected sha256: HEARTH_DIGEST_MISMATCH, nothing kept", async () => {
    const { cache, dir, path, url } = fresh();
    const other = Buffer.from(data);
    other[other.length - 1] ^= 1;
    server.set(path, other);
    await expect(cache.resolve(url, { sha256: digest })).rejects.toMatchObject({ code: "HEARTH_DIGEST_MISMATCH" });
    expect(await cache.list()).toEqual([]);
    expect(readdirSync(join(dir, "blobs"))).toEqual([]);
    expect(readdirSync(join(dir, "partial")).filter((f) => !f.startsWith("."))).toEqual([]);
    await expect(cache.resolve(url, { sha256: "xyz" })).rejects.toMatchObject({ code: "HEARTH_INVALID_OPTION" });
  });

  test("verify finds a flipped bit and removes the blob", async () => {
    const { cache, url } = fresh();
    const r = await cache.resolve(url);
    const b = readFileSync(r.path);
    b[123_456] ^= 0x10;
    writeFileSync(r.path, b);
    const rep = await cache.verify();
    expect(rep.ok).toEqual([]);
    expect(rep.corrupt.map((e) => e.sha256)).toEqual([digest]);
    expect(existsSync(r.path)).toBe(false);
    const again = await cache.resolve(url);
    expect(again.downloaded).toBe(true);
    expect((await cache.verify()).ok.map((e) => e.sha256)).toEqual([digest]);
  });

  test("two processes racing for one URL: one download, two working models", async () => {
    const { dir, path, url } = fresh();
    server.fault(path, { delayMs: 40 }); // ~0.7 s, so the two overlap
    const script = join(tmp, "race.cjs");
    writeFileSync(
      script,
      `const h = require(${JSON.stringify(join(root, "npm", "dist", "cjs", "index.js"))});
(async () => {
  const cache = new h.ModelCache({ dir: process.argv[2] });
  const r = await cache.resolve(process.argv[3]);
  const m = await h.loadModel(r.path, { threads: 1 });
  const g = await m.generate(${JSON.stringify(prompt)}, { maxTokens: 24, temperature: 0 });
  await m.close();
  process.stdout.write(JSON.stringify({ downloaded: r.downloaded, text: g.text }));
})().catch((e) => { console.error(e); process.exit(1); });
`,
    );
    const run = async (): Promise<{ downloaded: boolean; text: string }> => {
      const r = await exec([script, dir, url]);
      if (r.code !== 0) throw new Error(`child failed: ${r.stderr}`);
      return JSON.parse(r.stdout) as { downloaded: boolean; text: string };
    };
    const [a, b] = await Promise.all([run(), run()]);
    expect(server.requests(path).filter((e) => e.method === "GET")).toHaveLength(1);
    expect([a.downloaded, b.downloaded].sort()).toEqual([false, true]);
    expect(a.text.length).toBeGreaterThan(0);
    expect(b.text).toBe(a.text);
    // The same greedy text as the file loaded from its own path.
    const m = await loadModel(stories, { threads: 1 });
    try {
      expect((await m.generate(prompt, { maxTokens: 24, temperature: 0 })).text).toBe(a.text);
    } finally {
      await m.close();
    }
  });

  test("eviction follows last access and never takes an open model", async () => {
    const { cache } = fresh();
    // Three distinct files (the last weight byte differs), all loadable.
    const urls = [0, 1, 2].map((i) => {
      const v = Buffer.from(data);
      v[v.length - 1] ^= i + 1;
      const p = `/lru${n}/${i}.gguf`;
      server.set(p, v);
      return server.url(p);
    });
    const pause = (): Promise<void> => new Promise((r) => setTimeout(r, 5));
    const paths: string[] = [];
    for (const u of urls) {
      paths.push((await cache.resolve(u)).path);
      await pause();
    }
    await cache.resolve(urls[0]!); // 0 is now the most recent: order 1, 2, 0
    expect((await cache.list()).map((e) => e.source)).toEqual([urls[1], urls[2], urls[0]]);

    const open = await loadModel(urls[1]!, { cache, threads: 1 }); // the least recent, but open
    try {
      expect(open.path).toBe(paths[1]);
      const removed = await cache.prune(2 * data.length);
      expect(removed.map((e) => e.source)).toEqual([urls[2]]);
      expect(existsSync(paths[1]!)).toBe(true);
      await expect(cache.remove(urls[1]!)).rejects.toMatchObject({ code: "HEARTH_IO" });
      expect(await cache.prune(1)).toEqual([expect.objectContaining({ source: urls[0] })]);
      expect((await open.generate(prompt, { maxTokens: 4, temperature: 0 })).tokens).toHaveLength(4);
    } finally {
      await open.close();
    }
    await cache.remove(urls[1]!);
    expect(existsSync(paths[1]!)).toBe(false);
    expect(await cache.list()).toEqual([]);
    await expect(cache.remove(urls[1]!)).rejects.toMatchObject({ code: "HEARTH_NOT_FOUND" });

    // A budget evicts the least recently used after each download.
    const small = new ModelCache({ dir: join(tmp, `budget${n}`), maxBytes: 2 * data.length });
    for (const u of urls) {
      await small.resolve(u);
      await pause();
    }
    expect((await small.list()).map((e) => e.source)).toEqual([urls[1], urls[2]]);
  });

  test("generate({ model: URL }) works end to end, and loads again from the cache", async () => {
    const { dir, path, url } = fresh();
    const opts = { cache: { dir }, maxTokens: 16, temperature: 0, threads: 1 };
    const text = await generate(prompt, { model: url, ...opts });
    expect(text).toBe(await generate(prompt, { model: stories, maxTokens: 16, temperature: 0, threads: 1 }));
    expect(await generate(prompt, { model: url, ...opts, cache: { dir, offline: true } })).toBe(text);
    expect(server.requests(path)).toHaveLength(1);
    expect(() => new ModelCache({ dir, maxBytes: -1 })).toThrow(expect.objectContaining({ code: "HEARTH_INVALID_OPTION" }));
    await expect(loadModel(url, { download: { sha256: "00" } })).rejects.toMatchObject({ code: "HEARTH_INVALID_OPTION" });
  });

  test("CLI: hearth pull and hearth cache ls|verify|rm|path", async () => {
    const { dir, path, url } = fresh();
    const hearth = join(root, "npm", "bin", "hearth.cjs");
    const env = { HEARTH_CACHE_DIR: dir };
    const pulled = await exec([hearth, "pull", url], env);
    expect(pulled.code).toBe(0);
    const blob = join(dir, "blobs", `sha256-${digest}.gguf`);
    expect(pulled.stdout).toBe(blob + "\n");
    // Not a terminal: plain progress lines, ending at 100%.
    expect(pulled.stderr).toMatch(/^download: .*\(100%\)/m);
    expect(pulled.stderr).not.toContain("\r");

    const again = await exec([hearth, "pull", "--json", "--sha256", digest, url], env);
    expect(JSON.parse(again.stdout)).toMatchObject({ path: blob, downloaded: false });
    expect(server.requests(path).filter((e) => e.method === "GET")).toHaveLength(1);

    const bad = await exec([hearth, "pull", "--quiet", "--cache-dir", dir, "--sha256", "0".repeat(64), server.url("/nothing-here")]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain("HEARTH_DOWNLOAD");

    const ls = await exec([hearth, "cache", "ls", "--json", "--cache-dir", dir]);
    expect(JSON.parse(ls.stdout)).toEqual([expect.objectContaining({ sha256: digest, size: data.length, source: url })]);
    expect((await exec([hearth, "cache", "ls"], env)).stdout).toContain(digest.slice(0, 12));
    expect((await exec([hearth, "cache", "path"], env)).stdout).toBe(dir + "\n");
    const ok = await exec([hearth, "cache", "verify", "--json"], env);
    expect(JSON.parse(ok.stdout).ok).toHaveLength(1);

    const b = readFileSync(blob);
    b[1000] ^= 1;
    writeFileSync(blob, b);
    const corrupt = await exec([hearth, "cache", "verify"], env);
    expect(corrupt.code).toBe(1);
    expect(corrupt.stdout).toContain("0 ok, 1 corrupt, 0 missing");

    await new ModelCache({ dir }).resolve(url); // the CLI and the API share the folder
    const rm = await exec([hearth, "cache", "rm", digest.slice(0, 8)], env);
    expect(rm.stdout).toBe(`removed ${digest}\n`);
    expect(existsSync(blob)).toBe(false);

    for (const sub of ["pull", "cache prune"]) {
      const h = await exec([hearth, ...sub.split(" "), "--help"]);
      expect(h.code).toBe(0);
      expect(h.stdout).toContain(`usage: hearth ${sub}`);
    }
    expect((await exec([hearth, "cache", "nope"])).code).toBe(2);
  });
});
