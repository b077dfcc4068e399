/**
 * The span export thread (docs/decisions.md, Tracing: "Spans are exported off the main thread"): takes the finished
 * spans the main thread posts (span-wire.ts), and hands them to the SDK's batching processor and OTLP/HTTP protobuf
 * exporter, which read the standard variables (OTEL_EXPORTER_OTLP_*, OTEL_BSP_*) from the environment this thread
 * shares with the process. The service's resource (service.name, OTEL_RESOURCE_ATTRIBUTES) is built here: only
 * exported spans carry it.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { TraceState } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { defaultResource, detectResources, envDetector, resourceFromAttributes } from '@opentelemetry/resources';
import { BatchSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { ATTR_SERVICE_NAME } from '@opentelemetry/semantic-conventions';
import { fromWire, type WireDecoding, type WireSpan } from './span-wire.js';

export type SpanExportWorkerData = { serviceName: string; scope: { name: string } };
export type ToSpanExport =
  { kind: 'spans'; spans: WireSpan[] } | { kind: 'flush'; id: number } | { kind: 'shutdown'; id: number };
export type FromSpanExport = { kind: 'done'; id: number; error?: string };

const { serviceName, scope } = workerData as SpanExportWorkerData;
const decoding: WireDecoding = {
  resource: defaultResource()
    .merge(detectResources({ detectors: [envDetector] }))
    .merge(resourceFromAttributes({ [ATTR_SERVICE_NAME]: serviceName })),
  scope,
  traceState: (serialized) => new TraceState(serialized),
};
const processor = new BatchSpanProcessor(new OTLPTraceExporter());

function answer(id: number, work: Promise<void>): void {
  work.then(
    () => parentPort!.postMessage({ kind: 'done', id } satisfies FromSpanExport),
    (error: unknown) =>
      parentPort!.postMessage({
        kind: 'done',
        id,
        error: (error as Error)?.message ?? String(error),
      } satisfies FromSpanExport),
  );
}

parentPort!.on('message', (message: ToSpanExport) => {
  switch (message.kind) {
    case 'spans':
      for (const span of message.spans) processor.onEnd(fromWire(span, decoding));
      return;
    case 'flush':
      return answer(message.id, processor.forceFlush());
    case 'shutdown':
      return answer(message.id, processor.shutdown());
  }
});
