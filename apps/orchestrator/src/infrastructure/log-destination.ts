/**
 * Where the JSON log lines go when stdout is not a terminal: fd 1, written asynchronously, one write at a time, from a
 * bounded buffer. The event loop never waits for the log: a reader that stopped reading (a full pipe) or went away
 * (EPIPE) costs log lines, never a hung process; SIGTERM is still handled and shutdown still exits.
 * Lines past MAX_BUFFERED_BYTES are dropped and counted; the count is written once the pipe drains again.
 */
import { write } from 'node:fs';

const MAX_BUFFERED_BYTES = 8 * 1024 * 1024;

export class NonBlockingDestination {
  private buffered: string[] = [];
  private bufferedBytes = 0;
  private writing = false;
  private dropped = 0;
  private broken = false;
  private readonly drained: Array<() => void> = [];

  constructor(private readonly fd = 1) {}

  /** pino's stream interface. */
  write(line: string): boolean {
    if (this.broken) return true;
    if (this.bufferedBytes + line.length > MAX_BUFFERED_BYTES) {
      this.dropped++;
      return true;
    }
    this.buffered.push(line);
    this.bufferedBytes += line.length;
    this.pump();
    return true;
  }

  /** Resolves when everything buffered is written, or after `timeoutMs` (a stalled reader never holds an exit). */
  flush(timeoutMs: number): Promise<void> {
    if (!this.writing && this.buffered.length === 0) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, timeoutMs);
      timer.unref();
      this.drained.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  private pump(): void {
    if (this.writing || this.broken) return;
    if (this.buffered.length === 0) {
      for (const done of this.drained.splice(0)) done();
      return;
    }
    if (this.dropped > 0) {
      this.buffered.unshift(
        `${JSON.stringify({ level: 40, time: Date.now(), msg: `log output stalled: ${this.dropped} lines dropped` })}\n`,
      );
      this.dropped = 0;
    }
    const chunk = this.buffered.join('');
    this.buffered = [];
    this.bufferedBytes = 0;
    this.writing = true;
    // fs.write runs in libuv's thread pool: if the pipe is full, that thread waits, the event loop does not.
    write(this.fd, chunk, (error, written) => {
      this.writing = false;
      if (error) {
        // EPIPE (nobody reads any more) or anything else: stop logging rather than fail the service.
        this.broken = true;
        this.buffered = [];
        for (const done of this.drained.splice(0)) done();
        return;
      }
      const rest = Buffer.byteLength(chunk) === written ? '' : Buffer.from(chunk).subarray(written).toString();
      if (rest) {
        this.buffered.unshift(rest);
        this.bufferedBytes += rest.length;
      }
      this.pump();
    });
  }
}
