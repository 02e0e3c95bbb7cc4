// Model sources: where loadModel finds a model's GGUF file.
//
// A source is a local path (or a file:// URL), or a remote source,
// "https://..." or "hf:owner/repo/file.gguf", that resolveModelSource hands to
// the model cache (ModelCache, options.cache): it downloads into the cache
// (once) and returns the cached path.
import { existsSync, statSync } from "node:fs";
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";

import { toModelCache, type ModelCache, type ResolveOptions } from "./cache.js";
import { HearthError } from "./errors.js";
import type { CacheOptions } from "./options.js";

/** True for sources that need the model cache ("https://...", "http://...", "hf:..."). */
export function isRemoteSource(source: string): boolean {
  return /^https?:\/\//i.test(source) || source.startsWith("hf:");
}

/**
 * Resolves a model source to a local GGUF path. Remote sources resolve
 * through cache (a ModelCache, its options, or the default cache) with the
 * download options. Rejects with HEARTH_NOT_FOUND for a missing file and with
 * the cache's errors (HEARTH_DOWNLOAD, HEARTH_DIGEST_MISMATCH, HEARTH_ABORTED, ...).
 */
export async function resolveModelSource(source: string, cache?: ModelCache | CacheOptions, download?: ResolveOptions): Promise<string> {
  if (typeof source !== "string" || source.length === 0) {
    throw new HearthError("HEARTH_INVALID_OPTION", "hearth: option model: must be a non-empty string (a GGUF path)");
  }
  if (isRemoteSource(source)) {
    const r = await toModelCache(cache).resolve(source, download);
    return r.path;
  }
  const path = source.startsWith("file://") ? fileURLToPath(source) : resolve(source);
  if (!existsSync(path)) throw new HearthError("HEARTH_NOT_FOUND", `hearth: model file ${path} does not exist`);
  if (!statSync(path).isFile()) throw new HearthError("HEARTH_BAD_MODEL", `hearth: model ${path} is not a file`);
  return path;
}
