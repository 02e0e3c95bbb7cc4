import { ModelCache, validateCacheOptions, validateResolveOptions, type ResolveOptions } from "./cache.js";
import { invalidOption } from "./errors.js";

/** Where the model runs. "auto" picks the GPU (WebGPU) when one is usable, else the CPU. */
export type Backend = "cpu" | "gpu" | "auto";

/** Element type of the KV cache. */
export type KVType = "f16" | "f32";

/**
 * Model cache settings, for model sources that are not local files
 * ("https://..." and "hf:owner/repo/file.gguf"); see {@link ModelCache}.
 */
export interface CacheOptions {
  /** Directory of the model cache. Default: $HEARTH_CACHE_DIR, else $XDG_CACHE_HOME/hearth, else ~/.cache/hearth. */
  dir?: string;
  /** Eviction budget in bytes, applied after each download (least recently used first; open models are kept). Default: $HEARTH_CACHE_MAX_BYTES, else none. */
  maxBytes?: number;
  /** Never touch the network; fail with HEARTH_NOT_FOUND when the model is not cached. */
  offline?: boolean;
}

/** Options of {@link loadModel}. */
export interface LoadOptions {
  /** "cpu" (default), "gpu" or "auto". */
  backend?: Backend;
  /** CPU threads; 0 or absent: all cores. */
  threads?: number;
  /** Context size in tokens; 0 or absent: min(training context, 4096). */
  contextSize?: number;
  /** KV cache type, "f16" (default) or "f32". */
  kvType?: KVType;
  /** The model cache for remote sources: a {@link ModelCache} or its options. Default: the default cache. */
  cache?: ModelCache | CacheOptions;
  /** How to fetch a remote source (expected sha256, progress, abort signal, revalidation). */
  download?: ResolveOptions;
}

/** Sampling options. temperature 0 is greedy (and ignores the rest). */
export interface SamplingOptions {
  /** Softmax temperature, >= 0; 0 is greedy. Default 0.8. */
  temperature?: number;
  /** Keep the K most likely tokens; 0 disables. Default 40. */
  topK?: number;
  /** Nucleus sampling mass in [0, 1]; 1 disables. Default 0.95. */
  topP?: number;
  /** Min-p in [0, 1]; 0 disables. Default 0.05. */
  minP?: number;
  /** Repetition penalty, 1 disables. Default 1. */
  repeatPenalty?: number;
  /** How many recent tokens the penalties look at; -1: the whole context. Default 64. */
  repeatLastN?: number;
  /** Frequency penalty; 0 disables. */
  frequencyPenalty?: number;
  /** Presence penalty; 0 disables. */
  presencePenalty?: number;
  /** Seed of the sampler: the same seed, model and options give the same text. Absent: random. */
  seed?: number;
}

/** A piece of streamed output. */
export interface TokenChunk {
  /** Text of this chunk (UTF-8 safe; may be empty). */
  text: string;
  /** Ids of the tokens generated since the previous chunk. */
  tokens: number[];
}

/** Options of {@link Model.generate} and {@link Model.stream}. */
export interface GenerateOptions extends SamplingOptions {
  /** Most tokens to generate; 0 or absent: until end of sequence or the context is full. */
  maxTokens?: number;
  /** Stop strings: generation ends before the first one produced; it is not part of the text. */
  stop?: string[];
  /** Aborts the generation: it ends within one token with stopReason "abort" and the text so far. */
  signal?: AbortSignal;
  /** Called on the JS thread for each chunk of output, in order. Throwing aborts the generation and rejects it with that error. */
  onToken?: (chunk: TokenChunk) => void;
  /** Parse special-token text such as "</s>" in the prompt into their ids. Default false. */
  parseSpecial?: boolean;
}

/** Options of the one-shot {@link generate}. */
export interface QuickGenerateOptions extends GenerateOptions, LoadOptions {
  /** Model source: a path to a GGUF file, an "https://..." URL or "hf:owner/repo/file.gguf" (downloaded into the model cache). */
  model: string;
}

/** Why a generation ended. */
export type StopReason = "eos" | "maxTokens" | "stop" | "abort" | "contextFull";

/** Durations of a generation. */
export interface Timings {
  /** Prompt processing time in milliseconds. */
  promptMs: number;
  /** Generation time in milliseconds (after the prompt). */
  generateMs: number;
  promptTokensPerSecond: number;
  /** Generated tokens per second. */
  tokensPerSecond: number;
}

/** The result of {@link Model.generate}. */
export interface GenerateResult {
  /** The continuation only: the concatenated pieces of `tokens` (cut before a stop string). */
  text: string;
  /** Generated token ids. */
  tokens: number[];
  stopReason: StopReason;
  /** Number of prompt tokens (BOS included). */
  promptTokens: number;
  timings: Timings;
}

/** What {@link Model.info} tells about a model. */
export interface ModelInfo {
  arch: string;
  name: string;
  fileType: string;
  backend: string;
  nVocab: number;
  nCtxTrain: number;
  contextSize: number;
  nLayer: number;
  nEmbd: number;
  nHead: number;
  nHeadKV: number;
  nFF: number;
  nParams: number;
  bos: number;
  eos: number;
  addBOS: boolean;
  fileSize: number;
}

/** Options of {@link Model.tokenize}. */
export interface TokenizeOptions {
  /** Add BOS when the model does. Default true (as llama.cpp's llama-tokenize). */
  addSpecial?: boolean;
  /** Parse special-token text into ids. Default false. */
  parseSpecial?: boolean;
}

const loadKeys = ["backend", "threads", "contextSize", "kvType", "cache", "download"] as const;
const genKeys = [
  "temperature", "topK", "topP", "minP", "repeatPenalty", "repeatLastN", "frequencyPenalty",
  "presencePenalty", "seed", "maxTokens", "stop", "signal", "onToken", "parseSpecial",
] as const;

function checkObject(name: string, o: unknown): Record<string, unknown> {
  if (o === undefined || o === null) return {};
  if (typeof o !== "object" || Array.isArray(o)) invalidOption(name, `must be an object, got ${describe(o)}`);
  return o as Record<string, unknown>;
}

function describe(v: unknown): string {
  if (typeof v === "string") return JSON.stringify(v);
  if (typeof v === "number" || typeof v === "boolean" || v === null || v === undefined) return String(v);
  return Array.isArray(v) ? "an array" : `a ${typeof v}`;
}

function checkKeys(o: Record<string, unknown>, allowed: readonly string[]): void {
  for (const k of Object.keys(o)) {
    if (!allowed.includes(k)) invalidOption(k, `unknown option (known: ${allowed.join(", ")})`);
  }
}

function int(o: Record<string, unknown>, k: string, min: number, max = Number.MAX_SAFE_INTEGER): number | undefined {
  const v = o[k];
  if (v === undefined) return undefined;
  if (typeof v !== "number" || !Number.isInteger(v) || v < min || v > max) {
    invalidOption(k, `must be an integer in [${min}, ${max}], got ${describe(v)}`);
  }
  return v;
}

function num(o: Record<string, unknown>, k: string, min: number, max: number): number | undefined {
  const v = o[k];
  if (v === undefined) return undefined;
  if (typeof v !== "number" || !Number.isFinite(v) || v < min || v > max) {
    invalidOption(k, `must be a number in [${min}, ${max}], got ${describe(v)}`);
  }
  return v;
}

function oneOf<T extends string>(o: Record<string, unknown>, k: string, values: readonly T[]): T | undefined {
  const v = o[k];
  if (v === undefined) return undefined;
  if (typeof v !== "string" || !(values as readonly string[]).includes(v)) {
    invalidOption(k, `must be one of ${values.map((x) => JSON.stringify(x)).join(", ")}, got ${describe(v)}`);
  }
  return v as T;
}

/** The JSON the native layer takes for loading. */
export interface NativeLoadOptions {
  backend?: Backend;
  threads?: number;
  contextSize?: number;
  kvType?: KVType;
}

/** Validates load options; throws HEARTH_INVALID_OPTION naming the bad option. */
export function validateLoadOptions(options: unknown, extraKeys: readonly string[] = []): NativeLoadOptions {
  const o = checkObject("options", options);
  checkKeys(o, [...loadKeys, ...extraKeys]);
  const out: NativeLoadOptions = {};
  const backend = oneOf<Backend>(o, "backend", ["cpu", "gpu", "auto"]);
  if (backend !== undefined) out.backend = backend;
  const threads = int(o, "threads", 0, 1024);
  if (threads !== undefined) out.threads = threads;
  const contextSize = int(o, "contextSize", 0, 1 << 24);
  if (contextSize !== undefined) out.contextSize = contextSize;
  const kvType = oneOf<KVType>(o, "kvType", ["f16", "f32"]);
  if (kvType !== undefined) out.kvType = kvType;
  if (o.cache !== undefined && !(o.cache instanceof ModelCache)) validateCacheOptions(o.cache);
  if (o.download !== undefined) validateResolveOptions(o.download, "download");
  return out;
}

/** The JSON the native layer takes for generation (hearth.h). */
export interface NativeGenerateOptions {
  maxTokens?: number;
  temperature?: number;
  topK?: number;
  topP?: number;
  minP?: number;
  repeatPenalty?: number;
  repeatLastN?: number;
  frequencyPenalty?: number;
  presencePenalty?: number;
  seed?: number;
  stop?: string[];
  parseSpecial?: boolean;
}

/** Validated generation options split into the native JSON and the JS-side hooks. */
export interface ParsedGenerateOptions {
  native: NativeGenerateOptions;
  signal: AbortSignal | undefined;
  onToken: ((chunk: TokenChunk) => void) | undefined;
  stop: string[];
}

function isAbortSignal(v: unknown): v is AbortSignal {
  if (typeof v !== "object" || v === null) return false;
  const s = v as Partial<AbortSignal>;
  return typeof s.aborted === "boolean" && typeof s.addEventListener === "function" && typeof s.removeEventListener === "function";
}

/** Validates generation options; throws HEARTH_INVALID_OPTION naming the bad option. */
export function validateGenerateOptions(options: unknown, extraKeys: readonly string[] = []): ParsedGenerateOptions {
  const o = checkObject("options", options);
  checkKeys(o, [...genKeys, ...extraKeys]);
  const n: NativeGenerateOptions = {};
  const set = <K extends keyof NativeGenerateOptions>(k: K, v: NativeGenerateOptions[K] | undefined): void => {
    if (v !== undefined) n[k] = v;
  };
  set("maxTokens", int(o, "maxTokens", 0, 1 << 24));
  set("temperature", num(o, "temperature", 0, 1e6));
  set("topK", int(o, "topK", 0, 1 << 24));
  set("topP", num(o, "topP", 0, 1));
  set("minP", num(o, "minP", 0, 1));
  set("repeatPenalty", num(o, "repeatPenalty", 0, 1e6));
  set("repeatLastN", int(o, "repeatLastN", -1, 1 << 24));
  set("frequencyPenalty", num(o, "frequencyPenalty", -1e6, 1e6));
  set("presencePenalty", num(o, "presencePenalty", -1e6, 1e6));
  set("seed", int(o, "seed", 0));
  let stop: string[] = [];
  if (o.stop !== undefined) {
    if (!Array.isArray(o.stop) || !o.stop.every((s) => typeof s === "string" && s.length > 0)) {
      invalidOption("stop", `must be an array of non-empty strings, got ${describe(o.stop)}`);
    }
    stop = [...(o.stop as string[])];
    n.stop = stop;
  }
  if (o.parseSpecial !== undefined) {
    if (typeof o.parseSpecial !== "boolean") invalidOption("parseSpecial", `must be a boolean, got ${describe(o.parseSpecial)}`);
    n.parseSpecial = o.parseSpecial;
  }
  const signal = o.signal;
  if (signal !== undefined && !isAbortSignal(signal)) invalidOption("signal", `must be an AbortSignal, got ${describe(signal)}`);
  const onToken = o.onToken;
  if (onToken !== undefined && typeof onToken !== "function") invalidOption("onToken", `must be a function, got ${describe(onToken)}`);
  return {
    native: n,
    signal: signal as AbortSignal | undefined,
    onToken: onToken as ((chunk: TokenChunk) => void) | undefined,
    stop,
  };
}

/** Keys of LoadOptions (for options objects that mix load and generate options). */
export const loadOptionKeys: readonly string[] = loadKeys;
/** Keys of GenerateOptions. */
export const generateOptionKeys: readonly string[] = genKeys;
