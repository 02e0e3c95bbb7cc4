// The model cache: downloads of "https://..." and "hf:owner/repo/file.gguf"
// sources, kept by content (SHA-256) in a folder shared by every process.
// The work runs in libhearth (package cache, through capi/cache.go) on libuv's
// thread pool; this module is its typed face.
import { resolve as resolvePath } from "node:path";

import { HearthError, type HearthErrorCode } from "./errors.js";
import { native } from "./native.js";
import type { CacheOptions } from "./options.js";

/** Download progress, reported about 10 times a second and once at the end. */
export interface DownloadProgress {
  /** Bytes on disk so far, including bytes kept from an interrupted download. */
  downloaded: number;
  /** Size of the file, or -1 when the server does not say. */
  total: number;
  /** Average speed of this download so far. */
  bytesPerSecond: number;
}

/** Options of {@link ModelCache.resolve} (and of `download` in loadModel/generate). */
export interface ResolveOptions {
  /** Expected SHA-256 (hex). Other content rejects with HEARTH_DIGEST_MISMATCH and nothing is kept. */
  sha256?: string;
  /** Called on the JS thread with download progress. Throwing cancels the download and rejects with that error. */
  onProgress?: (progress: DownloadProgress) => void;
  /** Cancels the download (HEARTH_ABORTED); the partial file is kept, and the next resolve resumes it. */
  signal?: AbortSignal;
  /** Ask the server whether a cached copy changed (a conditional request); a changed file is downloaded again. Offline, the cached copy is used. */
  revalidate?: boolean;
  /** Revalidate a cached copy last checked longer ago than this many milliseconds. */
  maxAgeMs?: number;
  /** Never touch the network: reject with HEARTH_NOT_FOUND when the source is not cached. Default: the cache's `offline`. */
  offline?: boolean;
}

/** Where a source resolved to. */
export interface ResolveResult {
  /** Absolute path of the cached GGUF file (read-only; do not modify it). */
  path: string;
  /** SHA-256 of its content (hex). */
  sha256: string;
  /** Size in bytes. */
  size: number;
  /** True when bytes were fetched by this call. */
  downloaded: boolean;
  /** True when this call continued an interrupted download (HTTP Range). */
  resumed: boolean;
  /** True when revalidation could not reach the server and the cached copy was used. */
  offline: boolean;
}

/** One cached model. */
export interface CacheEntry {
  /** SHA-256 of the content (hex): the model's identity in the cache. */
  sha256: string;
  /** Size in bytes. */
  size: number;
  /** The most recent source that resolved to it ("" when none is recorded). */
  source: string;
  /** Every source that resolved to it. */
  sources: string[];
  /** When it was last resolved; eviction removes the least recent first. */
  lastAccess: Date;
  /** Absolute path of the file. */
  path: string;
}

/** What {@link ModelCache.verify} found. */
export interface VerifyReport {
  /** Files whose content matches their SHA-256. */
  ok: CacheEntry[];
  /** Files whose content no longer matched; they were removed. */
  corrupt: CacheEntry[];
  /** Files that had disappeared; their records were dropped. */
  missing: CacheEntry[];
}

/** The addon's cache functions (binding/src/addon.cc). */
interface NativeCache {
  cacheDefaultDir(): string;
  cacheOpen(cacheJSON: string): string;
  cacheResolve(
    cacheJSON: string,
    source: string,
    optionsJSON: string,
    onProgress?: (p: DownloadProgress) => void,
  ): { promise: Promise<string>; cancel(): void };
  cacheList(cacheJSON: string): Promise<string>;
  cacheRemove(cacheJSON: string, key: string): Promise<string>;
  cachePrune(cacheJSON: string, maxBytes: number): Promise<string>;
  cacheVerify(cacheJSON: string): Promise<string>;
}

const nc = native as unknown as NativeCache;

/** Codes the cache rejects with (beyond the model's). */
const cacheCodes: ReadonlySet<string> = new Set([
  "HEARTH_DIGEST_MISMATCH", "HEARTH_DOWNLOAD", "HEARTH_ABORTED", "HEARTH_NOT_FOUND", "HEARTH_IO",
  "HEARTH_INVALID_OPTION", "HEARTH_INVALID_HANDLE", "HEARTH_INTERNAL",
]);

/** Turns an addon error into a HearthError (other values pass through). */
function fromNativeCache(e: unknown): unknown {
  if (e instanceof HearthError) return e;
  if (typeof e === "object" && e !== null) {
    const { code, message } = e as { code?: unknown; message?: unknown };
    if (typeof code === "string" && cacheCodes.has(code) && typeof message === "string") {
      return new HearthError(code as HearthErrorCode, message);
    }
  }
  return e;
}

function invalid(name: string, why: string): never {
  throw new HearthError("HEARTH_INVALID_OPTION", `hearth: option ${name}: ${why}`);
}

function isAbortSignal(v: unknown): v is AbortSignal {
  if (typeof v !== "object" || v === null) return false;
  const s = v as Partial<AbortSignal>;
  return typeof s.aborted === "boolean" && typeof s.addEventListener === "function";
}

/** The folder the default cache uses: $HEARTH_CACHE_DIR, else $XDG_CACHE_HOME/hearth, else ~/.cache/hearth. */
export function defaultCacheDir(): string {
  try {
    return nc.cacheDefaultDir();
  } catch (e) {
    throw fromNativeCache(e);
  }
}

interface RawEntry {
  sha256: string;
  size: number;
  source: string;
  sources: string[] | null;
  lastAccess: string;
  path: string;
}

function toEntry(r: RawEntry): CacheEntry {
  return { sha256: r.sha256, size: r.size, source: r.source, sources: r.sources ?? [], lastAccess: new Date(r.lastAccess), path: r.path };
}

const cacheKeys = ["dir", "maxBytes", "offline"];
const resolveKeys = ["sha256", "onProgress", "signal", "revalidate", "maxAgeMs", "offline"];

/** Validates CacheOptions; throws HEARTH_INVALID_OPTION naming the bad option. */
export function validateCacheOptions(o: unknown, name = "cache"): CacheOptions {
  if (o === undefined || o === null) return {};
  if (typeof o !== "object" || Array.isArray(o)) invalid(name, "must be a ModelCache or an object");
  const c = o as Record<string, unknown>;
  for (const k of Object.keys(c)) if (!cacheKeys.includes(k)) invalid(`${name}.${k}`, `unknown option (known: ${cacheKeys.join(", ")})`);
  if (c.dir !== undefined && (typeof c.dir !== "string" || c.dir === "")) invalid(`${name}.dir`, "must be a non-empty string");
  if (c.maxBytes !== undefined && (typeof c.maxBytes !== "number" || !Number.isSafeInteger(c.maxBytes) || c.maxBytes < 0)) {
    invalid(`${name}.maxBytes`, "must be a byte count (an integer >= 0; 0: no budget)");
  }
  if (c.offline !== undefined && typeof c.offline !== "boolean") invalid(`${name}.offline`, "must be a boolean");
  return c as CacheOptions;
}

/** Validates ResolveOptions; throws HEARTH_INVALID_OPTION naming the bad option. */
export function validateResolveOptions(o: unknown, name = "options"): ResolveOptions {
  if (o === undefined || o === null) return {};
  if (typeof o !== "object" || Array.isArray(o)) invalid(name, "must be an object");
  const r = o as Record<string, unknown>;
  const p = name === "options" ? "" : `${name}.`;
  for (const k of Object.keys(r)) if (!resolveKeys.includes(k)) invalid(p + k, `unknown option (known: ${resolveKeys.join(", ")})`);
  if (r.sha256 !== undefined && (typeof r.sha256 !== "string" || !/^[0-9a-fA-F]{64}$/.test(r.sha256))) invalid(p + "sha256", "must be 64 hex digits");
  if (r.onProgress !== undefined && typeof r.onProgress !== "function") invalid(p + "onProgress", "must be a function");
  if (r.signal !== undefined && !isAbortSignal(r.signal)) invalid(p + "signal", "must be an AbortSignal");
  if (r.revalidate !== undefined && typeof r.revalidate !== "boolean") invalid(p + "revalidate", "must be a boolean");
  if (r.offline !== undefined && typeof r.offline !== "boolean") invalid(p + "offline", "must be a boolean");
  if (r.maxAgeMs !== undefined && (typeof r.maxAgeMs !== "number" || !(r.maxAgeMs >= 0))) invalid(p + "maxAgeMs", "must be a number >= 0");
  return r as ResolveOptions;
}

/**
 * A model cache in one folder, shared safely by threads and processes.
 *
 * ```ts
 * const cache = new ModelCache();                       // the default folder
 * const { path } = await cache.resolve("hf:owner/repo/model.gguf", { onProgress: console.log });
 * ```
 *
 * Files are stored by SHA-256 and published only after they are complete and
 * verified. Interrupted downloads resume where they stopped. Concurrent
 * resolves of one source, in any process, download it once. A model loaded
 * from the cache is never evicted while it is open.
 */
export class ModelCache {
  /** Absolute path of the cache folder. */
  readonly dir: string;
  /** Eviction budget in bytes (0: none). After each download, least recently used models are evicted down to it. */
  readonly maxBytes: number;
  /** When true, resolve never touches the network. */
  readonly offline: boolean;
  readonly #json: string;

  /**
   * Opens (creating it if needed) the cache in options.dir, else
   * $HEARTH_CACHE_DIR, else $XDG_CACHE_HOME/hearth, else ~/.cache/hearth.
   * maxBytes defaults to $HEARTH_CACHE_MAX_BYTES (else no budget).
   */
  constructor(options?: CacheOptions) {
    const o = validateCacheOptions(options, "options");
    let info: { dir: string; maxBytes: number };
    try {
      info = JSON.parse(
        nc.cacheOpen(JSON.stringify({ dir: o.dir === undefined ? undefined : resolvePath(o.dir), maxBytes: o.maxBytes })),
      ) as { dir: string; maxBytes: number };
    } catch (e) {
      throw fromNativeCache(e);
    }
    this.dir = resolvePath(info.dir);
    this.maxBytes = info.maxBytes;
    this.offline = o.offline ?? false;
    this.#json = JSON.stringify({ dir: this.dir, maxBytes: this.maxBytes });
  }

  /**
   * Resolves a source ("https://...", "http://..." or "hf:owner/repo[@revision]/file.gguf")
   * to a local file, downloading it when it is not cached. Resolves with the
   * path and what happened; rejects with a HearthError whose code is
   * HEARTH_DOWNLOAD (HTTP error, dropped connection: call again to resume),
   * HEARTH_DIGEST_MISMATCH, HEARTH_ABORTED, HEARTH_NOT_FOUND (offline, not
   * cached), HEARTH_INVALID_OPTION or HEARTH_IO.
   */
  async resolve(source: string, options?: ResolveOptions): Promise<ResolveResult> {
    if (typeof source !== "string" || source === "") invalid("source", "must be a non-empty string");
    const o = validateResolveOptions(options);
    const signal = o.signal;
    if (signal?.aborted) throw new HearthError("HEARTH_ABORTED" as HearthErrorCode, `hearth: resolve ${source} aborted`);
    const nativeOptions = { sha256: o.sha256, revalidate: o.revalidate, maxAgeMs: o.maxAgeMs, offline: o.offline ?? this.offline };
    let job: ReturnType<NativeCache["cacheResolve"]>;
    try {
      job = nc.cacheResolve(this.#json, source, JSON.stringify(nativeOptions), o.onProgress);
    } catch (e) {
      throw fromNativeCache(e);
    }
    const onAbort = (): void => job.cancel();
    signal?.addEventListener("abort", onAbort, { once: true });
    try {
      return JSON.parse(await job.promise) as ResolveResult;
    } catch (e) {
      throw fromNativeCache(e);
    } finally {
      signal?.removeEventListener("abort", onAbort);
    }
  }

  /** The cached models, least recently used first. */
  async list(): Promise<CacheEntry[]> {
    try {
      return (JSON.parse(await nc.cacheList(this.#json)) as RawEntry[]).map(toEntry);
    } catch (e) {
      throw fromNativeCache(e);
    }
  }

  /**
   * Removes a cached model by its SHA-256 or by a source that resolved to it.
   * Rejects with HEARTH_NOT_FOUND when nothing matches and HEARTH_IO when the
   * model is open (in this process or another).
   */
  async remove(sha256OrSource: string): Promise<void> {
    if (typeof sha256OrSource !== "string" || sha256OrSource === "") invalid("sha256OrSource", "must be a non-empty string");
    try {
      await nc.cacheRemove(this.#json, sha256OrSource);
    } catch (e) {
      throw fromNativeCache(e);
    }
  }

  /**
   * Evicts least recently used models until the cache fits maxBytes (default:
   * the cache's maxBytes; with neither, nothing is evicted). Open models are
   * skipped. Resolves with the removed entries.
   */
  async prune(maxBytes?: number): Promise<CacheEntry[]> {
    if (maxBytes !== undefined && (typeof maxBytes !== "number" || !Number.isSafeInteger(maxBytes) || maxBytes < 0)) {
      invalid("maxBytes", "must be a byte count (an integer >= 0)");
    }
    try {
      return (JSON.parse(await nc.cachePrune(this.#json, maxBytes ?? 0)) as RawEntry[]).map(toEntry);
    } catch (e) {
      throw fromNativeCache(e);
    }
  }

  /** Rehashes every cached file: corrupt ones are removed, missing ones forgotten. */
  async verify(): Promise<VerifyReport> {
    try {
      const r = JSON.parse(await nc.cacheVerify(this.#json)) as { ok: RawEntry[]; corrupt: RawEntry[]; missing: RawEntry[] };
      return { ok: r.ok.map(toEntry), corrupt: r.corrupt.map(toEntry), missing: r.missing.map(toEntry) };
    } catch (e) {
      throw fromNativeCache(e);
    }
  }
}

/** The ModelCache for a `cache` load option: an instance as is, options opened, nothing the default cache. */
export function toModelCache(cache: ModelCache | CacheOptions | undefined): ModelCache {
  return cache instanceof ModelCache ? cache : new ModelCache(cache);
}
