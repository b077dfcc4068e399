/**
 * The span processor of the service's tracer (docs/decisions.md, Tracing: "Spans are exported off the main thread").
 * A sampled span, once ended, is copied into a flat array (span-wire.ts) and the span itself let go; the arrays go
 * to the export thread (span-export.worker.ts) by `postMessage`, in groups of up to `maxGroup` or after `delayMs`,
 * and that thread batches, encodes and sends them with the SDK's own processor and OTLP exporter. Encoding OTLP
 * and holding spans until their batch leaves cost the request path most of what tracing cost it
 * (docs/benchmarks.md, "Tracing").
 */
import { TraceFlags } from '@opentelemetry/api';
import type { ReadableSpan, SpanProcessor } from '@opentelemetry/sdk-trace-base';
import type { Worker } from 'node:worker_threads';
import type { FromSpanExport, ToSpanExport } from './span-export.worker.js';
import { toWire, type WireSpan } from './span-wire.js';

export type OffThreadOptions = {
  maxGroup?: number;
  delayMs?: number;
  /** Called once if the thread fails or exits before shutdown: no span is exported after it. */
  onFailure?: ((error: Error) => void) | undefined;
};

export class OffThreadSpanProcessor implements SpanProcessor {
  private pending: WireSpan[] = [];
  private timer: NodeJS.Timeout | undefined;
  private readonly waiting = new Map<number, { resolve: () => void; reject: (error: Error) => void }>();
  private nextId = 0;
  /** Set when the thread failed or exited: spans are dropped from then on and requests fail with it. */
  private failure: Error | undefined;
  private readonly maxGroup: number;
  private readonly delayMs: number;
  private readonly onFailure: ((error: Error) => void) | undefined;

  constructor(
    private readonly worker: Worker,
    options: OffThreadOptions = {},
  ) {
    this.maxGroup = options.maxGroup ?? 256;
    this.delayMs = options.delayMs ?? 100;
    this.onFailure = options.onFailure;
    // The thread must not keep the process alive; a request in flight does (see request()).
    worker.unref();
    worker.on('message', (message: FromSpanExport) => {
      const waiter = this.waiting.get(message.id);
      if (!waiter) return;
      this.settled(message.id);
      if (message.error === undefined) waiter.resolve();
      else waiter.reject(new Error(`span export thread: ${message.error}`));
    });
    worker.on('error', (error) => this.fail(error));
    worker.on('exit', (code) => this.fail(new Error(`span export thread exited with code ${code}`)));
  }

  onStart(): void {}

  onEnd(span: ReadableSpan): void {
    if (this.failure || (span.spanContext().traceFlags & TraceFlags.SAMPLED) === 0) return;
    this.pending.push(toWire(span));
    if (this.pending.length >= this.maxGroup) this.post();
    else this.timer ??= setTimeout(() => this.post(), this.delayMs).unref();
  }

  /** Posts what is pending, then waits until the thread has exported everything it holds. */
  forceFlush(): Promise<void> {
    this.post();
    return this.request('flush');
  }

  /** Flushes, stops the thread's processor (its exporter's last export included), then ends the thread. */
  async shutdown(): Promise<void> {
    this.post();
    try {
      await this.request('shutdown');
    } finally {
      this.failure ??= new Error('span processor shut down');
      await this.worker.terminate();
    }
  }

  private post(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.pending.length === 0 || this.failure) return;
    this.worker.postMessage({ kind: 'spans', spans: this.pending } satisfies ToSpanExport);
    this.pending = [];
  }

  private request(kind: 'flush' | 'shutdown'): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    const id = this.nextId++;
    return new Promise<void>((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      this.worker.ref();
      this.worker.postMessage({ kind, id } satisfies ToSpanExport);
    });
  }

  private settled(id: number): void {
    this.waiting.delete(id);
    if (this.waiting.size === 0) this.worker.unref();
  }

  private fail(error: Error): void {
    if (!this.failure) {
      this.failure = error;
      this.onFailure?.(error);
    }
    this.pending = [];
    for (const [id, waiter] of this.waiting) {
      this.settled(id);
      waiter.reject(this.failure);
    }
  }
}
