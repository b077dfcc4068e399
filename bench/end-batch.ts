/**
 * Bulk end against single ends, same run, same service: N contacts ended by one POST /v1/contacts/end-batch, and N
 * others ended one POST /v1/contacts/{id}/end at a time over one kept-alive connection. Both are printed; the ratio
 * is the batch's contacts per second over the single ends'.
 */
import { Agent, request } from 'node:http';
import type { BenchOptions } from './options.js';
import { contactIds, registerContacts, settle, startService, type ServiceUnderTest } from './service-setup.js';
import { formatInt, formatMs, progress } from './support.js';
import { ratioRow, type Row } from './table.js';

export const BATCH_FIGURES = [
  { figure: 'bulk end: 1,000 contacts in one end-batch request, contacts/s', target: '≥ 1.00×' },
] as const;

type Sent = { status: number; body: string };

/** One request over the given agent (one socket: maxSockets 1, keep-alive). */
function send(agent: Agent, url: string, path: string, token: string, body: string): Promise<Sent> {
  return new Promise((resolve, reject) => {
    const req = request(`${url}${path}`, {
      method: 'POST',
      agent,
      headers: {
        authorization: `Bearer ${token}`,
        'content-type': 'application/json',
        'content-length': Buffer.byteLength(body),
      },
    });
    req.setTimeout(120_000, () => req.destroy(new Error(`${path} did not answer within 120 s`)));
    req.on('response', (res) => {
      let text = '';
      res.on('data', (chunk: Buffer) => (text += chunk.toString()));
      res.on('end', () => resolve({ status: res.statusCode!, body: text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

export async function measureBatch(options: BenchOptions['batch']): Promise<Row[]> {
  const target: ServiceUnderTest = await startService();
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  try {
    const n = options.contacts;
    const singles = contactIds(n, 700_000_000_000);
    const batched = contactIds(n, 800_000_000_000);
    await registerContacts(target, [...singles, ...batched], 16);
    await settle(target);
    const { url } = target.service;

    progress(`batch: ${formatInt(n)} single ends over one connection`);
    let started = performance.now();
    for (const id of singles) {
      const answer = await send(agent, url, `/v1/contacts/${id}/end`, target.securityUser, '{}');
      if (answer.status !== 200) throw new Error(`single end of ${id} answered ${answer.status}: ${answer.body}`);
    }
    const singleMs = performance.now() - started;

    progress(`batch: one end-batch of ${formatInt(n)} contacts over the same connection`);
    started = performance.now();
    const answer = await send(
      agent,
      url,
      '/v1/contacts/end-batch',
      target.securityUser,
      JSON.stringify({ contactIds: batched }),
    );
    const batchMs = performance.now() - started;
    const ended =
      answer.status === 200
        ? (JSON.parse(answer.body) as { summary: Record<string, number> }).summary['OnSuccess']
        : undefined;
    if (ended !== n)
      throw new Error(
        `end-batch answered ${answer.status}, ${ended ?? 0} OnSuccess of ${n}: ${answer.body.slice(0, 300)}`,
      );

    const perSecond = (ms: number): number => (n * 1000) / ms;
    progress(
      `batch: single ends ${formatMs(singleMs)} (${formatInt(perSecond(singleMs))}/s), one batch ${formatMs(batchMs)} (${formatInt(perSecond(batchMs))}/s)`,
    );
    return [
      ratioRow(
        BATCH_FIGURES[0].figure.replace('1,000', formatInt(n)),
        `${formatMs(batchMs)}, ${formatInt(perSecond(batchMs))}/s`,
        perSecond(batchMs),
        `${formatInt(n)} single ends, one connection: ${formatMs(singleMs)}, ${formatInt(perSecond(singleMs))}/s`,
        perSecond(singleMs),
        1,
      ),
    ];
  } finally {
    agent.destroy();
    await target.stop();
  }
}
