/**
 * Builds and starts the service: configuration validated first (a wrong value stops it with a message naming the
 * variable), embedded secrets, Fastify with the HTTP limits of http/limits.ts, OpenAPI at /docs, graceful shutdown.
 */
import type { Socket } from 'node:net';
import 'reflect-metadata';
import { randomUUID } from 'node:crypto';
import { isMainThread } from 'node:worker_threads';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { SwaggerModule } from '@nestjs/swagger';
import { Reflector } from '@nestjs/core';
import { AppModule } from './app.module.js';
import { ConfigurationError, loadConfiguration, type AppConfig } from './config/configuration.js';
import { ensureEmbeddedSecrets, type Secrets } from './config/embedded-secrets.js';
import { prepareDataDir, SERVICE_UMASK } from './config/data-dir.js';
import { ErrorsFilter } from './http/errors.filter.js';
import { ConnectionsPerAddress } from './http/client-address.js';
import {
  installBodyDeadline,
  installBodyLimits,
  registerLimitPlugins,
  serverOptions,
  trustedProxy,
} from './http/limits.js';
import { Credentials } from './directory/credentials.js';
import { DirectoryService } from './directory/directory.service.js';
import { RouteTable } from './http/route-table.js';
import { buildDocument } from './http/openapi.js';
import { RequestGuard } from './http/request.guard.js';
import { Logger } from 'nestjs-pino';
import { createLogger, type AppLogger } from './infrastructure/logger.js';
import { installRequestLog } from './observability/request-log.js';
import type { RequestLike } from './http/auth.js';
import { correlationHeaderOf } from './http/command-context.js';
import { eventStoreAdapter, type StoreCapabilities } from './infrastructure/event-store.provider.js';
import { STORE_CAPABILITIES } from './infrastructure/tokens.js';
import { ViewsService } from './read-side/views.service.js';
import { startTracing, tracesEndpoint } from './observability/tracing.js';

export type RunningService = {
  app: NestFastifyApplication;
  config: AppConfig;
  secrets: Secrets;
  url: string;
  logger: AppLogger;
  /** Graceful stop: no new requests, in-flight commands finish, then subscriptions and stores close. */
  close: () => Promise<void>;
  /**
   * Resolves, naming it, when a worker thread (the SQLite writer, the views) stops without being asked to. /health
   * answers 503 naming it from then on; main.ts then shuts down and exits non-zero (docs/decisions.md, Operations).
   */
  workerStopped: Promise<string>;
};

/** The embedded secrets under DATA_DIR; a DATA_DIR that cannot hold them is a configuration error naming it. */
function embeddedSecrets(config: AppConfig): Secrets {
  try {
    return ensureEmbeddedSecrets(config.dataDir, config);
  } catch (error) {
    throw new ConfigurationError(
      'DATA_DIR',
      `${JSON.stringify(config.dataDir)} cannot hold secrets.json: ${(error as Error).message}`,
    );
  }
}

export async function startService(env: Record<string, string | undefined> = process.env): Promise<RunningService> {
  const config = loadConfiguration(env);
  const logger = createLogger(config.logLevel);
  // Off (nothing loaded) unless an OTLP endpoint is set; the last thing to close (docs/operations.md).
  const tracing = await startTracing(env, {
    onExportFailure: (error) =>
      logger.error({ err: error }, 'tracing: the span export thread failed; no span is exported'),
  });
  if (tracing.enabled)
    logger.info(
      { endpoint: tracesEndpoint(env), serviceName: env.OTEL_SERVICE_NAME || 'contact-orchestrator' },
      'tracing: exporting spans over OTLP',
    );
  // Everything the service creates (the SQLite files, their WAL and SHM, secrets.json) is 0600 in a 0700 DATA_DIR.
  // (The umask is process-wide and only the main thread may set it; a service started in a worker keeps its own.)
  if (isMainThread) process.umask(SERVICE_UMASK);
  // Checked before anything in it is read (secrets.json) or opened (the SQLite files): see data-dir.ts.
  try {
    prepareDataDir(config.dataDir);
  } catch (error) {
    throw new ConfigurationError(
      'DATA_DIR',
      `${JSON.stringify(config.dataDir)} is refused: ${(error as Error).message}`,
    );
  }
  const secrets = eventStoreAdapter(config).secretsInDataDir
    ? embeddedSecrets(config)
    : {
        platformToken: config.platformToken!,
        securityUserSigningKeys: config.securityUserSigningKeys!,
        generatedPlatformToken: false,
      };
  if (secrets.generatedPlatformToken) {
    // Printed once, when generated; it is kept in DATA_DIR/secrets.json (mode 0600) for later starts.
    process.stdout.write(
      `PLATFORM_TOKEN=${secrets.platformToken}   (generated, saved in ${config.dataDir}/secrets.json)\n`,
    );
  }
  if (!config.kafkaBrokers) logger.info('KAFKA_BROKERS is not set: outcomes are not fanned out to Kafka');

  const app = await NestFactory.create<NestFastifyApplication>(
    AppModule.register({ config, secrets, logger }),
    // IDs in paths may be up to 128 characters (IDENTIFIER); longer ones get a 400 naming the field, not a 414.
    new FastifyAdapter({
      ...serverOptions(config.http),
      // Only the proxies TRUST_PROXY names may say who the client is (X-Forwarded-For); by default none.
      trustProxy: config.http.trustProxy.length > 0 ? config.http.trustProxy : false,
      // No Nest middleware here: without middie no request pays for running an empty middleware chain.
      skipMiddie: true,
      routerOptions: { maxParamLength: 4096 },
      // The request ID is the correlation ID: X-Correlation-Id when the caller sent one, else a new UUID.
      genReqId: (request: { headers: RequestLike['headers'] }) => correlationHeaderOf(request.headers) ?? randomUUID(),
    }),
    // bodyParser: false keeps Nest from adding a form (urlencoded) parser: bodies are JSON only (installBodyLimits).
    { bufferLogs: true, abortOnError: false, bodyParser: false },
  );
  app.useLogger(app.get(Logger));
  // Every route, as Fastify registers it: a method a known path does not have is then 405 with Allow.
  const routes = new RouteTable();
  app
    .getHttpAdapter()
    .getInstance()
    .addHook('onRoute', (route) => routes.add(route.method, route.url));
  app.useGlobalFilters(new ErrorsFilter(logger, routes));
  app.useGlobalGuards(new RequestGuard(app.get(Reflector), app.get(Credentials)));
  const fastify = app.getHttpAdapter().getInstance();
  installBodyLimits(fastify, config.http);
  installBodyDeadline(fastify, config.http.requestTimeoutMs);
  const credentials = app.get(Credentials);
  const directory = app.get(DirectoryService);
  await registerLimitPlugins(app, config.http, async (_request, token) => {
    if (token === undefined) return undefined;
    if (credentials.isPlatform(token)) return 'platform';
    const agentId = await directory.verifiedAgentId(token);
    return agentId === undefined ? undefined : `agent:${agentId}`;
  });
  installRequestLog(fastify, logger);
  // During shutdown every answer closes its connection, so kept-alive client sockets do not hold the server open.
  let draining = false;
  fastify.addHook('onSend', (_request, reply, payload, done) => {
    if (draining) void reply.header('connection', 'close');
    done(null, payload);
  });
  const close = async (): Promise<void> => {
    draining = true;
    try {
      await app.close();
    } finally {
      // Every span is ended once the application closed (the forwarder's last transaction included): flush them.
      await tracing.shutdown().catch((error: unknown) => logger.warn({ err: error }, 'tracing: spans not flushed'));
    }
  };
  const workerStopped = Promise.race([
    app.get<StoreCapabilities>(STORE_CAPABILITIES).stopped(),
    app.get(ViewsService).failed(),
  ]);
  const document = buildDocument(app, { metricsOpen: config.metricsToken === undefined });
  SwaggerModule.setup('docs', app, document);
  // Bootstraps the application (app.module.ts, Lifecycle: the views, the fan-out, the Kafka commands consumer) before
  // HTTP listens: a Kafka that refuses the service stops the start.
  await app.init();
  await app.listen(config.port, config.host).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'EADDRINUSE' || error.code === 'EACCES')
      throw new ConfigurationError('PORT', `${config.port} cannot be used on ${config.host}: ${error.code}`);
    if (error.code === 'ENOTFOUND' || error.code === 'EADDRNOTAVAIL' || error.code === 'EAI_AGAIN') {
      throw new ConfigurationError(
        'HOST',
        `${JSON.stringify(config.host)} is not an address of this machine: ${error.code}`,
      );
    }
    throw error;
  });
  app.getHttpServer().maxConnections = config.http.maxConnections;
  const perAddress = new ConnectionsPerAddress(
    config.http.maxConnectionsPerAddress,
    trustedProxy(config.http.trustProxy),
  );
  app.getHttpServer().on('connection', (socket: Socket) => {
    const { admitted, release } = perAddress.admit(socket.remoteAddress ?? '');
    if (!admitted) socket.destroy();
    else socket.once('close', release);
  });
  const address = app.getHttpServer().address();
  const port = typeof address === 'object' && address ? address.port : config.port;
  const url = `http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${port}`;
  logger.info({ url, eventStore: config.eventStore, dataDir: config.dataDir }, 'contact-orchestrator listening');
  return { app, config, secrets, url, logger, close, workerStopped };
}
