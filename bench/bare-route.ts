/**
 * The baseline of the HTTP row: a bare Fastify POST route of the same shape as EndContact, doing no work, in its
 * own process like the service (so both get one event loop of their own). Prints `BARE_URL=...` when listening.
 */
import Fastify from 'fastify';

const app = Fastify({ logger: false });
app.post<{ Params: { contactId: string } }>('/v1/contacts/:contactId/end', async (request) => ({
  contactId: request.params.contactId,
  branch: 'OnSuccess',
  outputs: { __DISCONNECTREASON: 'TerminateScript' },
  endedAt: new Date().toISOString(),
}));
const url = await app.listen({ host: '127.0.0.1', port: 0 });
process.stdout.write(`BARE_URL=${url}\n`);
// The bench ends this process with SIGTERM; close so in-flight answers finish.
process.once('SIGTERM', () => void app.close().then(() => process.exit(0)));
