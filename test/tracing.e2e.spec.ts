/**
 * Traces end to end (docs/operations.md, "Pointing the service at a collector"): the built service exports to a real
 * OTLP receiver (Jaeger, test/harness/jaeger.ts) with a real broker. An end over HTTP with a `traceparent` header and
 * an end over Kafka with a `traceparent` record header each arrive as ONE trace: the command's span under the
 * caller's, its authentication, stream read and append under it, the forwarder's `create` span under the command,
 * and a consumer of the outcomes topic (this test, with its own tracer provider) continuing from the outcome record's
 * `traceparent` header.
 */
import { randomBytes } from 'node:crypto';
import { ROOT_CONTEXT, SpanKind, defaultTextMapGetter } from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import kafkajs from 'kafkajs';
import type { Consumer, Kafka as KafkaClient, Producer } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OrchestratorClient } from './harness/client.js';
import { startJaeger, traceListing, type Jaeger, type JaegerSpan, type JaegerTrace } from './harness/jaeger.js';
import { waitFor, withKafka } from './harness/suites.js';
import { removeDataDir, startServiceProcess, type ServiceProcess } from './harness/service.js';

const { Kafka, logLevel, Partitioners } = kafkajs;
const SUITE = 'tracing e2e';
const CONSUMER_SERVICE = 'outcomes-consumer (test)';

type Outcome = { contactId: string; type: string; headers: Record<string, string> };

await withKafka(SUITE, (broker) => {
  const suffix = `${Date.now()}-${randomBytes(3).toString('hex')}`;
  const topics = {
    outcomes: `e2e.outcomes.${suffix}`,
    checkpoints: `e2e.outcomes.checkpoints.${suffix}`,
    commands: `e2e.commands.${suffix}`,
    results: `e2e.command-results.${suffix}`,
    deadLetter: `e2e.dlq.${suffix}`,
  };
  let jaeger: Jaeger;
  let service: ServiceProcess;
  let api: OrchestratorClient;
  let kafka: KafkaClient;
  let producer: Producer;
  let consumer: Consumer;
  let consumerTracing: BasicTracerProvider;
  let bu: Awaited<ReturnType<OrchestratorClient['seedBusinessUnit']>>;
  const outcomes: Outcome[] = [];

  const newTraceparent = () => {
    const traceId = randomBytes(16).toString('hex');
    const spanId = randomBytes(8).toString('hex');
    return { traceId, spanId, traceparent: `00-${traceId}-${spanId}-01` };
  };

  /** What a consumer of contact.outcomes does: continue the trace its record's headers carry, in a span of its own. */
  const consume = async (outcome: Outcome): Promise<void> => {
    const parent = new W3CTraceContextPropagator().extract(ROOT_CONTEXT, outcome.headers, defaultTextMapGetter);
    const span = consumerTracing
      .getTracer('outcomes-consumer')
      .startSpan(`process ${topics.outcomes}`, { kind: SpanKind.CONSUMER }, parent);
    span.end();
    await consumerTracing.forceFlush();
  };

  /** Polls Jaeger until the trace holds every named span; answers it. */
  const traceWith = (traceId: string, names: string[]): Promise<JaegerTrace> =>
    waitFor(
      async () => {
        const found = await jaeger.trace(traceId);
        return found && names.every((name) => found.spans.some((s) => s.operationName === name)) ? found : undefined;
      },
      30_000,
      `trace ${traceId} with the spans ${names.join(', ')}`,
    ).catch(async (error: unknown) => {
      const found = await jaeger.trace(traceId);
      throw new Error(
        `${(error as Error).message}; Jaeger has ${found ? `\n${traceListing(found)}` : 'no span of it'}`,
      );
    });

  const span = (found: JaegerTrace, name: string): JaegerSpan => {
    const spans = found.spans.filter((s) => s.operationName === name);
    expect(spans, `one ${name} span in\n${traceListing(found)}`).toHaveLength(1);
    return spans[0]!;
  };
  const parentOf = (child: JaegerSpan): string | undefined =>
    child.references.find((r) => r.refType === 'CHILD_OF')?.spanID;
  const serviceOf = (found: JaegerTrace, s: JaegerSpan) => found.processes[s.processID]?.serviceName;

  /** The command span's children, the forwarder's span and the consumer's, as one tree under `command`. */
  const expectCommandTree = (found: JaegerTrace, command: JaegerSpan): void => {
    const listing = traceListing(found);
    for (const name of ['EndContact authenticate', 'EndContact read stream', 'EndContact append'])
      expect(parentOf(span(found, name)), `${name} under EndContact in\n${listing}`).toBe(command.spanID);
    const created = span(found, `create ${topics.outcomes}`);
    expect(parentOf(created), `the forwarder's span under EndContact in\n${listing}`).toBe(command.spanID);
    const consumed = span(found, `process ${topics.outcomes}`);
    expect(parentOf(consumed), `the consumer's span under the forwarder's in\n${listing}`).toBe(created.spanID);
    expect(serviceOf(found, command)).toBe('contact-orchestrator');
    expect(serviceOf(found, consumed)).toBe(CONSUMER_SERVICE);
    expect(new Set(found.spans.map((s) => s.traceID))).toEqual(new Set([found.traceID]));
  };

  const outcomeOf = (contactId: string) =>
    waitFor(
      () => outcomes.find((o) => o.contactId === contactId && o.type === 'ContactEnded'),
      30_000,
      `the ContactEnded outcome of ${contactId}`,
    );

  describe(`${SUITE} (${broker.source}, ${broker.brokers.join(',')})`, () => {
    beforeAll(async () => {
      // The first run builds Jaeger (scripts/otel/jaeger.sh; CI builds it before the tests): minutes, once.
      jaeger = await startJaeger();
      consumerTracing = new BasicTracerProvider({
        resource: resourceFromAttributes({ 'service.name': CONSUMER_SERVICE }),
        spanProcessors: [new SimpleSpanProcessor(new OTLPTraceExporter({ url: `${jaeger.otlpEndpoint}/v1/traces` }))],
      });
      kafka = new Kafka({ clientId: `e2e-${suffix}`, brokers: broker.brokers, logLevel: logLevel.NOTHING });
      service = await startServiceProcess({
        env: {
          KAFKA_BROKERS: broker.brokers.join(','),
          KAFKA_TOPIC_OUTCOMES: topics.outcomes,
          KAFKA_TOPIC_CHECKPOINTS: topics.checkpoints,
          KAFKA_TOPIC_COMMANDS: topics.commands,
          KAFKA_TOPIC_COMMAND_RESULTS: topics.results,
          KAFKA_TOPIC_DEAD_LETTER: topics.deadLetter,
          OTEL_EXPORTER_OTLP_ENDPOINT: jaeger.otlpEndpoint,
          OTEL_TRACES_SAMPLER: 'always_on',
          // Spans leave within 100 ms rather than the default 5 s.
          OTEL_BSP_SCHEDULE_DELAY: '100',
          // The Kafka consumer's "answered" line is a debug one: it shows the trace IDs in the log.
          LOG_LEVEL: 'debug',
        },
      });
      api = new OrchestratorClient(service.url, service.platformToken);
      bu = await api.seedBusinessUnit('bu-tracing');
      producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
      await producer.connect();
      consumer = kafka.consumer({ groupId: `e2e-tracing-${suffix}`, readUncommitted: false });
      await consumer.connect();
      await consumer.subscribe({ topic: topics.outcomes, fromBeginning: true });
      await consumer.run({
        eachMessage: async ({ message }) => {
          const headers: Record<string, string> = {};
          for (const [name, value] of Object.entries(message.headers ?? {}))
            if (value !== undefined) headers[name] = (Array.isArray(value) ? value[0]! : value).toString();
          const body = JSON.parse(message.value!.toString()) as { type: string; data: { contactId: string } };
          outcomes.push({ contactId: body.data.contactId, type: body.type, headers });
        },
      });
    }, 900_000);

    afterAll(async () => {
      await consumer?.disconnect();
      await producer?.disconnect();
      await consumerTracing?.shutdown();
      if (service) {
        await service.stop();
        removeDataDir(service.dataDir);
      }
      await jaeger?.stop();
    });

    it('an end over HTTP with a traceparent: one trace from the caller to the consumer of its outcome', async () => {
      const caller = newTraceparent();
      const contactId = await api.startContact('bu-tracing', 'Phone');
      const answer = await api.request('POST', `/v1/contacts/${contactId}/end`, {
        token: bu.ender,
        headers: { traceparent: caller.traceparent, tracestate: 'vendor=e2e' },
      });
      expect(answer.status).toBe(200);

      const outcome = await outcomeOf(contactId);
      expect(outcome.headers['traceparent']).toMatch(new RegExp(`^00-${caller.traceId}-[0-9a-f]{16}-01$`));
      expect(outcome.headers['tracestate']).toBe('vendor=e2e');
      await consume(outcome);

      const found = await traceWith(caller.traceId, [
        'EndContact',
        'EndContact authenticate',
        'EndContact read stream',
        'EndContact append',
        `create ${topics.outcomes}`,
        `process ${topics.outcomes}`,
      ]);
      const command = span(found, 'EndContact');
      expect(parentOf(command), 'EndContact continues the caller’s span').toBe(caller.spanId);
      expectCommandTree(found, command);
      // The record on the topic names the forwarder's span: that is what the consumer continued from.
      expect(outcome.headers['traceparent']).toBe(
        `00-${caller.traceId}-${span(found, `create ${topics.outcomes}`).spanID}-01`,
      );
    });

    it('an end over Kafka with a traceparent header: one trace from the producer to the consumer of its outcome', async () => {
      const caller = newTraceparent();
      const contactId = await api.startContact('bu-tracing', 'Phone');
      const commandId = `cmd-${randomBytes(6).toString('hex')}`;
      await producer.send({
        topic: topics.commands,
        messages: [
          {
            key: commandId,
            value: JSON.stringify({ commandId, contactId, securityUser: bu.ender }),
            headers: { traceparent: caller.traceparent },
          },
        ],
      });

      const outcome = await outcomeOf(contactId);
      expect(outcome.headers['traceparent']).toMatch(new RegExp(`^00-${caller.traceId}-[0-9a-f]{16}-01$`));
      await consume(outcome);

      const found = await traceWith(caller.traceId, [
        `process ${topics.commands}`,
        'EndContact',
        'EndContact authenticate',
        'EndContact read stream',
        'EndContact append',
        `create ${topics.outcomes}`,
        `process ${topics.outcomes}`,
      ]);
      const record = span(found, `process ${topics.commands}`);
      expect(parentOf(record), 'the record’s span continues the producer’s').toBe(caller.spanId);
      const command = span(found, 'EndContact');
      expect(parentOf(command)).toBe(record.spanID);
      expectCommandTree(found, command);
      // The log line written while the record's span was active carries its IDs.
      const logged = await waitFor(
        () =>
          service
            .output()
            .split('\n')
            .find((line) => line.includes('EndContact command answered') && line.includes(caller.traceId)),
        10_000,
        'a log line with the trace ID',
      );
      expect(JSON.parse(logged)).toMatchObject({ trace_id: caller.traceId, span_id: record.spanID });
    });

    it('the Studio action and the bulk end: a span for each, under the caller’s', async () => {
      const tagOf = (s: JaegerSpan, key: string) => s.tags.find((t) => t.key === key)?.value;
      const studio = newTraceparent();
      const studioContact = await api.startContact('bu-tracing', 'Phone');
      const action = await api.request('POST', '/v1/actions/end-a-contact', {
        token: null,
        headers: { traceparent: studio.traceparent },
        body: { SecurityUser: bu.ender, ContactID: studioContact },
      });
      expect(action.body).toMatchObject({ condition: 'OnSuccess' });
      const studioTrace = await traceWith(studio.traceId, ['EndContact', 'EndContact append']);
      const studioSpan = span(studioTrace, 'EndContact');
      expect(parentOf(studioSpan)).toBe(studio.spanId);
      expect(tagOf(studioSpan, 'contact_orchestrator.source')).toBe('studio-action');
      expect(tagOf(studioSpan, 'span.kind')).toBe('server');

      const batch = newTraceparent();
      const contacts = [await api.startContact('bu-tracing', 'Phone'), await api.startContact('bu-tracing', 'Phone')];
      const ended = await api.request('POST', '/v1/contacts/end-batch', {
        token: bu.ender,
        headers: { traceparent: batch.traceparent },
        body: { contactIds: contacts },
      });
      expect(ended.status, JSON.stringify(ended.body)).toBe(200);
      const batchTrace = await waitFor(
        async () => {
          const found = await jaeger.trace(batch.traceId);
          return found && found.spans.filter((s) => s.operationName === 'EndContact append').length === 2
            ? found
            : undefined;
        },
        30_000,
        `the bulk end's trace ${batch.traceId} with two appends`,
      );
      const batchSpan = span(batchTrace, 'EndContactBatch');
      expect(parentOf(batchSpan)).toBe(batch.spanId);
      const ends = batchTrace.spans.filter((s) => s.operationName === 'EndContact');
      expect(ends.map((s) => tagOf(s, 'contact_orchestrator.contact_id')).sort()).toEqual([...contacts].sort());
      for (const end of ends) expect(parentOf(end), traceListing(batchTrace)).toBe(batchSpan.spanID);
    });

    it('the forwarder’s transaction is a span of its own, linked to the commands it carried', async () => {
      const caller = newTraceparent();
      const contactId = await api.startContact('bu-tracing', 'Phone');
      expect(
        (
          await api.request('POST', `/v1/contacts/${contactId}/end`, {
            token: bu.ender,
            headers: { traceparent: caller.traceparent },
          })
        ).status,
      ).toBe(200);
      const found = await traceWith(caller.traceId, ['EndContact']);
      const command = span(found, 'EndContact');
      await outcomeOf(contactId);
      // The send span is in its own trace: found through Jaeger's search by operation, then by its link.
      const sendName = `send ${topics.outcomes}`;
      await waitFor(
        async () => {
          const url = `${jaeger.queryUrl}/api/traces?service=contact-orchestrator&operation=${encodeURIComponent(sendName)}&limit=100&lookback=1h`;
          const body = (await (await fetch(url)).json()) as { data: JaegerTrace[] };
          return body.data
            .flatMap((t) => t.spans)
            .some((s) =>
              s.references.some(
                (r) => r.refType === 'FOLLOWS_FROM' && r.spanID === command.spanID && r.traceID === caller.traceId,
              ),
            );
        },
        30_000,
        `a ${sendName} span linked to EndContact ${command.spanID}`,
      );
    });
    it('a graceful stop exports the spans still buffered', async () => {
      // A schedule delay far beyond the test: only the shutdown's flush can export this end's spans.
      const alone = await startServiceProcess({
        env: {
          OTEL_EXPORTER_OTLP_ENDPOINT: jaeger.otlpEndpoint,
          OTEL_TRACES_SAMPLER: 'always_on',
          OTEL_BSP_SCHEDULE_DELAY: '600000',
        },
      });
      try {
        const client = new OrchestratorClient(alone.url, alone.platformToken);
        const agents = await client.seedBusinessUnit('bu-flush');
        const contactId = await client.startContact('bu-flush', 'Phone');
        const caller = newTraceparent();
        const answer = await client.request('POST', `/v1/contacts/${contactId}/end`, {
          token: agents.ender,
          headers: { traceparent: caller.traceparent },
        });
        expect(answer.status).toBe(200);
        expect(await jaeger.trace(caller.traceId)).toBeUndefined();
        expect(await alone.stop()).toBe(0);
        const found = await traceWith(caller.traceId, ['EndContact', 'EndContact append']);
        expect(parentOf(span(found, 'EndContact'))).toBe(caller.spanId);
      } finally {
        await alone.kill();
        removeDataDir(alone.dataDir);
      }
    }, 60_000);
  });
});
