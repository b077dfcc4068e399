/**
 * GET /v1/audit/events: the log as NDJSON (docs/design.md, Audit and replay). The next page is read only once the client took the previous
 * one (the socket drained), so a client that stops reading holds one page and the socket's buffer, never the range.
 */
import {
  BeforeApplicationShutdown,
  Controller,
  ForbiddenException,
  Get,
  HttpException,
  HttpStatus,
  Inject,
  Injectable,
  Query,
  Req,
  Res,
} from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { ServerResponse } from 'node:http';
import type { EventStore } from '#event-store';
import { errorMessage } from '#runtime';
import { PLATFORM_SCHEME, SECURITY_USER_SCHEME } from '../directory/credential.guard.js';
import { StoreFailures } from '../http/openapi.js';
import { AuditQuery, Problem, type Static } from '../http/schemas.js';
import { Input, InvalidInputError } from '../http/validation.js';
import type { AppConfig } from '../config/configuration.js';
import type { StoreCapabilities } from '../infrastructure/event-store.provider.js';
import type { AppLogger } from '../infrastructure/logger.js';
import { APP_CONFIG, EVENT_STORE, LOGGER, STORE_CAPABILITIES } from '../infrastructure/tokens.js';
import { parsePointInTime, type PointInTime } from '../read-side/point-in-time.js';
import { auditLines, exportEnd, pagesOf, type AuditFilter, type LogPages } from './audit-events.js';
import { SqliteLogPages } from './sqlite-log-pages.js';
import { Auditors } from './auditor.js';

/** Lines are written in chunks of about this size: one socket write per chunk, not per line. */
const CHUNK_BYTES = 64 * 1024;

/** Open exports, ended at shutdown so the HTTP server can close. */
@Injectable()
export class AuditExports implements BeforeApplicationShutdown {
  private readonly open = new Map<ServerResponse, string>();

  /**
   * Counts an export against its credential and against all, or says which cap it would pass: each export holds a
   * connection, a log reader and a scan of the log for as long as its client reads (or does not).
   */
  admit(credential: string, perCredential: number, atOnce: number): 'credential' | 'service' | undefined {
    if (this.open.size >= atOnce) return 'service';
    let mine = 0;
    for (const holder of this.open.values()) if (holder === credential) mine++;
    return mine >= perCredential ? 'credential' : undefined;
  }

  add(response: ServerResponse, credential: string): void {
    this.open.set(response, credential);
    response.on('close', () => this.open.delete(response));
  }

  beforeApplicationShutdown(): void {
    // Cut, not ended: an export that did not reach its end must not look complete to the client.
    for (const response of this.open.keys()) response.destroy();
    this.open.clear();
  }
}

/** Seconds a refused export is told to wait: exports are long, a client should not come back at once. */
const EXPORT_RETRY_AFTER_SECONDS = 30;

@ApiTags('audit')
@Controller('v1/audit')
export class AuditController {
  constructor(
    private readonly auditors: Auditors,
    private readonly exports: AuditExports,
    @Inject(EVENT_STORE) private readonly store: EventStore,
    @Inject(STORE_CAPABILITIES) private readonly capabilities: StoreCapabilities,
    @Inject(LOGGER) private readonly logger: AppLogger,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  @Get('events')
  @ApiOperation({
    summary:
      'Every event in log order as NDJSON, one {position, recordedAt, streamId, type, data, metadata} a line (platform, or Audit.Read for its business unit)',
  })
  @ApiBearerAuth(PLATFORM_SCHEME)
  @ApiBearerAuth(SECURITY_USER_SCHEME)
  @Input({ query: AuditQuery, credentialFirst: true })
  @ApiResponse({
    status: 200,
    description: 'One JSON object a line',
    content: { 'application/x-ndjson': { schema: { type: 'string' } } },
  })
  @ApiResponse({ status: 400, description: 'A malformed parameter, named', schema: Problem })
  @ApiResponse({ status: 401, description: 'No credential, or not a valid one', schema: Problem })
  @ApiResponse({
    status: 403,
    description: 'A SecurityUser without Audit.Read, or asking for another business unit',
    schema: Problem,
  })
  @ApiResponse({
    status: 429,
    description:
      'AUDIT_EXPORTS_PER_CREDENTIAL exports of this credential, or AUDIT_EXPORTS_AT_ONCE in all, already run; Retry-After says when to try again',
    schema: Problem,
  })
  @StoreFailures()
  async events(
    @Req() request: FastifyRequest,
    @Res() reply: FastifyReply,
    @Query() input: Static<typeof AuditQuery>,
  ): Promise<void> {
    const auditor = await this.auditors.require(request);
    const credential = auditor.kind === 'platform' ? 'platform' : `agent:${auditor.agentId}`;
    const { exportsPerCredential, exportsAtOnce } = this.config.http;
    const refused = this.exports.admit(credential, exportsPerCredential, exportsAtOnce);
    if (refused) {
      void reply.header('retry-after', String(EXPORT_RETRY_AFTER_SECONDS));
      throw new HttpException(
        {
          error: 'Too Many Requests',
          message:
            refused === 'credential'
              ? `this credential already runs ${exportsPerCredential} audit exports (AUDIT_EXPORTS_PER_CREDENTIAL)`
              : `the service already runs ${exportsAtOnce} audit exports (AUDIT_EXPORTS_AT_ONCE)`,
        },
        HttpStatus.TOO_MANY_REQUESTS,
      );
    }
    const filter: AuditFilter = {
      ...(input.from !== undefined ? { from: point(input.from, 'from') } : {}),
      ...(input.to !== undefined ? { to: point(input.to, 'to') } : {}),
      ...(input.businessUnitId !== undefined ? { businessUnitId: input.businessUnitId } : {}),
      ...(input.agentId !== undefined ? { agentId: input.agentId } : {}),
      ...(input.contactId !== undefined ? { contactId: input.contactId } : {}),
      ...(input.type !== undefined ? { type: input.type } : {}),
    };
    if (auditor.kind === 'agent') {
      if (filter.businessUnitId !== undefined && filter.businessUnitId !== auditor.businessUnitId) {
        throw new ForbiddenException(`businessUnitId must be your own business unit (${auditor.businessUnitId})`);
      }
      filter.businessUnitId = auditor.businessUnitId;
      filter.contactEventsOnly = true;
    }
    // The embedded log is read as stored text (flat memory on a large export); another store through the port.
    const { embeddedLog } = this.capabilities;
    const pages = embeddedLog ? new SqliteLogPages(embeddedLog.file, this.config.storeTimeoutMs) : undefined;
    const log: LogPages = pages ?? pagesOf(this.store);
    try {
      // Read before answering: a store that cannot be reached is still a 503 with a body.
      const end = await exportEnd(log, filter);
      reply.hijack();
      const raw = reply.raw;
      raw.writeHead(200, { 'content-type': 'application/x-ndjson; charset=utf-8', 'cache-control': 'no-store' });
      this.exports.add(raw, credential);
      await this.stream(raw, auditLines(log, filter, end), end, auditor.kind);
    } finally {
      pages?.close();
    }
  }

  private async stream(
    raw: ServerResponse,
    lines: AsyncGenerator<string>,
    end: bigint,
    auditor: string,
  ): Promise<void> {
    let written = 0;
    let chunk = '';
    try {
      for await (const line of lines) {
        chunk += `${line}\n`;
        written++;
        if (chunk.length < CHUNK_BYTES) continue;
        if (!(await write(raw, chunk))) break;
        chunk = '';
      }
      if (!raw.destroyed) {
        raw.end(chunk);
        this.logger.info({ lines: written, end: end.toString(), auditor }, 'audit export finished');
        return;
      }
      this.logger.info({ lines: written, end: end.toString(), auditor }, 'audit export stopped: the client went away');
    } catch (error) {
      // Headers are sent: cutting the connection is how the client learns the export is incomplete.
      this.logger.error({ lines: written, err: errorMessage(error) }, 'audit export failed');
      raw.destroy();
    } finally {
      await lines.return(undefined);
    }
  }
}

function point(value: string, name: string): PointInTime {
  const parsed = parsePointInTime(value);
  if (parsed === undefined) throw new InvalidInputError(name, 'must be a log position or an ISO-8601 time that exists');
  return parsed;
}

/** Writes, then waits for the socket to drain if its buffer is full; false once the client is gone. */
function write(raw: ServerResponse, chunk: string): Promise<boolean> {
  if (raw.destroyed) return Promise.resolve(false);
  if (raw.write(chunk)) return Promise.resolve(true);
  return new Promise((resolve) => {
    const done = (drained: boolean) => () => {
      raw.off('drain', onDrain);
      raw.off('close', onClose);
      resolve(drained);
    };
    const onDrain = done(true);
    const onClose = done(false);
    raw.once('drain', onDrain);
    raw.once('close', onClose);
  });
}
