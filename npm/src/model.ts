import { HearthError, fromNative } from "./errors.js";
import { native, type NativeJob } from "./native.js";
import {
  loadOptionKeys,
  validateGenerateOptions,
  validateLoadOptions,
  type GenerateOptions,
  type GenerateResult,
  type LoadOptions,
  type ModelInfo,
  type QuickGenerateOptions,
  type TokenChunk,
  type TokenizeOptions,
} from "./options.js";
import { isRemoteSource, resolveModelSource } from "./source.js";
import { StopFilter } from "./stop.js";

/** A prompt: text (tokenized with BOS) or token ids (used as given). */
export type Prompt = string | readonly number[] | Int32Array;

// Frees models that were never closed once they are garbage collected.
const finalizer = new FinalizationRegistry<number>((handle) => {
  native.free(handle).catch(() => undefined);
});

function abortedResult(): GenerateResult {
  return {
    text: "",
    tokens: [],
    stopReason: "abort",
    promptTokens: 0,
    timings: { promptMs: 0, generateMs: 0, promptTokensPerSecond: 0, tokensPerSecond: 0 },
  };
}

function toIds(name: string, ids: unknown): Int32Array {
  if (ids instanceof Int32Array) return ids;
  if (!Array.isArray(ids)) {
    throw new HearthError("HEARTH_INVALID_OPTION", `hearth: ${name} must be a string, an array of token ids or an Int32Array`);
  }
  const out = new Int32Array(ids.length);
  ids.forEach((v: unknown, i) => {
    if (typeof v !== "number" || !Number.isInteger(v) || v < 0 || v > 0x7fffffff) {
      throw new HearthError("HEARTH_INVALID_OPTION", `hearth: ${name}[${i}] is not a token id: ${String(v)}`);
    }
    out[i] = v;
  });
  return out;
}

/**
 * A loaded model. Methods may be called from anywhere; generations on one
 * model run one at a time: a generate() or stream() while another is running
 * waits its turn (FIFO queue). Different models generate in parallel.
 * Call close() when done; a model that is garbage collected unclosed is freed
 * by a FinalizationRegistry.
 */
export class Model {
  /** Absolute path of the GGUF file. */
  readonly path: string;
  readonly #handle: number;
  #info: ModelInfo | undefined;
  #closed = false;
  #closing: Promise<void> | undefined;
  #tail: Promise<unknown> = Promise.resolve();
  #current: NativeJob | undefined;

  private constructor(path: string, handle: number) {
    this.path = path;
    this.#handle = handle;
    finalizer.register(this, handle, this);
  }

  /** @internal Use {@link loadModel}. */
  static async load(source: string, options?: LoadOptions): Promise<Model> {
    const nativeOptions = validateLoadOptions(options);
    let path = await resolveModelSource(source, options?.cache, options?.download);
    let handle: number;
    try {
      handle = await native.load(path, JSON.stringify(nativeOptions));
    } catch (e) {
      const err = fromNative(e);
      // Another process may have evicted the cached file between resolving and
      // loading (once loaded, it is leased): resolve again, once.
      if (!(isRemoteSource(source) && err instanceof HearthError && err.code === "HEARTH_NOT_FOUND")) throw err;
      path = await resolveModelSource(source, options?.cache, options?.download);
      try {
        handle = await native.load(path, JSON.stringify(nativeOptions));
      } catch (e2) {
        throw fromNative(e2);
      }
    }
    return new Model(path, handle);
  }

  /** True once close() was called. */
  get closed(): boolean {
    return this.#closed;
  }

  /** What the model is: architecture, sizes, special tokens, backend. */
  get info(): ModelInfo {
    this.#checkOpen();
    if (this.#info === undefined) {
      try {
        this.#info = JSON.parse(native.info(this.#handle)) as ModelInfo;
      } catch (e) {
        throw fromNative(e);
      }
    }
    return this.#info;
  }

  /** Tokenizes text. By default adds BOS when the model does (addSpecial: true). */
  tokenize(text: string, options?: TokenizeOptions): number[] {
    this.#checkOpen();
    if (typeof text !== "string") throw new HearthError("HEARTH_INVALID_OPTION", "hearth: tokenize: text must be a string");
    const addSpecial = options?.addSpecial ?? true;
    const parseSpecial = options?.parseSpecial ?? false;
    try {
      return Array.from(native.tokenize(this.#handle, text, addSpecial, parseSpecial));
    } catch (e) {
      throw fromNative(e);
    }
  }

  /** Joins the text pieces of token ids. */
  detokenize(ids: readonly number[] | Int32Array): string {
    this.#checkOpen();
    const arr = toIds("ids", ids);
    try {
      return native.detokenize(this.#handle, arr);
    } catch (e) {
      throw fromNative(e);
    }
  }

  /**
   * Generates a continuation of prompt. Resolves with the continuation only
   * (result.text is exactly the pieces of result.tokens, cut before a stop
   * string). An aborted signal ends the generation within one token and
   * resolves with stopReason "abort" and the text so far (empty when it never
   * started). A throwing onToken aborts and rejects with its error.
   */
  generate(prompt: Prompt, options?: GenerateOptions): Promise<GenerateResult> {
    this.#checkOpen();
    const opts = validateGenerateOptions(options);
    const promptArg = typeof prompt === "string" ? prompt : toIds("prompt", prompt);
    const optionsJSON = JSON.stringify(opts.native);
    const run = async (): Promise<GenerateResult> => {
      if (this.#closed) throw new HearthError("HEARTH_CLOSED", "hearth: the model was closed");
      if (opts.signal?.aborted) return abortedResult();
      const filter = new StopFilter(opts.stop);
      const userOnToken = opts.onToken;
      const onToken = userOnToken
        ? (id: number, piece: string): void => userOnToken({ text: filter.push(piece), tokens: [id] })
        : undefined;
      let job: NativeJob;
      try {
        job = native.generate(this.#handle, promptArg, optionsJSON, onToken);
      } catch (e) {
        throw fromNative(e);
      }
      this.#current = job;
      const onAbort = (): void => job.cancel();
      opts.signal?.addEventListener("abort", onAbort, { once: true });
      if (opts.signal?.aborted) job.cancel();
      let json: string | null;
      try {
        json = await job.promise;
      } catch (e) {
        throw fromNative(e);
      } finally {
        opts.signal?.removeEventListener("abort", onAbort);
        this.#current = undefined;
      }
      const result = json === null ? abortedResult() : (JSON.parse(json) as GenerateResult);
      if (userOnToken) {
        const rest = filter.finish(result.text);
        if (rest.length > 0) userOnToken({ text: rest, tokens: [] });
      }
      return result;
    };
    const result = this.#tail.then(run, run);
    this.#tail = result.catch(() => undefined);
    return result;
  }

  /**
   * Streams a continuation of prompt as text chunks; the chunks add up to the
   * text generate() would return. Breaking out of the loop aborts the
   * generation. The generator's return value is the GenerateResult.
   */
  async *stream(prompt: Prompt, options?: GenerateOptions): AsyncGenerator<TokenChunk, GenerateResult, undefined> {
    const { onToken: userOnToken, signal: userSignal, ...rest } = options ?? {};
    validateGenerateOptions(options);
    const ac = new AbortController();
    const forward = (): void => ac.abort();
    userSignal?.addEventListener("abort", forward, { once: true });
    if (userSignal?.aborted) ac.abort();
    const queue: TokenChunk[] = [];
    let wake: (() => void) | undefined;
    let settled = false;
    let failure: { error: unknown } | undefined;
    let result: GenerateResult | undefined;
    const promise = this.generate(prompt, {
      ...rest,
      signal: ac.signal,
      onToken: (chunk) => {
        userOnToken?.(chunk);
        queue.push(chunk);
        wake?.();
      },
    });
    promise.then(
      (r) => {
        result = r;
        settled = true;
        wake?.();
      },
      (e: unknown) => {
        failure = { error: e };
        settled = true;
        wake?.();
      },
    );
    try {
      for (;;) {
        const chunk = queue.shift();
        if (chunk !== undefined) {
          yield chunk;
          continue;
        }
        if (settled) break;
        await new Promise<void>((r) => (wake = r));
        wake = undefined;
      }
      if (failure !== undefined) throw failure.error;
      return result as GenerateResult;
    } finally {
      userSignal?.removeEventListener("abort", forward);
      if (!settled) {
        ac.abort();
        await promise.catch(() => undefined);
      }
    }
  }

  /**
   * Closes the model: a running generation is cancelled (it resolves with
   * stopReason "abort"), queued ones reject with HEARTH_CLOSED, then the
   * model's memory is freed. Idempotent.
   */
  close(): Promise<void> {
    if (this.#closing === undefined) {
      this.#closed = true;
      finalizer.unregister(this);
      this.#current?.cancel();
      const handle = this.#handle;
      this.#closing = this.#tail.then(async () => {
        try {
          await native.free(handle);
        } catch (e) {
          throw fromNative(e);
        }
      });
    }
    return this.#closing;
  }

  #checkOpen(): void {
    if (this.#closed) throw new HearthError("HEARTH_CLOSED", "hearth: the model was closed");
  }
}

/**
 * Loads a GGUF model. source: a file path, or an "https://..." URL or
 * "hf:owner/repo[@revision]/file.gguf", resolved through the model cache
 * (options.cache, else the default cache; options.download tunes the fetch).
 */
export function loadModel(source: string, options?: LoadOptions): Promise<Model> {
  return Model.load(source, options);
}

/**
 * One-shot generation: loads options.model, generates, closes, and resolves
 * with the continuation text.
 */
export async function generate(prompt: Prompt, options: QuickGenerateOptions): Promise<string> {
  if (options === null || typeof options !== "object") {
    throw new HearthError("HEARTH_INVALID_OPTION", "hearth: generate needs options with a model path");
  }
  const { model: source, ...rest } = options;
  const load: Record<string, unknown> = {};
  const gen: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(rest)) {
    if (loadOptionKeys.includes(k)) load[k] = v;
    else gen[k] = v;
  }
  validateLoadOptions(load);
  validateGenerateOptions(gen, []);
  // The generation's signal also cancels the model's download.
  if (gen.signal !== undefined && isRemoteSource(source)) {
    const download = (load.download ?? {}) as Record<string, unknown>;
    if (download.signal === undefined) load.download = { ...download, signal: gen.signal };
  }
  const model = await loadModel(source, load as LoadOptions);
  try {
    const r = await model.generate(prompt, gen as GenerateOptions);
    return r.text;
  } finally {
    await model.close();
  }
}
