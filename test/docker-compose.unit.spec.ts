/**
 * The container setup (docker-compose.yml, Dockerfile) checked without Docker: services, loopback-only ports,
 * health checks, and an orchestrator environment that passes the service's own configuration validation.
 */
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadConfiguration } from '../apps/orchestrator/src/config/configuration.js';

const root = (file: string): string => fileURLToPath(new URL(`../${file}`, import.meta.url));

type Mapping = Record<string, unknown>;
const isMapping = (value: unknown): value is Mapping => typeof value === 'object' && value !== null && !Array.isArray(value);

function mapping(value: unknown, what: string): Mapping {
  if (!isMapping(value)) throw new Error(`${what} is not a mapping`);
  return value;
}

/** Compose variable interpolation: ${VAR}, ${VAR:-default}, ${VAR-default}, $VAR and $$ (a literal $). */
function interpolate(text: string, env: Record<string, string | undefined>): string {
  return text.replace(/\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?)-([^}]*))?\}|\$([A-Za-z_][A-Za-z0-9_]*)/g, (match, braced?: string, colon?: string, fallback?: string, bare?: string) => {
    if (match === '$$') return '$';
    const name = braced ?? bare!;
    const value = env[name];
    if (fallback === undefined) return value ?? '';
    return (colon === ':' ? value === undefined || value === '' : value === undefined) ? fallback : value!;
  });
}

/** A service's environment, in either compose form (mapping or KEY=VALUE list), as strings. */
function environment(service: Mapping, env: Record<string, string | undefined>): Record<string, string> {
  const raw = service.environment;
  const entries: Array<[string, unknown]> = Array.isArray(raw)
    ? raw.map((item) => {
        const text = String(item);
        const eq = text.indexOf('=');
        return eq < 0 ? [text, env[text]] : [text.slice(0, eq), text.slice(eq + 1)];
      })
    : Object.entries(isMapping(raw) ? raw : {});
  return Object.fromEntries(entries.filter(([, v]) => v !== undefined && v !== null).map(([k, v]) => [k, interpolate(String(v), env)]));
}

type Published = { hostIp: string | undefined; published: string; target: string };

/** Published ports in short ("[ip:]published:target[/proto]") or long ({host_ip, published, target}) syntax. */
function publishedPorts(service: Mapping): Published[] {
  const ports: unknown = service.ports ?? [];
  if (!Array.isArray(ports)) throw new Error('ports is not a list');
  return ports.map((port: unknown): Published => {
    if (isMapping(port)) {
      return {
        hostIp: typeof port.host_ip === 'string' ? port.host_ip : undefined,
        published: String(port.published ?? ''),
        target: String(port.target ?? ''),
      };
    }
    const spec = String(port).replace(/\/(tcp|udp)$/, '');
    const parts = spec.match(/^(?:(\[[^\]]+\]|[^:]+):)?([^:]*):([^:]+)$/);
    if (!parts) return { hostIp: undefined, published: '', target: spec };
    return { hostIp: parts[1], published: parts[2]!, target: parts[3]! };
  });
}

describe('docker-compose.yml', () => {
  let services: Mapping;
  const noEnv: Record<string, string | undefined> = {};

  beforeAll(() => {
    const document: unknown = parse(readFileSync(root('docker-compose.yml'), 'utf8'));
    services = mapping(mapping(document, 'docker-compose.yml').services, 'services');
  });
  const service = (name: string): Mapping => mapping(services[name], `service ${name}`);

  it('defines the eventstore, kafka and orchestrator services', () => {
    expect(Object.keys(services)).toEqual(expect.arrayContaining(['eventstore', 'kafka', 'orchestrator']));
  });

  it('publishes every port on 127.0.0.1 only', () => {
    for (const [name, value] of Object.entries(services)) {
      const svc = mapping(value, name);
      expect(svc.network_mode, `${name} network_mode`).not.toBe('host');
      for (const port of publishedPorts(svc)) {
        expect(port.hostIp, `${name} publishes ${port.published}:${port.target} on ${port.hostIp ?? 'every interface'}`).toBe('127.0.0.1');
        expect(port.published, `${name} ${port.target}: published port`).toMatch(/^\d+$/);
      }
    }
    expect(publishedPorts(service('eventstore')).map((p) => p.target)).toContain('2113');
    expect(publishedPorts(service('kafka')).map((p) => p.target)).toContain('9092');
  });

  it('gives every service a health check', () => {
    for (const [name, value] of Object.entries(services)) {
      const healthcheck = mapping(mapping(value, name).healthcheck, `${name} healthcheck`);
      expect(healthcheck.disable, `${name} healthcheck disabled`).not.toBe(true);
      const test = healthcheck.test;
      expect(Array.isArray(test) ? test.length > 1 && test[0] !== 'NONE' : typeof test === 'string' && test.length > 0, `${name} healthcheck test`).toBe(true);
    }
  });

  it('starts the orchestrator only once the event store and Kafka are healthy', () => {
    const dependsOn = mapping(service('orchestrator').depends_on, 'orchestrator depends_on');
    for (const dependency of ['eventstore', 'kafka']) {
      expect(mapping(dependsOn[dependency], `depends_on ${dependency}`).condition).toBe('service_healthy');
    }
  });

  it('points the orchestrator at the eventstore and kafka services', () => {
    const env = environment(service('orchestrator'), noEnv);
    expect(env.EVENT_STORE).toBe('esdb');

    const esdb = new URL(env.ESDB_CONNECTION_STRING ?? '');
    expect(esdb.hostname).toBe('eventstore');
    expect(esdb.port || '2113').toBe('2113');
    expect(esdb.searchParams.get('tls')).toBe('false');

    const kafka = environment(service('kafka'), noEnv);
    const advertised = (kafka.KAFKA_ADVERTISED_LISTENERS ?? '').split(',').map((l) => l.replace(/^[A-Za-z_]+:\/\//, ''));
    const brokers = (env.KAFKA_BROKERS ?? '').split(',');
    expect(brokers.length).toBeGreaterThan(0);
    for (const broker of brokers) {
      expect(broker.split(':')[0], broker).toBe('kafka');
      // The address the orchestrator bootstraps from must be one the broker advertises back.
      expect(advertised, broker).toContain(broker);
    }
    expect(advertised).toContain('127.0.0.1:9092');
  });

  it('gives the orchestrator its secrets, a signing key of at least 32 characters', () => {
    const env = environment(service('orchestrator'), noEnv);
    expect(env.PLATFORM_TOKEN?.length ?? 0).toBeGreaterThan(0);
    expect(env.SECURITY_USER_SIGNING_KEY?.length ?? 0).toBeGreaterThanOrEqual(32);
    // Operators replace them from the environment.
    const overridden = environment(service('orchestrator'), { PLATFORM_TOKEN: 'x'.repeat(40), SECURITY_USER_SIGNING_KEY: 'k'.repeat(48) });
    expect(overridden.PLATFORM_TOKEN).toBe('x'.repeat(40));
    expect(overridden.SECURITY_USER_SIGNING_KEY).toBe('k'.repeat(48));
  });

  it("passes the service's own configuration validation, listening where the published port leads", () => {
    const env = environment(service('orchestrator'), noEnv);
    const config = loadConfiguration(env);
    expect(config.eventStore).toBe('esdb');
    expect(config.esdbConnectionString).toBe(env.ESDB_CONNECTION_STRING);
    expect(config.kafkaBrokers).toEqual(['kafka:19092']);
    expect(config.dataDir).toBe('/data');
    expect(config.logLevel).toBe('info');
    // Inside a container a loopback listener is unreachable through the published port.
    expect(config.host).toBe('0.0.0.0');
    const published = publishedPorts(service('orchestrator'));
    expect(published).toContainEqual({ hostIp: '127.0.0.1', published: '3000', target: String(config.port) });
  });
});

describe('Dockerfile', () => {
  let lines: string[];

  beforeAll(() => {
    // Join continuation lines, drop comments.
    lines = readFileSync(root('Dockerfile'), 'utf8')
      .replace(/\\\r?\n/g, ' ')
      .split(/\r?\n/)
      .map((l) => l.trim())
      .filter((l) => l !== '' && !l.startsWith('#'));
  });
  const instruction = (name: string): string[] => lines.filter((l) => new RegExp(`^${name}\\s`, 'i').test(l));
  const finalStage = (): string[] => {
    const froms = lines.flatMap((l, i) => (/^FROM\s/i.test(l) ? [i] : []));
    return lines.slice(froms[froms.length - 1] ?? 0);
  };

  it('has a build stage and a runtime stage', () => {
    expect(instruction('FROM').length).toBeGreaterThanOrEqual(2);
  });

  it('runs as a non-root user', () => {
    const users = finalStage().filter((l) => /^USER\s/i.test(l));
    expect(users.length).toBeGreaterThan(0);
    const user = users[users.length - 1]!.split(/\s+/)[1]!.split(':')[0];
    expect(['root', '0']).not.toContain(user);
  });

  it('has a health check and starts the compiled service', () => {
    const healthchecks = finalStage().filter((l) => /^HEALTHCHECK\s/i.test(l));
    expect(healthchecks.length).toBeGreaterThan(0);
    expect(healthchecks[healthchecks.length - 1]).not.toMatch(/^HEALTHCHECK\s+NONE/i);
    expect(healthchecks[healthchecks.length - 1]).toContain('/health');
    const cmd = finalStage().filter((l) => /^CMD\s/i.test(l)).at(-1);
    expect(cmd).toBe('CMD ["node", "dist/apps/orchestrator/src/main.js"]');
    expect(existsSync(root('apps/orchestrator/src/main.ts'))).toBe(true);
  });

  it('keeps dependencies and build output out of the build context', () => {
    const ignored = readFileSync(root('.dockerignore'), 'utf8').split(/\r?\n/).map((l) => l.trim());
    expect(ignored).toEqual(expect.arrayContaining(['node_modules', 'dist', '.git']));
  });
});
