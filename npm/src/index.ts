/**
 * hearth-llm: local LLM inference for Node.js. GGUF models run on Hearth's Go
 * engine (CPU, WebGPU) through a Node-API addon; generation runs off the JS
 * thread.
 *
 * ```ts
 * import { generate, loadModel } from "hearth-llm";
 * const text = await generate("Once upon a time", { model: "./stories260K.gguf", maxTokens: 64, seed: 1 });
 * ```
 */
export { HearthError, type HearthErrorCode } from "./errors.js";
export { Model, generate, loadModel, type Prompt } from "./model.js";
export type {
  Backend,
  CacheOptions,
  GenerateOptions,
  GenerateResult,
  KVType,
  LoadOptions,
  ModelInfo,
  QuickGenerateOptions,
  SamplingOptions,
  StopReason,
  Timings,
  TokenChunk,
  TokenizeOptions,
} from "./options.js";
export { isRemoteSource } from "./source.js";
export {
  ModelCache,
  defaultCacheDir,
  type CacheEntry,
  type DownloadProgress,
  type ResolveOptions,
  type ResolveResult,
  type VerifyReport,
} from "./cache.js";

import { native } from "./native.js";

/** Version of the native engine (libhearth). */
export function engineVersion(): string {
  return native.version();
}
