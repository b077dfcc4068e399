/** What the HTTP layer reads of a request for credentials: the bearer token (checked by directory/credentials.ts). */
export type RequestLike = { headers: Record<string, string | string[] | undefined>; ip?: string };
export type Reader = { kind: 'platform' } | { kind: 'agent'; agentId: string; businessUnitId: string };

export function bearerToken(request: RequestLike): string | undefined {
  const header = request.headers['authorization'];
  if (typeof header !== 'string') return undefined;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  return match?.[1];
}
