// A local HTTP file server for the model cache tests, with injectable faults
// and a log of every request (method, path, Range header, status).
import { createHash } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

/** Faults a path can be set to show. */
export interface Fault {
  /** Cut the connection after this many body bytes of the next response (once). */
  dropAfter?: number;
  /** Answer every Range request with the whole file (200). */
  ignoreRange?: boolean;
  /** Answer with this status and no file. */
  status?: number;
  /** Pause this many milliseconds after each chunk. */
  delayMs?: number;
  /** Bytes per chunk (default 64 KiB). */
  chunk?: number;
}

/** One request the server saw. */
export interface LogEntry {
  method: string;
  path: string;
  /** The Range header, if any ("bytes=N-"). */
  range?: string;
  status: number;
}

interface File {
  data: Buffer;
  etag: string;
  lastModified: string;
}

export function sha256(b: Buffer): string {
  return createHash("sha256").update(b).digest("hex");
}

/** Serves in-memory files on 127.0.0.1 with HTTP ranges, validators and faults. */
export class ModelServer {
  readonly log: LogEntry[] = [];
  readonly #files = new Map<string, File>();
  readonly #faults = new Map<string, Fault>();
  #server: Server | undefined;
  #port = 0;

  /** Serves data at path (replacing what was there, with new validators). */
  set(path: string, data: Buffer): void {
    // Not a 64-hex-digit ETag: the cache would take that for the server's SHA-256.
    const etag = `"${sha256(data).slice(0, 16)}-${data.length}"`;
    this.#files.set(path, { data, etag, lastModified: new Date(Date.UTC(2026, 0, 1)).toUTCString() });
  }

  /** Sets (or with undefined clears) the faults of a path. */
  fault(path: string, f: Fault | undefined): void {
    if (f === undefined) this.#faults.delete(path);
    else this.#faults.set(path, { ...f });
  }

  url(path: string): string {
    return `http://127.0.0.1:${this.#port}${path}`;
  }

  /** The requests for path. */
  requests(path: string): LogEntry[] {
    return this.log.filter((e) => e.path === path);
  }

  async start(): Promise<void> {
    this.#server = createServer((req, res) => void this.#handle(req, res));
    await new Promise<void>((resolve) => this.#server!.listen(0, "127.0.0.1", resolve));
    this.#port = (this.#server.address() as AddressInfo).port;
  }

  async close(): Promise<void> {
    const s = this.#server;
    if (!s) return;
    s.closeAllConnections();
    await new Promise<void>((resolve) => s.close(() => resolve()));
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? "/").split("?")[0]!;
    const range = req.headers.range;
    const entry: LogEntry = { method: req.method ?? "GET", path, status: 0 };
    if (range !== undefined) entry.range = range;
    this.log.push(entry);
    const fault = this.#faults.get(path) ?? {};
    const file = this.#files.get(path);
    const reply = (status: number): void => {
      entry.status = status;
      res.statusCode = status;
    };
    if (fault.status !== undefined || file === undefined) {
      reply(fault.status ?? 404);
      res.end(`status ${res.statusCode}\n`);
      return;
    }
    res.setHeader("ETag", file.etag);
    res.setHeader("Last-Modified", file.lastModified);
    res.setHeader("Accept-Ranges", "bytes");
    if (req.headers["if-none-match"] === file.etag) {
      reply(304);
      res.end();
      return;
    }
    let start = 0;
    const ifRange = req.headers["if-range"];
    const m = /^bytes=(\d+)-$/.exec(range ?? "");
    if (m && !fault.ignoreRange && (ifRange === undefined || ifRange === file.etag || ifRange === file.lastModified)) {
      start = Number(m[1]);
      if (start >= file.data.length) {
        reply(416);
        res.end();
        return;
      }
      reply(206);
      res.setHeader("Content-Range", `bytes ${start}-${file.data.length - 1}/${file.data.length}`);
    } else {
      reply(200);
    }
    res.setHeader("Content-Length", String(file.data.length - start));
    res.flushHeaders();
    if (req.method === "HEAD") {
      res.end();
      return;
    }
    const drop = fault.dropAfter;
    if (drop !== undefined) delete this.#faults.get(path)!.dropAfter;
    const chunk = fault.chunk ?? 65536;
    let sent = 0;
    for (let off = start; off < file.data.length; off += chunk) {
      let piece = file.data.subarray(off, Math.min(off + chunk, file.data.length));
      const cut = drop !== undefined && sent + piece.length >= drop;
      if (cut) piece = piece.subarray(0, drop - sent);
      await new Promise<void>((resolve) => res.write(piece, () => resolve()));
      sent += piece.length;
      if (res.destroyed) return;
      if (cut) {
        res.destroy(); // the connection drops mid-body
        return;
      }
      if (fault.delayMs) await new Promise((r) => setTimeout(r, fault.delayMs));
      if (res.destroyed) return;
    }
    res.end();
  }
}
