// Model sources: where loadModel finds a model's GGUF file.
//
// Today a source is a local path (or a file:// URL). Remote sources,
// "https://..." and "hf:owner/repo/file.gguf", belong to the model cache
// (ModelCache, options.cache): resolveModelSource is the one place that will
// hand them to it, download into the cache and return the cached path.
import { existsSync, statSync } from "node:fs";
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";

import { HearthError } from "./errors.js";
import type { CacheOptions } from "./options.js";

/** True for sources that need the model cache ("https://...", "http://...", "hf:..."). */
export function isRemoteSource(source: string): boolean {
  return /^https?:\/\//i.test(source) || source.startsWith("hf:");
}

/**
 * Resolves a model source to a local GGUF path.
 * Rejects with HEARTH_NOT_FOUND for a missing file and HEARTH_UNSUPPORTED for
 * remote sources (until the model cache lands).
 */
export async function resolveModelSource(source: string, cache?: CacheOptions): Promise<string> {
  if (typeof source !== "string" || source.length === 0) {
    throw new HearthError("HEARTH_INVALID_OPTION", "hearth: option model: must be a non-empty string (a GGUF path)");
  }
  if (isRemoteSource(source)) {
    void cache; // handed to the model cache once it exists
    throw new HearthError(
      "HEARTH_UNSUPPORTED",
      `hearth: model source ${JSON.stringify(source)} needs the model cache, which is not implemented yet; download the GGUF and pass its path`,
    );
  }
  const path = source.startsWith("file://") ? fileURLToPath(source) : resolve(source);
  if (!existsSync(path)) throw new HearthError("HEARTH_NOT_FOUND", `hearth: model file ${path} does not exist`);
  if (!statSync(path).isFile()) throw new HearthError("HEARTH_BAD_MODEL", `hearth: model ${path} is not a file`);
  return path;
}
