/**
 * The service's HTTP API as the page uses it. The credential goes in the Authorization header only, never in a URL;
 * the event stream is read with fetch for that reason (an EventSource cannot send headers).
 */
import type { ContactView } from '#projections/contact-view';

export type { ContactView };

export type Answer<T> = { status: number; body: T };

export class Api {
  constructor(private readonly token: string) {}

  async call<T>(
    method: string,
    path: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ): Promise<Answer<T>> {
    const response = await fetch(path, {
      method,
      cache: 'no-store',
      headers: {
        authorization: `Bearer ${this.token}`,
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
        ...headers,
      },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    const text = await response.text();
    let parsed: unknown = text;
    try {
      parsed = text.length > 0 ? JSON.parse(text) : {};
    } catch {
      // Not JSON: the text itself is the answer.
    }
    return { status: response.status, body: parsed as T };
  }

  /** Every contact the credential may see, page by page (bounded: the table is a live view, not an archive). */
  async contacts(maxPages = 10): Promise<Answer<ContactView[]>> {
    const items: ContactView[] = [];
    let after: string | undefined;
    for (let page = 0; page < maxPages; page++) {
      const answer = await this.call<{ items: ContactView[]; next?: string }>(
        'GET',
        `/v1/contacts?limit=1000${after ? `&after=${after}` : ''}`,
      );
      if (answer.status !== 200) return { status: answer.status, body: [] };
      items.push(...answer.body.items);
      after = answer.body.next;
      if (after === undefined) break;
    }
    return { status: 200, body: items };
  }

  /**
   * Follows GET /v1/contacts/stream until it closes or `signal` aborts. `onOpen` is called once the stream answered
   * 200 (changes from then on arrive through `onView`); a refusal is returned as the status.
   */
  async follow(onOpen: () => void, onView: (view: ContactView) => void, signal: AbortSignal): Promise<number> {
    const response = await fetch('/v1/contacts/stream', {
      headers: { authorization: `Bearer ${this.token}`, accept: 'text/event-stream' },
      cache: 'no-store',
      signal,
    });
    if (response.status !== 200 || !response.body) return response.status;
    onOpen();
    const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = '';
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return 200;
      buffer += value;
      let end: number;
      while ((end = buffer.indexOf('\n\n')) >= 0) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const lines = block.split('\n');
        const event = lines
          .find((l) => l.startsWith('event:'))
          ?.slice(6)
          .trim();
        const data = lines
          .filter((l) => l.startsWith('data:'))
          .map((l) => l.slice(5).trimStart())
          .join('\n');
        if (event === 'contact' && data) onView(JSON.parse(data) as ContactView);
      }
    }
  }
}

/** A command ID for Idempotency-Key (crypto.randomUUID needs a secure context; this does not). */
export function newCommandId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return `page-${Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('')}`;
}

/** Who a credential names, for display only (the service checks it): a SecurityUser's claims, or the platform. */
export function identityOf(
  token: string,
): { kind: 'agent'; agentId: string; businessUnitId: string } | { kind: 'platform' } {
  const parts = token.split('.');
  if (parts.length === 3) {
    try {
      const claims = JSON.parse(atob(parts[1]!.replaceAll('-', '+').replaceAll('_', '/'))) as {
        sub?: unknown;
        bu?: unknown;
      };
      if (typeof claims.sub === 'string' && typeof claims.bu === 'string')
        return { kind: 'agent', agentId: claims.sub, businessUnitId: claims.bu };
    } catch {
      // Not a SecurityUser: the platform token (the service accepted it).
    }
  }
  return { kind: 'platform' };
}
