/**
 * Security headers (helmet) on every answer. helmet's middleware is run once, at start-up, against a response that
 * only records what it sets; each answer then gets that fixed list from one onRequest hook. (@fastify/helmet
 * builds helmet's middleware again for every request, which cost 12% of the main thread under load.)
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { FastifyInstance } from 'fastify';
import helmet, { type HelmetOptions } from 'helmet';

const OPTIONS: Readonly<HelmetOptions> = {
  // The API document's page (swagger-ui) styles itself inline and draws its icons from data: URLs; nothing comes
  // from another host.
  contentSecurityPolicy: {
    directives: {
      defaultSrc: ["'self'"],
      scriptSrc: ["'self'"],
      styleSrc: ["'self'", "'unsafe-inline'"],
      imgSrc: ["'self'", 'data:'],
      connectSrc: ["'self'"],
      fontSrc: ["'self'", 'data:'],
      objectSrc: ["'none'"],
      frameAncestors: ["'none'"],
      baseUri: ["'self'"],
      formAction: ["'self'"],
      // Nor may it upgrade requests to https: the page and /docs are also served over plain HTTP.
      upgradeInsecureRequests: null,
    },
  },
  // Plain HTTP on loopback by default: HSTS belongs to the TLS terminator in front of the service.
  strictTransportSecurity: false,
};

/** The headers helmet sets with these options (lower-case names); throws if helmet fails or is not synchronous. */
export function securityHeaders(options: Readonly<HelmetOptions> = OPTIONS): Record<string, string> {
  const headers: Record<string, string> = {};
  const recorder = {
    setHeader: (name: string, value: string | number | readonly string[]) => {
      headers[name.toLowerCase()] = Array.isArray(value) ? value.join(', ') : String(value);
    },
    removeHeader: (name: string) => {
      delete headers[name.toLowerCase()];
    },
  };
  let finished = false;
  helmet(options)({} as IncomingMessage, recorder as unknown as ServerResponse, (error?: unknown) => {
    if (error) throw error instanceof Error ? error : new Error('helmet failed', { cause: error });
    finished = true;
  });
  if (!finished) throw new Error('helmet did not set its headers synchronously');
  return headers;
}

export function installSecurityHeaders(
  fastify: FastifyInstance,
  headers: Record<string, string> = securityHeaders(),
): void {
  fastify.addHook('onRequest', (_request, reply, done) => {
    reply.headers(headers);
    done();
  });
}
