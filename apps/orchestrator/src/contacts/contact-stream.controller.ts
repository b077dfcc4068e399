/**
 * GET /v1/contacts/stream: Server-Sent Events of view changes, filtered to the reader's business unit.
 * Closed cleanly at shutdown so the server can stop.
 */
import { Controller, Get, HttpException, HttpStatus, Inject, Injectable, Req, Res } from '@nestjs/common';
import { ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import { Credential, readerOf } from '../http/credential.guard.js';
import { StoreFailures } from '../http/openapi.js';
import { Problem } from '../http/schemas.js';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { ServerResponse } from 'node:http';
import type { ContactView } from '#projections';
import { Credentials } from '../directory/credentials.js';
import { ViewsService } from '../read-side/views.service.js';
import type { AppConfig } from '../config/configuration.js';
import { APP_CONFIG } from '../infrastructure/tokens.js';

const MAX_BUFFERED_BYTES = 1024 * 1024;

@Injectable()
export class ContactStreams {
  private readonly open = new Set<ServerResponse>();
  private readonly perCredential = new Map<string, number>();

  /** Counts the stream against its credential; false when that credential already holds `max` streams. */
  add(response: ServerResponse, credential: string, max: number): boolean {
    const held = this.perCredential.get(credential) ?? 0;
    if (held >= max) return false;
    this.perCredential.set(credential, held + 1);
    this.open.add(response);
    response.on('close', () => {
      this.open.delete(response);
      const left = (this.perCredential.get(credential) ?? 1) - 1;
      if (left > 0) this.perCredential.set(credential, left);
      else this.perCredential.delete(credential);
    });
    return true;
  }

  closeAll(): void {
    for (const response of this.open) response.end();
    this.open.clear();
  }
}

@ApiTags('contacts')
@Controller('v1/contacts')
export class ContactStreamController {
  constructor(
    private readonly credentials: Credentials,
    private readonly views: ViewsService,
    private readonly streams: ContactStreams,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  @Get('stream')
  @ApiOperation({
    operationId: 'StreamContacts',
    summary: 'Live view changes as text/event-stream (event: contact, data: the contact view)',
  })
  @Credential('reader')
  @ApiResponse({
    status: 200,
    description: 'A stream of `event: contact` with the contact view as data',
    content: { 'text/event-stream': { schema: { type: 'string' } } },
  })
  @ApiResponse({
    status: 429,
    description: 'This credential already holds SSE_STREAMS_PER_CREDENTIAL open streams',
    schema: Problem,
  })
  @StoreFailures()
  async stream(@Req() request: FastifyRequest, @Res() reply: FastifyReply): Promise<void> {
    const reader = readerOf(request);
    const credential = reader.kind === 'platform' ? 'platform' : `agent:${reader.agentId}`;
    if (!this.streams.add(reply.raw, credential, this.config.http.streamsPerCredential)) {
      void reply.header('retry-after', String(Math.ceil(this.config.sseHeartbeatMs / 1000)));
      throw new HttpException(
        {
          error: 'Too Many Requests',
          message: `this credential already holds ${this.config.http.streamsPerCredential} open event streams (SSE_STREAMS_PER_CREDENTIAL)`,
        },
        HttpStatus.TOO_MANY_REQUESTS,
      );
    }
    reply.hijack();
    const raw = reply.raw;
    raw.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    });
    raw.write(`: connected at position ${this.views.checkpoint?.toString() ?? '0'}\n\n`);
    const unsubscribe = this.views.onChange((view: ContactView) => {
      if (reader.kind === 'agent' && view.businessUnitId !== reader.businessUnitId) return;
      // A client that stopped reading is disconnected rather than buffered without bound; it reconnects and
      // re-reads the view (the `id:` is the view position).
      if (raw.writableLength > MAX_BUFFERED_BYTES) {
        raw.destroy();
        return;
      }
      raw.write(`id: ${view.position}\nevent: contact\ndata: ${JSON.stringify(view)}\n\n`);
    });
    // An agent's credential is checked again at every heartbeat: deactivated, expired or moved, the stream ends.
    const heartbeat = setInterval(() => {
      raw.write(': heartbeat\n\n');
      if (reader.kind === 'agent') {
        this.credentials.requireReader(request).then(
          (now) => {
            if (now.kind !== 'agent' || now.businessUnitId !== reader.businessUnitId) raw.end();
          },
          () => raw.end(),
        );
      }
    }, this.config.sseHeartbeatMs);
    heartbeat.unref();
    raw.on('close', () => {
      clearInterval(heartbeat);
      unsubscribe();
    });
  }
}
