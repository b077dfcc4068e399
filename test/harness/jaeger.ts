/**
 * A real OTLP receiver for the tracing tests: Jaeger v1.75.0 (cmd/jaeger, built on the OpenTelemetry collector) as
 * built by scripts/otel/jaeger.sh, on 127.0.0.1 free ports with in-memory storage. Spans arrive over OTLP/HTTP and
 * are read back by trace ID from its query API (`GET /api/traces/{traceId}`).
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ROOT, freePort } from './service.js';

export type JaegerSpan = {
  traceID: string;
  spanID: string;
  operationName: string;
  references: Array<{ refType: string; traceID: string; spanID: string }>;
  startTime: number;
  duration: number;
  processID: string;
  tags: Array<{ key: string; type: string; value: unknown }>;
};
export type JaegerTrace = {
  traceID: string;
  spans: JaegerSpan[];
  processes: Record<string, { serviceName: string }>;
};

export type Jaeger = {
  /** OTEL_EXPORTER_OTLP_ENDPOINT for a service: OTLP over HTTP (`/v1/traces` is appended by the exporter). */
  otlpEndpoint: string;
  /** The receiver's process, to read what it costs (bench:tracing reads its CPU time). */
  pid: number | undefined;
  queryUrl: string;
  /** The trace as Jaeger has it now, or undefined when it has none of its spans yet. */
  trace(traceId: string): Promise<JaegerTrace | undefined>;
  output(): string;
  stop(): Promise<void>;
};

/** Builds (once, cached) or finds the binary: scripts/otel/jaeger.sh prints its path. */
export async function jaegerBinary(): Promise<string> {
  const { stdout } = await promisify(execFile)('bash', [join(ROOT, 'scripts/otel/jaeger.sh')], {
    cwd: ROOT,
    maxBuffer: 16 * 1024 * 1024,
  });
  return stdout.trim().split('\n').pop()!;
}

function configYaml(ports: { otlp: number; query: number; queryGrpc: number }): string {
  return `service:
  extensions: [jaeger_storage, jaeger_query]
  pipelines:
    traces:
      receivers: [otlp]
      processors: []
      exporters: [jaeger_storage_exporter]
  telemetry:
    metrics:
      level: none
    logs:
      level: warn
extensions:
  jaeger_storage:
    backends:
      memory_store:
        memory:
          max_traces: 100000
  jaeger_query:
    storage:
      traces: memory_store
    http:
      endpoint: 127.0.0.1:${ports.query}
    grpc:
      endpoint: 127.0.0.1:${ports.queryGrpc}
receivers:
  otlp:
    protocols:
      http:
        endpoint: 127.0.0.1:${ports.otlp}
exporters:
  jaeger_storage_exporter:
    trace_storage: memory_store
`;
}

/** Starts Jaeger and resolves once both its OTLP receiver and its query API answer. */
export async function startJaeger(binary?: string, options: { nice?: number } = {}): Promise<Jaeger> {
  const bin = binary ?? (await jaegerBinary());
  const ports = { otlp: await freePort(), query: await freePort(), queryGrpc: await freePort() };
  const dir = mkdtempSync(join(tmpdir(), 'co-jaeger-'));
  const config = join(dir, 'config.yaml');
  writeFileSync(config, configYaml(ports));
  // With `nice`, the receiver yields the CPU to whatever it shares the machine with (nice execs it: same pid).
  const [command, args] =
    options.nice === undefined
      ? [bin, ['--config', config]]
      : ['nice', ['-n', String(options.nice), bin, '--config', config]];
  const child: ChildProcess = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], cwd: dir });
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const otlpEndpoint = `http://127.0.0.1:${ports.otlp}`;
  const queryUrl = `http://127.0.0.1:${ports.query}`;
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      await exited;
    }
    rmSync(dir, { recursive: true, force: true });
  };

  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null)
      throw new Error(`jaeger exited with ${child.exitCode} before it was ready:\n${output}`);
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`jaeger did not answer within 60 s:\n${output}`);
    }
    const ready = await Promise.all([
      answers(`${queryUrl}/api/services`, { method: 'GET' }),
      // An empty export request: the receiver answers 200 once it listens.
      answers(`${otlpEndpoint}/v1/traces`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '{}',
      }),
    ]);
    if (ready.every(Boolean)) break;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }

  return {
    otlpEndpoint,
    pid: child.pid,
    queryUrl,
    output: () => output,
    stop,
    async trace(traceId) {
      const response = await fetch(`${queryUrl}/api/traces/${traceId}`, { signal: AbortSignal.timeout(5_000) });
      if (response.status === 404) return undefined;
      if (!response.ok)
        throw new Error(`GET /api/traces/${traceId} answered ${response.status}: ${await response.text()}`);
      const body = (await response.json()) as { data?: JaegerTrace[] };
      return body.data?.[0];
    },
  };
}

async function answers(url: string, init: RequestInit): Promise<boolean> {
  try {
    const response = await fetch(url, { ...init, signal: AbortSignal.timeout(1_000) });
    await response.arrayBuffer();
    return response.ok;
  } catch {
    return false;
  }
}

// Start times may tie (the SDK's clock rounds to the millisecond here): the one that ended first is listed first.
const byStart = (a: JaegerSpan, b: JaegerSpan): number =>
  a.startTime - b.startTime || a.startTime + a.duration - (b.startTime + b.duration);

/**
 * A compact listing of a trace (docs/operations.md shows one): one line per span, children indented under their
 * parent, with the service and the duration.
 */
export function traceListing(trace: JaegerTrace): string {
  const byId = new Map(trace.spans.map((span) => [span.spanID, span]));
  const parentOf = (span: JaegerSpan): string | undefined =>
    span.references.find((r) => r.refType === 'CHILD_OF' && byId.has(r.spanID))?.spanID;
  const children = new Map<string | undefined, JaegerSpan[]>();
  for (const span of trace.spans) {
    const parent = parentOf(span);
    children.set(parent, [...(children.get(parent) ?? []), span]);
  }
  const lines: string[] = [];
  const walk = (parent: string | undefined, depth: number): void => {
    for (const span of (children.get(parent) ?? []).sort(byStart)) {
      const service = trace.processes[span.processID]?.serviceName ?? '?';
      const ms = (span.duration / 1000).toFixed(2);
      lines.push(`${'  '.repeat(depth)}${span.operationName}  [${service}]  ${ms} ms`);
      walk(span.spanID, depth + 1);
    }
  };
  walk(undefined, 0);
  return lines.join('\n');
}
