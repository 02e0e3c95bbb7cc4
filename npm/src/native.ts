// The typed face of the native addon (binding/src/addon.cc).
import addon from "./addon.js";

/** One generation running in the addon. */
export interface NativeJob {
  /** Resolves to the result JSON, or null when cancelled before it started. */
  promise: Promise<string | null>;
  /** Stops the generation within one token (safe to call at any time). */
  cancel(): void;
}

/** The functions of hearth.node. Handles are small positive integers. */
export interface NativeAddon {
  abiVersion(): number;
  /** Aborts every running generation (used at process exit). */
  abortAll(): void;
  version(): string;
  load(path: string, optionsJSON?: string): Promise<number>;
  free(handle: number): Promise<void>;
  info(handle: number): string;
  tokenize(handle: number, text: string, addSpecial: boolean, parseSpecial: boolean): Int32Array;
  detokenize(handle: number, ids: Int32Array): string;
  generate(
    handle: number,
    prompt: string | Int32Array,
    optionsJSON: string,
    onToken?: (id: number, piece: string) => void,
  ): NativeJob;
}

/** The loaded addon. */
export const native: NativeAddon = addon as NativeAddon;

// process.exit() joins libuv's thread pool before exiting: stop generations
// first so that exiting never waits for one (or for JS to take its tokens).
process.on("exit", () => native.abortAll());
