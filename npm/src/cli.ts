// The `hearth` command: run, tokenize and inspect GGUF models.
// Flag names follow the Go CLI (cmd/hearth); both -flag and --flag work.
import { HearthError } from "./errors.js";
import { loadModel } from "./model.js";
import type { GenerateOptions, LoadOptions } from "./options.js";

interface FlagSpec {
  names: string[];
  key: string;
  kind: "string" | "int" | "float" | "bool";
  help: string;
}

const modelFlag: FlagSpec = { names: ["m", "model"], key: "model", kind: "string", help: "path of the GGUF model" };
const jsonFlag: FlagSpec = { names: ["json"], key: "json", kind: "bool", help: "print JSON" };
const loadFlags: FlagSpec[] = [
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

async function run(p: Parsed): Promise<number> {
  const modelPath = p.values.model as string | undefined;
  if (!modelPath) throw new UsageError("run needs -m MODEL");
  if (p.args.length !== 1) throw new UsageError("run needs exactly one PROMPT argument (quote it)");
  // As the Go CLI: -n -1 (default) generates until the end, -n 0 nothing; --seed -1 is random.
  if (typeof p.values.maxTokens === "number" && p.values.maxTokens < 0) delete p.values.maxTokens;
  if (typeof p.values.seed === "number" && p.values.seed < 0) delete p.values.seed;
  const nothing = p.values.maxTokens === 0;
  const model = await loadModel(modelPath, pick<LoadOptions>(p.values, loadKeys));
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
  const model = await loadModel(modelPath, pick<LoadOptions>(p.values, loadKeys));
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

/** Runs the CLI with argv (without "node hearth"); resolves to the exit status. */
export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
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
