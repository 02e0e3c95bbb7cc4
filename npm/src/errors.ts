/** Stable error codes carried by {@link HearthError.code}. */
export type HearthErrorCode =
  | "HEARTH_BAD_MODEL"
  | "HEARTH_NOT_FOUND"
  | "HEARTH_CONTEXT_OVERFLOW"
  | "HEARTH_INVALID_OPTION"
  | "HEARTH_GPU_UNAVAILABLE"
  | "HEARTH_BUSY"
  | "HEARTH_CLOSED"
  | "HEARTH_INTERNAL"
  | "HEARTH_IO"
  | "HEARTH_INVALID_HANDLE"
  | "HEARTH_UNSUPPORTED"
  | "HEARTH_DIGEST_MISMATCH"
  | "HEARTH_DOWNLOAD"
  | "HEARTH_ABORTED";

const knownCodes: ReadonlySet<string> = new Set<HearthErrorCode>([
  "HEARTH_BAD_MODEL",
  "HEARTH_NOT_FOUND",
  "HEARTH_CONTEXT_OVERFLOW",
  "HEARTH_INVALID_OPTION",
  "HEARTH_GPU_UNAVAILABLE",
  "HEARTH_BUSY",
  "HEARTH_CLOSED",
  "HEARTH_INTERNAL",
  "HEARTH_IO",
  "HEARTH_INVALID_HANDLE",
  "HEARTH_UNSUPPORTED",
  "HEARTH_DIGEST_MISMATCH",
  "HEARTH_DOWNLOAD",
  "HEARTH_ABORTED",
]);

/** An error from Hearth: `code` is stable across versions, `message` is for people. */
export class HearthError extends Error {
  /** The stable error code. */
  readonly code: HearthErrorCode;

  constructor(code: HearthErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "HearthError";
    this.code = code;
  }
}

/** Converts an error thrown by the native addon into a HearthError (other values pass through). */
export function fromNative(e: unknown): unknown {
  if (e instanceof HearthError) return e;
  // Duck-typed: the addon's errors come from the main realm's Error, which is
  // not this realm's under vm contexts (Jest, for one).
  if (typeof e === "object" && e !== null) {
    const { code, message } = e as { code?: unknown; message?: unknown };
    if (typeof code === "string" && knownCodes.has(code) && typeof message === "string") {
      return new HearthError(code as HearthErrorCode, message);
    }
  }
  return e;
}

/** Throws HEARTH_INVALID_OPTION naming the option. */
export function invalidOption(name: string, why: string): never {
  throw new HearthError("HEARTH_INVALID_OPTION", `hearth: option ${name}: ${why}`);
}
