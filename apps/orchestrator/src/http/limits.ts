/**
 * What one client can hold or ask of the HTTP server, with Fastify's own options and
 * maintained plugins: timeouts and a connection cap (Node's http server), a body limit per route, JSON only and
 * nested no deeper than HTTP_MAX_JSON_DEPTH, a rate limit per credential and per client address
 * (@fastify/rate-limit, 429 with Retry-After), and security headers (helmet, see security-headers.ts).
 */
import { BlockList, isIPv6 } from 'node:net';
import rateLimit from '@fastify/rate-limit';
import { DEFAULT_SECURITY_USER_VARIABLE, resolveInput } from '#contacts';
import { budgetAddress } from './client-address.js';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { HttpLimits } from '../config/configuration.js';
import { bearerToken } from './auth.js';
import { installSecurityHeaders } from './security-headers.js';

/** The two routes whose bodies may be larger: the Studio action (variables) and the bulk end (up to 1,000 IDs). */
const LARGE_BODY_ROUTES = new Set(['/v1/actions/end-a-contact', '/v1/contacts/end-batch']);
/** Never rate limited: probes and scrapes must answer whatever clients do. */
const UNLIMITED_ROUTES = new Set(['/health', '/metrics']);

/** Fastify's server options for the limits (given to the FastifyAdapter). */
export function serverOptions(limits: HttpLimits) {
  return {
    bodyLimit: limits.bodyLimitBytes,
    requestTimeout: limits.requestTimeoutMs,
    keepAliveTimeout: limits.keepAliveTimeoutMs,
    connectionTimeout: limits.idleTimeoutMs,
    maxRequestsPerSocket: limits.maxRequestsPerSocket,
    // Node checks request timeouts every connectionsCheckingInterval (30 s by default): often enough to honour them.
    http: { connectionsCheckingInterval: Math.max(100, Math.min(1_000, Math.floor(limits.requestTimeoutMs / 4))) },
  };
}

/**
 * True when arrays and objects nest deeper than `max` in a JSON text. One pass over the characters, strings
 * skipped, before any parsing: a deeply nested body is refused for the price of reading it once.
 */
export function nestsDeeperThan(json: string, max: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < json.length; i++) {
    const c = json.charCodeAt(i);
    if (inString) {
      if (c === 0x5c)
        i++; // backslash: the next character is escaped
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x7b || c === 0x5b) {
      if (++depth > max) return true;
    } else if (c === 0x7d || c === 0x5d) depth--;
  }
  return false;
}

export class JsonTooDeepError extends Error {
  readonly statusCode = 400;
  readonly code = 'JSON_TOO_DEEP';
  constructor(readonly max: number) {
    super(`body nests arrays and objects deeper than ${max} levels`);
  }
}

/** JSON only (anything else is 415), no deeper than `maxJsonDepth`; per-route body limits. Before routes exist. */
export function installBodyLimits(fastify: FastifyInstance, limits: HttpLimits): void {
  fastify.removeContentTypeParser('text/plain');
  const parseJson = fastify.getDefaultJsonParser('error', 'error');
  fastify.removeContentTypeParser('application/json');
  fastify.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    const text = typeof body === 'string' ? body : body.toString('utf8');
    if (nestsDeeperThan(text, limits.maxJsonDepth)) return done(new JsonTooDeepError(limits.maxJsonDepth), undefined);
    return parseJson(request, text, done);
  });
  fastify.addHook('onRoute', (route) => {
    route.bodyLimit ??= LARGE_BODY_ROUTES.has(route.url) ? limits.largeBodyLimitBytes : limits.bodyLimitBytes;
  });
}

/**
 * Node's requestTimeout answers 408 only while the headers are incomplete; a client that sends its headers and then
 * trickles (or stops sending) its body would hold the socket and the buffered body until the idle timeout. The
 * whole request, body included, must arrive within `requestTimeoutMs`: past it the answer is 408 and the socket
 * is closed.
 */
export function installBodyDeadline(fastify: FastifyInstance, requestTimeoutMs: number): void {
  fastify.addHook('onRequest', (request, reply, done) => {
    const raw = request.raw;
    const length = raw.headers['content-length'];
    const hasBody = (length !== undefined && length !== '0') || raw.headers['transfer-encoding'] !== undefined;
    if (hasBody && !raw.complete) {
      const timer = setTimeout(() => {
        if (raw.complete || reply.sent) return;
        reply.raw.once('finish', () => raw.socket?.destroy());
        void reply
          .code(408)
          .header('connection', 'close')
          .send({
            statusCode: 408,
            error: 'Request Timeout',
            message: `the request body did not arrive within ${requestTimeoutMs} ms (HTTP_REQUEST_TIMEOUT_MS)`,
            field: 'body',
          });
      }, requestTimeoutMs);
      raw.once('end', () => clearTimeout(timer));
      reply.raw.once('close', () => clearTimeout(timer));
    }
    done();
  });
}

/** Who a request counts against: its verified credential, else its client address. */
export type RateLimitKey = (request: FastifyRequest, token: string | undefined) => Promise<string | undefined>;

const limitedBy = new WeakMap<FastifyRequest, 'credential' | 'client address'>();

/** The Studio action carries its SecurityUser in the body (a literal, or a `{variable}` of the script's variables). */
const STUDIO_ACTION_ROUTE = '/v1/actions/end-a-contact';

/** The credential a request presents: its bearer token, or the Studio action's SecurityUser. */
export function presentedCredential(
  route: string | undefined,
  bearer: string | undefined,
  body: unknown,
): string | undefined {
  if (bearer !== undefined || route !== STUDIO_ACTION_ROUTE || typeof body !== 'object' || body === null) return bearer;
  const { SecurityUser, variables } = body as { SecurityUser?: unknown; variables?: unknown };
  const vars = typeof variables === 'object' && variables !== null ? (variables as Record<string, string>) : {};
  const input = typeof SecurityUser === 'string' ? SecurityUser : `{${DEFAULT_SECURITY_USER_VARIABLE}}`;
  const resolved = resolveInput(input, vars);
  return resolved.ok && typeof resolved.value === 'string' ? resolved.value : undefined;
}

/** The rate limit's key: the verified credential, else the client's address (IPv6 by its /64, client-address.ts). */
export const rateLimitKey = (credential: string | undefined, clientAddress: string): string =>
  credential ?? `address:${budgetAddress(clientAddress)}`;

/**
 * Rate limit (unless 0) and security headers; registered before the routes. The limit is counted once the body is
 * parsed (preHandler), so that the Studio action counts against the agent its body names, not against an address
 * every script behind one proxy shares.
 */
export async function registerLimitPlugins(
  app: NestFastifyApplication,
  limits: HttpLimits,
  credentialOf: RateLimitKey,
): Promise<void> {
  installSecurityHeaders(app.getHttpAdapter().getInstance());
  if (limits.rateLimitPerMinute === 0) return;
  await app.register(rateLimit, {
    global: true,
    hook: 'preHandler',
    max: limits.rateLimitPerMinute,
    timeWindow: 60_000,
    allowList: (request) => UNLIMITED_ROUTES.has(request.routeOptions.url ?? ''),
    keyGenerator: async (request) => {
      const credential = await credentialOf(
        request,
        presentedCredential(request.routeOptions.url, bearerToken(request), request.body),
      );
      limitedBy.set(request, credential === undefined ? 'client address' : 'credential');
      return rateLimitKey(credential, request.ip);
    },
    errorResponseBuilder: (request, context) => ({
      statusCode: 429,
      code: 'Too Many Requests',
      message: `more than ${context.max} requests a minute from this ${limitedBy.get(request) ?? 'client'}; retry after ${context.after}`,
    }),
  });
}

/** Whether an address is one of the proxies TRUST_PROXY names (an address or a CIDR block, IPv4 or IPv6). */
export function trustedProxy(proxies: readonly string[]): (address: string) => boolean {
  if (proxies.length === 0) return () => false;
  const list = new BlockList();
  for (const proxy of proxies) {
    const [address, bits] = proxy.split('/');
    const family = isIPv6(address!) ? 'ipv6' : 'ipv4';
    if (bits === undefined) list.addAddress(address!, family);
    else list.addSubnet(address!, Number(bits), family);
  }
  return (address) => {
    const plain = address.replace(/^::ffff:(\d+\.\d+\.\d+\.\d+)$/, '$1');
    return list.check(plain, isIPv6(plain) ? 'ipv6' : 'ipv4');
  };
}
