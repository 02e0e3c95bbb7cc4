// Shared helpers of the Node package's tests: where the models are, and the
// independent references (llama.cpp through scripts/llamacpp-ref.mjs, the Go CLI).
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { join, resolve } from "node:path";

export const root = resolve(__dirname, "..", "..");
export const modelsDir = process.env.HEARTH_TEST_MODELS ?? resolve(root, "..", "shared", "models");
export const stories = join(modelsDir, "stories260K.gguf");
export const haveModels = existsSync(stories);
export const goCLI = join(root, "build", "hearth");

if (!haveModels) {
  // Loud on purpose: a green run without models proves little.
  console.warn(`\n!!!!!!!!\n!!! SKIPPING model tests: ${stories} is missing (set HEARTH_TEST_MODELS)\n!!!!!!!!\n`);
}

/** describe, or describe.skip when the test models are missing. */
export const describeModels: jest.Describe = haveModels ? describe : describe.skip;

/** Asks llama.cpp (node-llama-cpp) a question; see scripts/llamacpp-ref.mjs. */
export function llamaRef<T>(req: Record<string, unknown>): T {
  const out = execFileSync(process.execPath, [join(root, "scripts", "llamacpp-ref.mjs")], {
    input: JSON.stringify(req),
    encoding: "utf8",
    stdio: ["pipe", "pipe", "ignore"],
    timeout: 120_000,
  });
  return JSON.parse(out) as T;
}

/** Runs the Go CLI and returns stdout. */
export function runGo(args: string[]): string {
  const r = spawnSync(goCLI, args, { encoding: "utf8", timeout: 120_000 });
  if (r.status !== 0) throw new Error(`hearth ${args.join(" ")} failed: ${r.stderr}`);
  return r.stdout;
}

/** The Go CLI's `run --json` result. */
export interface GoRun {
  prompt_tokens: number[];
  tokens: number[];
  text: string;
  stop_reason: string;
}

export const prompt = "Once upon a time";
