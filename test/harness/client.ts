/** A small typed HTTP client of the service for tests, the demo and benchmarks (global fetch, no mocks). */
export type Answer<T = Record<string, unknown>> = { status: number; body: T; headers: Headers };

export class OrchestratorClient {
  constructor(
    readonly url: string,
    readonly platformToken: string,
  ) {}

  async request<T = Record<string, unknown>>(
    method: string,
    path: string,
    options: { token?: string | null; body?: unknown; rawBody?: string; headers?: Record<string, string> } = {},
  ): Promise<Answer<T>> {
    const headers: Record<string, string> = { ...options.headers };
    const token = options.token === undefined ? this.platformToken : options.token;
    if (token !== null) headers['authorization'] = `Bearer ${token}`;
    let payload: string | undefined;
    if (options.rawBody !== undefined) payload = options.rawBody;
    else if (options.body !== undefined) payload = JSON.stringify(options.body);
    if (payload !== undefined && headers['content-type'] === undefined) headers['content-type'] = 'application/json';
    const response = await fetch(`${this.url}${path}`, {
      method,
      headers,
      ...(payload !== undefined ? { body: payload } : {}),
    });
    const text = await response.text();
    const body = (
      text.length > 0 && (response.headers.get('content-type') ?? '').includes('json') ? JSON.parse(text) : text
    ) as T;
    return { status: response.status, body, headers: response.headers };
  }

  putProfile(profileId: string, permissions: string[], name = profileId) {
    return this.request('PUT', `/v1/security-profiles/${profileId}`, { body: { name, permissions } });
  }

  putAgent(agentId: string, businessUnitId: string, securityProfileId: string, active = true) {
    return this.request('PUT', `/v1/agents/${agentId}`, { body: { businessUnitId, securityProfileId, active } });
  }

  async securityUser(agentId: string): Promise<string> {
    const answer = await this.request<{ securityUser: string }>('POST', '/v1/security-users', { body: { agentId } });
    if (answer.status !== 201)
      throw new Error(`SetSecurityUser for ${agentId} answered ${answer.status}: ${JSON.stringify(answer.body)}`);
    return answer.body.securityUser;
  }

  async startContact(businessUnitId: string, mediaType: string, contactId?: string): Promise<string> {
    const answer = await this.request<{ contactId: string }>('POST', '/v1/contacts', {
      body: { businessUnitId, mediaType, ...(contactId !== undefined ? { contactId } : {}) },
    });
    if (answer.status !== 201)
      throw new Error(`POST /v1/contacts answered ${answer.status}: ${JSON.stringify(answer.body)}`);
    return answer.body.contactId;
  }

  endContact(
    contactId: string,
    securityUser: string | null,
    options: { idempotencyKey?: string; body?: unknown } = {},
  ) {
    return this.request<{
      contactId: string;
      branch: string;
      outputs?: Record<string, string>;
      endedAt?: string;
      position?: string;
      error?: { code: string; message: string };
    }>('POST', `/v1/contacts/${encodeURIComponent(contactId)}/end`, {
      token: securityUser,
      ...(options.body !== undefined ? { body: options.body } : {}),
      headers: options.idempotencyKey ? { 'idempotency-key': options.idempotencyKey } : {},
    });
  }

  studioAction(body: Record<string, unknown>) {
    return this.request<{
      branch: string;
      condition: string;
      outputs: Record<string, string>;
      error?: { code: string; message: string };
    }>('POST', '/v1/actions/end-a-contact', {
      token: null,
      body,
    });
  }

  /** A business unit with an ender (End+View), a viewer (View only) and an inactive agent; their SecurityUsers. */
  async seedBusinessUnit(
    businessUnitId: string,
  ): Promise<{ ender: string; viewer: string; enderId: string; viewerId: string; inactiveId: string }> {
    await this.putProfile('ender', ['Contacts.End', 'Contacts.View']);
    await this.putProfile('viewer', ['Contacts.View']);
    const enderId = `${businessUnitId}-ender`;
    const viewerId = `${businessUnitId}-viewer`;
    const inactiveId = `${businessUnitId}-inactive`;
    await this.putAgent(enderId, businessUnitId, 'ender');
    await this.putAgent(viewerId, businessUnitId, 'viewer');
    await this.putAgent(inactiveId, businessUnitId, 'ender', false);
    return {
      ender: await this.securityUser(enderId),
      viewer: await this.securityUser(viewerId),
      enderId,
      viewerId,
      inactiveId,
    };
  }
}
