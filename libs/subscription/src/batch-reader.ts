/**
 * Groups a subscription into batches: waits for the first event, then takes whatever else arrives within
 * `lingerMs`, up to `max`. A catch-up replay fills whole batches at once; a live trickle goes out within a few ms.
 */
export class BatchReader<T> {
  private pending: Promise<IteratorResult<T>> | undefined;
  private ended = false;

  constructor(private readonly iterator: AsyncIterator<T>) {}

  /** The next batch, or undefined once the subscription ended. Rejects when the subscription fails. */
  async next(max: number, lingerMs: number): Promise<T[] | undefined> {
    if (this.ended) return undefined;
    const first = await this.take();
    if (first.done) return this.end();
    const batch = [first.value];
    let timer: NodeJS.Timeout | undefined;
    const expired = new Promise<'expired'>((resolve) => (timer = setTimeout(() => resolve('expired'), lingerMs)));
    try {
      while (batch.length < max) {
        const next = await Promise.race([this.peek(), expired]);
        if (next === 'expired') break;
        this.pending = undefined;
        if (next.done) {
          this.ended = true;
          break;
        }
        batch.push(next.value);
      }
    } finally {
      clearTimeout(timer);
    }
    return batch;
  }

  private end(): undefined {
    this.ended = true;
    return undefined;
  }

  private async take(): Promise<IteratorResult<T>> {
    const result = await this.peek();
    this.pending = undefined;
    return result;
  }

  /** One outstanding next() at a time; a batch that stops lingering keeps it for the following batch. */
  private peek(): Promise<IteratorResult<T>> {
    if (!this.pending) {
      this.pending = this.iterator.next();
      // The reader may be abandoned (resubscribe after a failure) while a next() is outstanding.
      this.pending.catch(() => undefined);
    }
    return this.pending;
  }
}
