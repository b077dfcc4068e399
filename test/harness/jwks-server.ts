/**
 * A stand-in identity provider for tests: a real HTTP server on 127.0.0.1 (node:http) serving a JWKS of keys made by
 * jose's generateKeyPair, and signing SecurityUsers with them. Keys can be added and removed (a rotation), the server
 * can stop answering (`down`: every connection is cut; `hang`: no answer; `up` again), and it counts the key set
 * requests it got.
 */
import { createServer, type Server } from 'node:http';
import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK, type JWTPayload } from 'jose';

export type SigningAlgorithm = 'RS256' | 'ES256' | 'EdDSA';
export type ProviderKey = { kid: string; alg: SigningAlgorithm; privateKey: CryptoKey; publicKey: CryptoKey; jwk: JWK };

export const ISSUER = 'https://idp.example.test/tenant-1';
export const AUDIENCE = 'api://contact-orchestrator';

export class JwksServer {
  /** Key set requests answered or cut, since the start. */
  requests = 0;
  private readonly keys = new Map<string, ProviderKey>();
  private mode: 'answering' | 'cutting' | 'hanging' = 'answering';

  private constructor(
    private readonly server: Server,
    readonly url: string,
  ) {}

  static async start(): Promise<JwksServer> {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    const jwks = new JwksServer(server, `http://127.0.0.1:${port}/.well-known/jwks.json`);
    server.on('request', (request, response) => {
      if (request.url !== '/.well-known/jwks.json') return void response.writeHead(404).end();
      jwks.requests += 1;
      if (jwks.mode === 'cutting') return void request.socket.destroy();
      // Hanging: the request is read and never answered (stop() closes the socket).
      if (jwks.mode === 'hanging') return;
      const body = JSON.stringify({ keys: [...jwks.keys.values()].map((k) => k.jwk) });
      response.writeHead(200, { 'content-type': 'application/json' }).end(body);
    });
    return jwks;
  }

  /** A new key pair, published in the key set from now on. */
  async addKey(alg: SigningAlgorithm = 'RS256', kid = `${alg.toLowerCase()}-${randomUUID()}`): Promise<ProviderKey> {
    const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
    const jwk = { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' };
    const key = { kid, alg, privateKey, publicKey, jwk };
    this.keys.set(kid, key);
    return key;
  }

  /** The key leaves the published set (its tokens are refused once the service's key set is refreshed). */
  removeKey(key: ProviderKey): void {
    this.keys.delete(key.kid);
  }

  /** The provider stops answering: every request's connection is cut. */
  down(): void {
    this.mode = 'cutting';
  }

  /** The provider takes requests and never answers them (the service's timeout ends each). */
  hang(): void {
    this.mode = 'hanging';
  }

  up(): void {
    this.mode = 'answering';
  }

  /** A SecurityUser as the provider issues it: `sub` the agent, the configured issuer and audience, 5 minutes. */
  sign(
    key: ProviderKey,
    agentId: string,
    options: {
      claims?: JWTPayload;
      issuer?: string;
      audience?: string;
      expiresAt?: Date;
      kid?: string;
      now?: Date;
    } = {},
  ): Promise<string> {
    const now = options.now ?? new Date();
    return new SignJWT({ ...options.claims })
      .setProtectedHeader({ alg: key.alg, typ: 'JWT', kid: options.kid ?? key.kid })
      .setSubject(agentId)
      .setIssuer(options.issuer ?? ISSUER)
      .setAudience(options.audience ?? AUDIENCE)
      .setIssuedAt(Math.floor(now.getTime() / 1000))
      .setExpirationTime(options.expiresAt ?? new Date(now.getTime() + 300_000))
      .sign(key.privateKey);
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
