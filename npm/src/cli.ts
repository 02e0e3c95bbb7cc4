// The `hearth` command: run, tokenize and inspect GGUF models.
// Flag names follow the Go CLI (cmd/hearth); both -flag and --flag work.
import { ModelCache, type CacheEntry, type DownloadProgress } from "./cache.js";
import { HearthError } from "./errors.js";
import { loadModel } from "./model.js";
import type { GenerateOptions, LoadOptions } from "./options.js";

interface FlagSpec {
  names: string[];
  key: string;
  kind: "string" | "int" | "float" | "bool";
  help: string;
}

const modelFlag: FlagSpec = { names: ["m", "model"], key: "model", kind: "string", help: "GGUF model: a path, an https:// URL or hf:owner/repo/file.gguf" };
const cacheDirFlag: FlagSpec = { names: ["cache-dir"], key: "cacheDir", kind: "string", help: "model cache folder (default: $HEARTH_CACHE_DIR, else $XDG_CACHE_HOME/hearth, else ~/.cache/hearth)" };
const jsonFlag: FlagSpec = { names: ["json"], key: "json", kind: "bool", help: "print JSON" };
const loadFlags: FlagSpec[] = [
  cacheDirFlag,
  { names: ["threads", "t"], key: "threads", kind: "int", help: "CPU threads (0: all cores)" },
  { names: ["backend"], key: "backend", kind: "string", help: "cpu, gpu or auto (default cpu)" },
  { names: ["ctx", "c"], key: "contextSize", kind: "int", help: "context size in tokens (0: min(training, 4096))" },
  { names: ["kv-type"], key: "kvType", kind: "string", help: "KV cache type: f16 or f32 (default f16)" },
];

const commands: Record<string, { usage: string; about: string; flags: FlagSpec[] }> = {
  run: {
    usage: "hearth run -m MODEL [flags] PROMPT",
    about: "Generates a continuation of PROMPT and streams it to stdout (--json: print the whole result as JSON).",
    flags: [
      modelFlag,
      { names: ["n"], key: "maxTokens", kind: "int", help: "tokens to generate (-1, the default: until end of text or the context end)" },
      { names: ["temp"], key: "temperature", kind: "float", help: "temperature, 0 is greedy (default 0.8)" },
      { names: ["top-k"], key: "topK", kind: "int", help: "top-k, 0 disables (default 40)" },
      { names: ["top-p"], key: "topP", kind: "float", help: "top-p (default 0.95)" },
      { names: ["min-p"], key: "minP", kind: "float", help: "min-p (default 0.05)" },
      { names: ["repeat-penalty"], key: "repeatPenalty", kind: "float", help: "repetition penalty, 1 disables (default 1)" },
      { names: ["repeat-last-n"], key: "repeatLastN", kind: "int", help: "tokens the penalty looks back (default 64)" },
      { names: ["frequency-penalty"], key: "frequencyPenalty", kind: "float", help: "frequency penalty (0 = off)" },
      { names: ["presence-penalty"], key: "presencePenalty", kind: "float", help: "presence penalty (0 = off)" },
      { names: ["seed"], key: "seed", kind: "int", help: "random seed (-1, the default: random)" },
      { names: ["stop"], key: "stop", kind: "string", help: "stop string (repeatable)" },
      { names: ["special"], key: "parseSpecial", kind: "bool", help: "parse special-token text such as <s> in the prompt" },
      ...loadFlags,
      jsonFlag,
    ],
  },
  tokenize: {
    usage: "hearth tokenize -m MODEL [--json] [--no-bos] [--special] TEXT",
    about: "Prints the token ids of TEXT (with BOS when the model adds it) on one line (--json: an array).",
    flags: [
      modelFlag,
      { names: ["no-bos"], key: "noBos", kind: "bool", help: "do not add BOS" },
      { names: ["special"], key: "special", kind: "bool", help: "parse special-token text such as </s>" },
      jsonFlag,
    ],
  },
  inspect: {
    usage: "hearth inspect [--json] MODEL",
    about: "Prints what a model is: architecture, sizes, vocabulary, special tokens.",
    flags: [modelFlag, ...loadFlags, jsonFlag],
  },
  pull: {
    usage: "hearth pull [--sha256 HEX] [--cache-dir DIR] [--json] SOURCE",
    about:
      "Downloads SOURCE (an https:// URL or hf:owner/repo[@revision]/file.gguf) into the model cache, with a progress bar on stderr,\n" +
      "and prints the cached file's path. An interrupted pull resumes where it stopped; a cached model is not downloaded again.",
    flags: [
      { names: ["sha256"], key: "sha256", kind: "string", help: "expected SHA-256 of the file (hex); other content is rejected and not kept" },
      { names: ["revalidate"], key: "revalidate", kind: "bool", help: "ask the server whether a cached copy changed" },
      cacheDirFlag,
      { names: ["quiet", "q"], key: "quiet", kind: "bool", help: "no progress output" },
      { names: ["json"], key: "json", kind: "bool", help: "print the result (path, sha256, size, downloaded, resumed) as JSON" },
    ],
  },
  cache: {
    usage: "hearth cache ls|rm|prune|verify|path [flags]",
    about:
      "Manages the model cache:\n" +
      "  ls      list cached models, least recently used first\n" +
      "  rm      remove cached models by SHA-256 or source\n" +
      "  prune   evict least recently used models down to a size\n" +
      "  verify  rehash every model; remove corrupt ones\n" +
      "  path    print the cache folder\n" +
      "Run `hearth cache <command> --help` for its flags.",
    flags: [cacheDirFlag, jsonFlag],
  },
  "cache ls": {
    usage: "hearth cache ls [--cache-dir DIR] [--json]",
    about: "Lists the cached models, least recently used first: SHA-256, size, last access, source.",
    flags: [cacheDirFlag, jsonFlag],
  },
  "cache rm": {
    usage: "hearth cache rm [--cache-dir DIR] SHA256|SOURCE...",
    about: "Removes cached models, named by SHA-256 (as `hearth cache ls` prints it, or a unique prefix) or by a source that resolved to them. Open models are not removed.",
    flags: [cacheDirFlag],
  },
  "cache prune": {
    usage: "hearth cache prune [--max-bytes N] [--cache-dir DIR] [--json]",
    about: "Evicts least recently used models (never open ones) until the cache fits N bytes (default: $HEARTH_CACHE_MAX_BYTES), and lists what it removed.",
    flags: [{ names: ["max-bytes"], key: "maxBytes", kind: "int", help: "size to prune down to, in bytes" }, cacheDirFlag, jsonFlag],
  },
  "cache verify": {
    usage: "hearth cache verify [--cache-dir DIR] [--json]",
    about: "Rehashes every cached model; corrupt ones are removed (exit status 1 when any was found).",
    flags: [cacheDirFlag, jsonFlag],
  },
  "cache path": {
    usage: "hearth cache path [--cache-dir DIR]",
    about: "Prints the model cache folder.",
    flags: [cacheDirFlag],
  },
};

class UsageError extends Error {}

function helpText(name: string): string {
  const c = commands[name]!;
  const lines = [`usage: ${c.usage}`, "", c.about, "", "flags:"];
  for (const f of c.flags) {
    const flag = f.names.map((n) => (n.length === 1 ? `-${n}` : `--${n}`)).join(", ");
    const arg = f.kind === "bool" ? "" : f.kind === "string" ? " S" : " N";
    lines.push(`  ${(flag + arg).padEnd(26)} ${f.help}`);
  }
  lines.push(`  ${"-h, --help".padEnd(26)} show this help`);
  return lines.join("\n") + "\n";
}

const mainHelp = `usage: hearth <command> [flags]

commands:
  run       generate a continuation of a prompt
  tokenize  print the token ids of a text
  inspect   describe a GGUF model
  pull      download a model (https:// or hf:) into the model cache
  cache     list, remove, prune or verify cached models (ls|rm|prune|verify|path)

Run \`hearth <command> --help\` for its flags.
`;

type Parsed = { values: Record<string, string | number | boolean | string[]>; args: string[]; help: boolean };

function parse(name: string, argv: string[]): Parsed {
  const specs = commands[name]!.flags;
  const values: Parsed["values"] = {};
  const args: string[] = [];
  let help = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === "--") {
      args.push(...argv.slice(i + 1));
      break;
    }
    if (!a.startsWith("-") || a === "-") {
      args.push(a);
      continue;
    }
    const body = a.replace(/^--?/, "");
    const eq = body.indexOf("=");
    const fname = eq >= 0 ? body.slice(0, eq) : body;
    if (fname === "h" || fname === "help") {
      help = true;
      continue;
    }
    const spec = specs.find((s) => s.names.includes(fname));
    if (!spec) throw new UsageError(`unknown flag ${a}`);
    let raw: string;
    if (spec.kind === "bool") {
      raw = eq >= 0 ? body.slice(eq + 1) : "true";
      values[spec.key] = raw !== "false" && raw !== "0";
      continue;
    }
    if (eq >= 0) raw = body.slice(eq + 1);
    else {
      if (i + 1 >= argv.length) throw new UsageError(`flag ${a} needs a value`);
      raw = argv[++i]!;
    }
    if (spec.kind === "string") {
      if (spec.key === "stop") values.stop = [...((values.stop as string[] | undefined) ?? []), raw];
      else values[spec.key] = raw;
    } else {
      const v = Number(raw);
      if (raw.trim() === "" || !Number.isFinite(v) || (spec.kind === "int" && !Number.isInteger(v))) {
        throw new UsageError(`flag ${a}: ${JSON.stringify(raw)} is not ${spec.kind === "int" ? "an integer" : "a number"}`);
      }
      values[spec.key] = v;
    }
  }
  return { values, args, help };
}

function pick<T>(values: Parsed["values"], keys: string[]): T {
  const out: Record<string, unknown> = {};
  for (const k of keys) if (values[k] !== undefined) out[k] = values[k];
  return out as T;
}

const loadKeys = ["threads", "backend", "contextSize", "kvType"];
const genKeys = [
  "maxTokens", "temperature", "topK", "topP", "minP", "repeatPenalty", "repeatLastN", "frequencyPenalty",
  "presencePenalty", "seed", "stop", "parseSpecial",
];

function write(s: string): Promise<void> {
  return new Promise((resolve) => {
    if (process.stdout.write(s)) resolve();
    else process.stdout.once("drain", () => resolve());
  });
}

/** Load options from the flags; a remote model shows download progress on stderr. */
function loadOpts(p: Parsed): LoadOptions {
  const o = pick<LoadOptions>(p.values, loadKeys);
  if (p.values.cacheDir !== undefined) o.cache = { dir: p.values.cacheDir as string };
  const bar = new ProgressBar();
  o.download = {
    onProgress: (x) => {
      bar.update(x);
      if (x.total >= 0 && x.downloaded >= x.total) bar.done();
    },
  };
  return o;
}

async function run(p: Parsed): Promise<number> {
  const modelPath = p.values.model as string | undefined;
  if (!modelPath) throw new UsageError("run needs -m MODEL");
  if (p.args.length !== 1) throw new UsageError("run needs exactly one PROMPT argument (quote it)");
  // As the Go CLI: -n -1 (default) generates until the end, -n 0 nothing; --seed -1 is random.
  if (typeof p.values.maxTokens === "number" && p.values.maxTokens < 0) delete p.values.maxTokens;
  if (typeof p.values.seed === "number" && p.values.seed < 0) delete p.values.seed;
  const nothing = p.values.maxTokens === 0;
  const model = await loadModel(modelPath, loadOpts(p));
  const ac = new AbortController();
  const onSigint = (): void => ac.abort();
  process.once("SIGINT", onSigint);
  try {
    const opts: GenerateOptions = { ...pick<GenerateOptions>(p.values, genKeys), signal: ac.signal };
    if (nothing) {
      await write(p.values.json ? JSON.stringify({ text: "", tokens: [], stopReason: "maxTokens" }) + "\n" : "\n");
    } else if (p.values.json) {
      const r = await model.generate(p.args[0]!, opts);
      await write(JSON.stringify(r) + "\n");
    } else {
      const it = model.stream(p.args[0]!, opts);
      for (;;) {
        const n = await it.next();
        if (n.done) break;
        if (n.value.text) await write(n.value.text);
      }
      await write("\n");
    }
  } finally {
    process.removeListener("SIGINT", onSigint);
    await model.close();
  }
  return 0;
}

async function tokenize(p: Parsed): Promise<number> {
  const modelPath = p.values.model as string | undefined;
  if (!modelPath) throw new UsageError("tokenize needs -m MODEL");
  if (p.args.length !== 1) throw new UsageError("tokenize needs exactly one TEXT argument (quote it)");
  const model = await loadModel(modelPath);
  try {
    const ids = model.tokenize(p.args[0]!, { addSpecial: !p.values.noBos, parseSpecial: Boolean(p.values.special) });
    if (p.values.json) await write(JSON.stringify(ids) + "\n");
    else await write(ids.join(" ") + "\n");
  } finally {
    await model.close();
  }
  return 0;
}

async function inspect(p: Parsed): Promise<number> {
  const modelPath = (p.values.model as string | undefined) ?? p.args[0];
  if (!modelPath || p.args.length > (p.values.model ? 0 : 1)) throw new UsageError("inspect needs one MODEL");
  const model = await loadModel(modelPath, loadOpts(p));
  try {
    const info = model.info;
    if (p.values.json) await write(JSON.stringify(info, null, 2) + "\n");
    else {
      const w = Math.max(...Object.keys(info).map((k) => k.length));
      await write(Object.entries(info).map(([k, v]) => `${k.padEnd(w)}  ${String(v)}\n`).join(""));
    }
  } finally {
    await model.close();
  }
  return 0;
}

function openCache(p: Parsed): ModelCache {
  const dir = p.values.cacheDir as string | undefined;
  return new ModelCache(dir === undefined ? {} : { dir });
}

function bytes(n: number): string {
  if (n < 0) return "?";
  const units = ["B", "KB", "MB", "GB", "TB"];
  let i = 0;
  let v = n;
  while (v >= 1000 && i < units.length - 1) {
    v /= 1000;
    i++;
  }
  return `${i === 0 ? v : v.toFixed(1)} ${units[i]}`;
}

/**
 * Progress on stderr: a bar redrawn in place on a terminal, else a plain line
 * every 10% (or every 10 MB when the size is unknown) and at the end.
 */
class ProgressBar {
  readonly #tty = Boolean(process.stderr.isTTY);
  #lastStep = -1;
  #drawn = false;

  update(p: DownloadProgress): void {
    const known = p.total > 0;
    const frac = known ? Math.min(1, p.downloaded / p.total) : 0;
    const rate = `${bytes(p.bytesPerSecond)}/s`;
    if (this.#tty) {
      const width = 30;
      const bar = known ? "#".repeat(Math.round(frac * width)).padEnd(width, ".") : "?".repeat(width);
      const pct = known ? `${(frac * 100).toFixed(0).padStart(3)}%` : "   ?";
      process.stderr.write(`\r[${bar}] ${pct} ${bytes(p.downloaded)} / ${bytes(p.total)}  ${rate}   `);
      this.#drawn = true;
      return;
    }
    const step = known ? Math.floor(frac * 10) : Math.floor(p.downloaded / 10e6);
    if (step === this.#lastStep) return;
    this.#lastStep = step;
    const pct = known ? ` (${(frac * 100).toFixed(0)}%)` : "";
    process.stderr.write(`download: ${bytes(p.downloaded)} / ${bytes(p.total)}${pct}, ${rate}\n`);
  }

  done(): void {
    if (this.#drawn) process.stderr.write("\n");
    this.#drawn = false;
  }
}

async function pull(p: Parsed): Promise<number> {
  if (p.args.length !== 1) throw new UsageError("pull needs exactly one SOURCE");
  const source = p.args[0]!;
  if (!/^(https?:\/\/|hf:)/i.test(source)) throw new UsageError(`SOURCE must be an https:// URL or hf:owner/repo/file.gguf, got ${JSON.stringify(source)}`);
  const cache = openCache(p);
  const bar = p.values.quiet ? undefined : new ProgressBar();
  const ac = new AbortController();
  const onSigint = (): void => ac.abort();
  process.once("SIGINT", onSigint);
  try {
    const r = await cache.resolve(source, {
      sha256: p.values.sha256 as string | undefined,
      revalidate: Boolean(p.values.revalidate),
      signal: ac.signal,
      onProgress: bar ? (x) => bar.update(x) : undefined,
    });
    bar?.done();
    if (p.values.json) await write(JSON.stringify(r) + "\n");
    else {
      if (bar) process.stderr.write(r.downloaded ? `pull: ${bytes(r.size)}, sha256 ${r.sha256}${r.resumed ? " (resumed)" : ""}\n` : "pull: already cached\n");
      await write(r.path + "\n");
    }
  } catch (e) {
    bar?.done();
    if (e instanceof HearthError && e.code === "HEARTH_ABORTED") {
      process.stderr.write("pull: interrupted; run it again to resume\n");
      return 130;
    }
    throw e;
  } finally {
    process.removeListener("SIGINT", onSigint);
  }
  return 0;
}

function entryLines(es: CacheEntry[]): string {
  return es
    .map((e) => `${e.sha256.slice(0, 12)}  ${bytes(e.size).padStart(9)}  ${e.lastAccess.toISOString().replace(/\.\d+Z$/, "Z")}  ${e.source}\n`)
    .join("");
}

async function cacheCommand(name: string, p: Parsed): Promise<number> {
  const cache = openCache(p);
  const json = Boolean(p.values.json);
  const noArgs = (): void => {
    if (p.args.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(p.args[0])}`);
  };
  switch (name) {
    case "cache path":
      noArgs();
      await write(cache.dir + "\n");
      return 0;
    case "cache ls": {
      noArgs();
      const es = await cache.list();
      if (json) await write(JSON.stringify(es, null, 2) + "\n");
      else {
        const total = es.reduce((a, e) => a + e.size, 0);
        await write(entryLines(es) + `${es.length} model${es.length === 1 ? "" : "s"}, ${bytes(total)} in ${cache.dir}\n`);
      }
      return 0;
    }
    case "cache rm": {
      if (p.args.length === 0) throw new UsageError("rm needs at least one SHA256 or SOURCE");
      const es = await cache.list();
      for (const key of p.args) {
        // A SHA-256 prefix as `ls` prints it names one model when it is unique.
        let target = key;
        if (/^[0-9a-f]{4,63}$/i.test(key)) {
          const hits = es.filter((e) => e.sha256.startsWith(key.toLowerCase()));
          if (hits.length > 1) throw new UsageError(`${key} matches ${hits.length} models; give more digits`);
          if (hits.length === 1) target = hits[0]!.sha256;
        }
        await cache.remove(target);
        await write(`removed ${target}\n`);
      }
      return 0;
    }
    case "cache prune": {
      noArgs();
      const removed = await cache.prune(p.values.maxBytes as number | undefined);
      if (json) await write(JSON.stringify(removed, null, 2) + "\n");
      else await write(entryLines(removed) + `removed ${removed.length} model${removed.length === 1 ? "" : "s"}, ${bytes(removed.reduce((a, e) => a + e.size, 0))}\n`);
      return 0;
    }
    default: {
      noArgs();
      const rep = await cache.verify();
      if (json) await write(JSON.stringify(rep, null, 2) + "\n");
      else {
        for (const e of rep.corrupt) await write(`corrupt (removed)  ${e.sha256.slice(0, 12)}  ${e.source}\n`);
        for (const e of rep.missing) await write(`missing (forgotten) ${e.sha256.slice(0, 12)}  ${e.source}\n`);
        await write(`${rep.ok.length} ok, ${rep.corrupt.length} corrupt, ${rep.missing.length} missing\n`);
      }
      return rep.corrupt.length > 0 ? 1 : 0;
    }
  }
}

/** Runs the CLI with argv (without "node hearth"); resolves to the exit status. */
export async function main(argv: string[]): Promise<number> {
  let [name, ...rest] = argv;
  if (name === "cache" && rest[0] !== undefined && `cache ${rest[0]}` in commands) {
    name = `cache ${rest[0]}`;
    rest = rest.slice(1);
  }
  if (name === undefined || name === "-h" || name === "--help" || name === "help") {
    process.stdout.write(mainHelp);
    return name === undefined ? 2 : 0;
  }
  if (!(name in commands)) {
    process.stderr.write(`hearth: unknown command ${JSON.stringify(name)}\n\n${mainHelp}`);
    return 2;
  }
  try {
    const p = parse(name, rest);
    if (p.help) {
      process.stdout.write(helpText(name));
      return 0;
    }
    switch (name) {
      case "run":
        return await run(p);
      case "tokenize":
        return await tokenize(p);
      case "pull":
        return await pull(p);
      case "cache":
        if (p.args.length > 0) throw new UsageError(`unknown cache command ${JSON.stringify(p.args[0])}`);
        throw new UsageError("cache needs a command: ls, rm, prune, verify or path");
      case "cache ls":
      case "cache rm":
      case "cache prune":
      case "cache verify":
      case "cache path":
        return await cacheCommand(name, p);
      default:
        return await inspect(p);
    }
  } catch (e) {
    if (e instanceof UsageError) {
      process.stderr.write(`hearth ${name}: ${e.message}\n\n${helpText(name)}`);
      return 2;
    }
    if (e instanceof HearthError) {
      process.stderr.write(`hearth ${name}: ${e.message} (${e.code})\n`);
      return 1;
    }
    throw e;
  }
}
