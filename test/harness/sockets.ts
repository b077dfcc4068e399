/**
 * What the kernel knows of the service's connections, for tests that must act once requests have reached the service
 * and not before: a request sent with node:http says when its bytes are handed to the kernel, and /proc/net/tcp says
 * whether the service has read them (Linux, as the test machines and the image run).
 */
import { readFileSync } from 'node:fs';
import { request } from 'node:http';
import { connect } from 'node:net';

export type SentRequest = {
  /** Resolves once the whole request is handed to the kernel. */
  written: Promise<void>;
  answer: Promise<{ status: number; body: string }>;
};

/** One request on a connection of its own (no keep-alive pool), with no body. */
export function sendRequest(url: string, method: string, path: string, headers: Record<string, string>): SentRequest {
  let written!: Promise<void>;
  const answer = new Promise<{ status: number; body: string }>((resolve, reject) => {
    const sent = request(`${url}${path}`, { method, headers: { ...headers, 'content-length': '0' }, agent: false });
    written = new Promise<void>((resolveWritten, rejectWritten) => {
      sent.once('finish', resolveWritten);
      sent.once('error', rejectWritten);
    });
    sent.once('error', reject);
    sent.once('response', (response) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (body += chunk));
      response.once('end', () => resolve({ status: response.statusCode ?? 0, body }));
      response.once('error', reject);
    });
    sent.end();
  });
  return { written, answer };
}

/**
 * The connections accepted on local `port` (ESTABLISHED, whether or not the service has accepted them yet) and the
 * bytes waiting in them that the service has not read: 0 once it has read, and so parsed, every request sent.
 */
export function unreadOnPort(port: number): { connections: number; unreadBytes: number } {
  let connections = 0;
  let unreadBytes = 0;
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text: string;
    try {
      text = readFileSync(table, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      // sl local_address rem_address st tx_queue:rx_queue …, addresses as HEX_IP:HEX_PORT
      const [, local, , state, queues] = line.trim().split(/\s+/);
      if (local === undefined || state !== '01' || Number.parseInt(local.split(':').at(-1)!, 16) !== port) continue;
      connections++;
      unreadBytes += Number.parseInt(queues!.split(':')[1]!, 16);
    }
  }
  return { connections, unreadBytes };
}

/** Whether a TCP connection to 127.0.0.1:`port` is refused now (nothing listens); a connection made is closed at once. */
export function connectionRefused(port: number): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', (error: NodeJS.ErrnoException) =>
      error.code === 'ECONNREFUSED' ? resolve(true) : reject(error),
    );
  });
}
