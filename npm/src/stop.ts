/**
 * StopFilter holds back streamed text that might be the start of a stop
 * string, so that the streamed chunks add up to exactly the final text
 * (which ends before the stop string).
 */
export class StopFilter {
  private pending = "";
  private emitted = "";

  constructor(private readonly stops: readonly string[]) {}

  /** Adds a piece and returns the text that is safe to emit now. */
  push(piece: string): string {
    if (this.stops.length === 0) {
      this.emitted += piece;
      return piece;
    }
    this.pending += piece;
    let cut = this.pending.length;
    for (const s of this.stops) {
      const at = this.pending.indexOf(s);
      if (at >= 0) cut = Math.min(cut, at);
    }
    if (cut === this.pending.length) {
      // Keep the longest suffix that is a proper prefix of a stop string.
      for (let i = Math.max(0, this.pending.length - this.maxStop() + 1); i < this.pending.length; i++) {
        const tail = this.pending.slice(i);
        if (this.stops.some((s) => s.startsWith(tail))) {
          cut = i;
          break;
        }
      }
    }
    const out = this.pending.slice(0, cut);
    this.pending = this.pending.slice(cut);
    this.emitted += out;
    return out;
  }

  /** The rest of finalText not emitted yet (what a final chunk must carry). */
  finish(finalText: string): string {
    const rest = finalText.startsWith(this.emitted) ? finalText.slice(this.emitted.length) : "";
    this.emitted += rest;
    this.pending = "";
    return rest;
  }

  private maxStop(): number {
    return Math.max(...this.stops.map((s) => s.length));
  }
}
