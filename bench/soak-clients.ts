/**
 * The soak's clients, each bounded in count and stopped by the caller: long-lived GETs (audit exports, event
 * streams) held open and reopened when the server closes them, each read at full speed, at a set rate or not at all;
 * keyed bulk ends a few at a time; single ends at a set rate; the service's heap from GET /metrics.
 */
import { Agent, request } from 'node:http';
import { sleep } from '#runtime';

/** How one held GET reads its answer: everything, `bytesPerSecond`, or nothing (the socket's buffers fill). */
export type Reading = { kind: 'all' } | { kind: 'rate'; bytesPerSecond: number } | { kind: 'none' };

export interface HeldGets {
  /** Answers with 200 that are open now, the most open at once, and every one opened so far (reopens included). */
  open: number;
  maxOpen: number;
  opened: number;
  /** Closed by the server or the network before stop(). */
  closed: number;
  bytes: number;
  /** Occurrences of `count` in what was read (SSE events). */
  counted: number;
  statuses: Record<string, number>;
  errors: number;
  stop(): void;
}

/** Holds `count` GETs of `path` open until stop(); `token(i)` and `reading(i)` are those of connection i. */
export function holdGets(
  url: string,
  path: string,
  count: number,
  token: (i: number) => string,
  reading: (i: number) => Reading,
  counting?: string,
): HeldGets {
  let stopped = false;
  const live = new Set<() => void>();
  const held: HeldGets = {
    open: 0,
    maxOpen: 0,
    opened: 0,
    closed: 0,
    bytes: 0,
    counted: 0,
    statuses: {},
    errors: 0,
    stop: () => {
      stopped = true;
      for (const end of live) end();
    },
  };
  // A refused GET (429) comes back when Retry-After says, at most 30 s later; a closed one after 200 ms.
  const retryIn = new Map<number, number>();
  const again = (i: number): void => void sleep(retryIn.get(i) ?? 200).then(() => open(i));
  const open = (i: number): void => {
    if (stopped) return;
    const req = request(`${url}${path}`, { agent: false, headers: { authorization: `Bearer ${token(i)}` } });
    const end = (): void => void req.destroy();
    live.add(end);
    req.on('response', (res) => {
      const status = String(res.statusCode);
      held.statuses[status] = (held.statuses[status] ?? 0) + 1;
      if (res.statusCode !== 200) {
        retryIn.set(i, Math.min(Number(res.headers['retry-after'] ?? 1) || 1, 30) * 1_000);
        res.resume();
        return;
      }
      retryIn.delete(i);
      held.open++;
      held.maxOpen = Math.max(held.maxOpen, held.open);
      held.opened++;
      let timer: NodeJS.Timeout | undefined;
      res.once('close', () => {
        held.open--;
        clearInterval(timer);
        if (!stopped) held.closed++;
      });
      const how = reading(i);
      if (how.kind === 'none') return void res.pause();
      let budget = 0;
      res.on('data', (chunk: Buffer) => {
        held.bytes += chunk.length;
        if (counting !== undefined) held.counted += chunk.toString('latin1').split(counting).length - 1;
        if (how.kind === 'rate' && (budget -= chunk.length) <= 0) res.pause();
      });
      if (how.kind === 'rate') {
        // Ten refills a second; a chunk larger than the budget is paid for by the next refills.
        timer = setInterval(() => {
          budget = Math.min(budget + how.bytesPerSecond / 10, how.bytesPerSecond);
          if (budget > 0) res.resume();
        }, 100);
      }
    });
    req.on('close', () => {
      live.delete(end);
      again(i);
    });
    req.on('error', () => void (stopped || held.errors++));
    req.end();
  };
  for (let i = 0; i < count; i++) open(i);
  return held;
}

type Answer = { status: number; body: string };

/** One request over `agent`, its whole answer as text; rejects past `timeoutMs`. */
export function send(
  agent: Agent,
  url: string,
  method: string,
  path: string,
  headers: Record<string, string>,
  body?: string,
  timeoutMs = 120_000,
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(`${url}${path}`, {
      method,
      agent,
      headers: {
        ...headers,
        ...(body !== undefined
          ? { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)) }
          : {}),
      },
    });
    req.setTimeout(timeoutMs, () =>
      req.destroy(new Error(`${method} ${path} did not answer within ${timeoutMs / 1000} s`)),
    );
    req.on('response', (res) => {
      let text = '';
      res.on('data', (chunk: Buffer) => (text += chunk.toString()));
      res.on('end', () => resolve({ status: res.statusCode!, body: text }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

export interface Batches {
  answered: number;
  /** Batches that answered 200 with every contact refused as OnInvalidContactID (unknown). */
  asExpected: number;
  /** First unexpected answers or errors, a few. */
  unexpected: string[];
  done: Promise<void>;
  stop(): void;
}

/** `count` keyed bulk ends of `size` unknown contact IDs each (`Idempotency-Key: soak-{b}`), `inFlight` at a time. */
export function sendBatches(
  url: string,
  count: number,
  size: number,
  inFlight: number,
  token: (b: number) => string,
  ids: (b: number) => string[],
): Batches {
  const agent = new Agent({ keepAlive: true, maxSockets: inFlight });
  let next = 0;
  let stopped = false;
  const batches: Batches = {
    answered: 0,
    asExpected: 0,
    unexpected: [],
    done: Promise.resolve(),
    stop: () => void ((stopped = true), agent.destroy()),
  };
  const note = (what: string): void =>
    void (batches.unexpected.length < 5 && batches.unexpected.push(what.slice(0, 300)));
  const sender = async (): Promise<void> => {
    while (!stopped && next < count) {
      const b = next++;
      try {
        const answer = await send(
          agent,
          url,
          'POST',
          '/v1/contacts/end-batch',
          { authorization: `Bearer ${token(b)}`, 'idempotency-key': `soak-${b}` },
          JSON.stringify({ contactIds: ids(b) }),
        );
        batches.answered++;
        const refused =
          answer.status === 200
            ? (JSON.parse(answer.body) as { summary: Record<string, number> }).summary['OnInvalidContactID']
            : undefined;
        if (refused === size) batches.asExpected++;
        else note(`batch ${b}: ${answer.status} ${answer.body.slice(0, 200)}`);
      } catch (error) {
        if (!stopped) note(`batch ${b}: ${(error as Error).message}`);
        // A refused connection (the service gone) would otherwise spin through the remaining batches.
        await sleep(1_000);
      }
    }
  };
  batches.done = Promise.all(Array.from({ length: inFlight }, sender)).then(() => agent.destroy());
  return batches;
}

export interface PacedEnds {
  sent: number;
  statuses: Record<string, number>;
  errors: number;
  stop(): void;
}

/** Single ends of `ids`, in order, `perSecond` (ten ticks a second, not waiting for answers); stops when out of IDs. */
export function paceEnds(url: string, ids: readonly string[], perSecond: number, token: string): PacedEnds {
  const agent = new Agent({ keepAlive: true, maxSockets: 16 });
  const ends: PacedEnds = {
    sent: 0,
    statuses: {},
    errors: 0,
    stop: () => void (clearInterval(timer), agent.destroy()),
  };
  let owed = 0;
  const timer = setInterval(() => {
    owed += perSecond / 10;
    for (; owed >= 1 && ends.sent < ids.length; owed--) {
      const id = ids[ends.sent++]!;
      send(agent, url, 'POST', `/v1/contacts/${id}/end`, { authorization: `Bearer ${token}` }, '{}', 30_000).then(
        ({ status }) => void (ends.statuses[status] = (ends.statuses[status] ?? 0) + 1),
        () => void ends.errors++,
      );
    }
    if (ends.sent >= ids.length) clearInterval(timer);
  }, 100);
  return ends;
}

/**
 * Heap used (bytes) and the event-loop delay's p99 and max (seconds) over the service's window (the soak starts it
 * with METRICS_LOOP_WINDOW_SECONDS=1: the last complete second and the current one), from one GET /metrics with the
 * platform token; undefined when it does not answer.
 */
export async function scrape(service: {
  url: string;
  platformToken: string;
}): Promise<{ heapUsed: number; loopP99: number; loopMax: number } | undefined> {
  try {
    const response = await fetch(`${service.url}/metrics`, {
      headers: { authorization: `Bearer ${service.platformToken}` },
      signal: AbortSignal.timeout(5_000),
    });
    if (!response.ok) return undefined;
    const text = await response.text();
    const value = (name: string): number =>
      Number(new RegExp(`^(?:\\w+_)?${name}(?:\\{[^}]*\\})? (\\S+)`, 'm').exec(text)?.[1] ?? Number.NaN);
    return {
      heapUsed: value('nodejs_heap_size_used_bytes'),
      loopP99: value('nodejs_eventloop_lag_p99_seconds'),
      loopMax: value('nodejs_eventloop_lag_max_seconds'),
    };
  } catch {
    return undefined;
  }
}
