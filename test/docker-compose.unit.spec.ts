/**
 * docker-compose.yml checked without Docker: the compose-spec JSON schema, services, loopback-only ports,
 * health checks, the Kafka release the tests run, an orchestrator environment that passes the service's own
 * configuration validation, host ports that variables move, the embedded profile (no EventStoreDB), and an operations page that
 * says what the file runs. (The Dockerfile: dockerfile.unit.spec.ts; the file run for real: compose.int.spec.ts.)
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv, type ErrorObject } from 'ajv';
import { parse } from 'yaml';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadConfiguration } from '../apps/orchestrator/src/config/configuration.js';

const root = (file: string): string => fileURLToPath(new URL(`../${file}`, import.meta.url));

/** docker-compose.yml as compose reads it: YAML merge keys (`<<: *anchor`) resolved. */
const loadCompose = (): unknown => parse(readFileSync(root('docker-compose.yml'), 'utf8'), { merge: true });

type Mapping = Record<string, unknown>;
const isMapping = (value: unknown): value is Mapping =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

function mapping(value: unknown, what: string): Mapping {
  if (!isMapping(value)) throw new Error(`${what} is not a mapping`);
  return value;
}

/** Compose refuses to start: a `${VAR:?message}` variable is unset or empty. */
class RequiredVariableError extends Error {}

/** Compose variable interpolation: ${VAR}, ${VAR:-default}, ${VAR-default}, ${VAR:?error}, $VAR and $$ (a literal $). */
function interpolate(text: string, env: Record<string, string | undefined>): string {
  return text.replace(
    /\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?)([-?])([^}]*))?\}|\$([A-Za-z_][A-Za-z0-9_]*)/g,
    (match, braced?: string, colon?: string, operator?: string, fallback?: string, bare?: string) => {
      if (match === '$$') return '$';
      const name = braced ?? bare!;
      const value = env[name];
      if (fallback === undefined) return value ?? '';
      const missing = colon === ':' ? value === undefined || value === '' : value === undefined;
      if (operator === '?') {
        if (missing) throw new RequiredVariableError(`required variable ${name} is missing a value: ${fallback}`);
        return value!;
      }
      return (colon === ':' ? value === undefined || value === '' : value === undefined) ? fallback : value!;
    },
  );
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
  return Object.fromEntries(
    entries.filter(([, v]) => v !== undefined && v !== null).map(([k, v]) => [k, interpolate(String(v), env)]),
  );
}

type Published = { hostIp: string | undefined; published: string; target: string };

/**
 * Published ports in short ("[ip:]published:target[/proto]") or long ({host_ip, published, target}) syntax, with
 * variables interpolated from `env` (unset: their defaults, as compose does).
 */
function publishedPorts(service: Mapping, env: Record<string, string | undefined> = {}): Published[] {
  const ports: unknown = service.ports ?? [];
  if (!Array.isArray(ports)) throw new Error('ports is not a list');
  return ports.map((port: unknown): Published => {
    if (isMapping(port)) {
      return {
        hostIp: typeof port.host_ip === 'string' ? interpolate(port.host_ip, env) : undefined,
        published: interpolate(String(port.published ?? ''), env),
        target: interpolate(String(port.target ?? ''), env),
      };
    }
    const spec = interpolate(String(port), env).replace(/\/(tcp|udp)$/, '');
    const parts = spec.match(/^(?:(\[[^\]]+\]|[^:]+):)?([^:]*):([^:]+)$/);
    if (!parts) return { hostIp: undefined, published: '', target: spec };
    return { hostIp: parts[1], published: parts[2]!, target: parts[3]! };
  });
}

// What an operator exports before `docker compose up` (the compose file has no default secrets).
const operatorEnv: Record<string, string | undefined> = {
  PLATFORM_TOKEN: randomBytes(32).toString('base64'),
  SECURITY_USER_SIGNING_KEYS: `k1:${randomBytes(32).toString('base64')}`,
};

describe('docker-compose.yml', () => {
  let services: Mapping;

  beforeAll(() => {
    const document: unknown = loadCompose();
    services = mapping(mapping(document, 'docker-compose.yml').services, 'services');
  });
  const service = (name: string): Mapping => mapping(services[name], `service ${name}`);

  it('defines the eventstore, kafka and orchestrator services, and orchestrator-embedded', () => {
    expect(Object.keys(services)).toEqual(
      expect.arrayContaining(['eventstore', 'kafka', 'orchestrator', 'orchestrator-embedded']),
    );
  });

  it("runs the vendor's KurrentDB 25.1 image, as the test harness does, with KURRENTDB_* settings and its data path", () => {
    expect(service('eventstore').image).toBe('docker.kurrent.io/kurrent-latest/kurrentdb:25.1');
    expect(readFileSync(root('test/harness/event-store.ts'), 'utf8')).toContain(
      `'${String(service('eventstore').image)}'`,
    );
    const env = environment(service('eventstore'), {});
    expect(
      Object.keys(env).every((name) => name.startsWith('KURRENTDB_')),
      Object.keys(env).join(),
    ).toBe(true);
    expect(env.KURRENTDB_INSECURE).toBe('true');
    expect(env.KURRENTDB_CLUSTER_SIZE).toBe('1');
    expect(service('eventstore').volumes).toEqual(['eventstore-data:/var/lib/kurrentdb']);
  });

  it('calls the event store healthy only once it is leader, not when /health/live answers', () => {
    const test = mapping(service('eventstore').healthcheck, 'eventstore healthcheck').test;
    const command = Array.isArray(test) ? test.slice(1).join(' ') : String(test);
    expect(command).not.toMatch(/health\/live/);
    expect(command).toMatch(/localhost:2113\/info/);
    // The pattern the command greps for matches what /info answers on a leader, and only there.
    const pattern = /grep -Eiq '([^']+)'/.exec(command.replaceAll("''", "'"))?.[1];
    expect(pattern, command).toBeDefined();
    const leads = new RegExp(pattern!, 'i');
    expect(leads.test('{"dbVersion":"25.1.0","state":"leader","features":{}}')).toBe(true);
    expect(leads.test('{"esVersion":"24.10.0", "state" : "Leader"}')).toBe(true);
    for (const state of ['follower', 'preLeader', 'discoverLeader', 'unknown'])
      expect(leads.test(`{"state":"${state}"}`), state).toBe(false);
  });

  it('docker-compose.eventstoredb.yml swaps in EventStoreDB 24.10 LTS: its image, EVENTSTORE_* settings, its data path', () => {
    // `!override` replaces the default file's value instead of merging with it (Compose 2.24.4 on).
    const override = parse(readFileSync(root('docker-compose.eventstoredb.yml'), 'utf8'), {
      customTags: [
        { tag: '!override', collection: 'map' },
        { tag: '!override', collection: 'seq' },
      ],
    }) as unknown;
    const eventstore = mapping(mapping(mapping(override, 'override').services, 'services').eventstore, 'eventstore');
    expect(eventstore.image).toBe('docker.eventstore.com/eventstore/eventstoredb-ee:24.10');
    const env = environment(eventstore, {});
    expect(Object.keys(env).length).toBeGreaterThan(0);
    expect(Object.keys(env).every((name) => name.startsWith('EVENTSTORE_'))).toBe(true);
    expect(env.EVENTSTORE_INSECURE).toBe('true');
    expect(eventstore.volumes).toEqual(['eventstore-data:/var/lib/eventstore']);
    const text = readFileSync(root('docker-compose.eventstoredb.yml'), 'utf8');
    expect(text).toMatch(/environment: !override/);
    expect(text).toMatch(/volumes: !override/);
    // The default file with the override applied as compose applies it is still a valid compose file.
    const merged = structuredClone(loadCompose()) as Mapping;
    const services = mapping(merged.services, 'services');
    services.eventstore = { ...mapping(services.eventstore, 'eventstore'), ...eventstore };
    expect(composeSchemaErrors(merged).map((e) => `${e.instancePath} ${e.message}`)).toEqual([]);
  });

  it('publishes every port on 127.0.0.1 only', () => {
    for (const [name, value] of Object.entries(services)) {
      const svc = mapping(value, name);
      expect(svc.network_mode, `${name} network_mode`).not.toBe('host');
      for (const port of publishedPorts(svc)) {
        expect(
          port.hostIp,
          `${name} publishes ${port.published}:${port.target} on ${port.hostIp ?? 'every interface'}`,
        ).toBe('127.0.0.1');
        // One port, or a range for a service with replicas (each replica takes one).
        expect(port.published, `${name} ${port.target}: published port`).toMatch(/^\d+(-\d+)?$/);
      }
    }
    expect(publishedPorts(service('eventstore')).map((p) => p.target)).toContain('2113');
    expect(publishedPorts(service('kafka')).map((p) => p.target)).toContain('9092');
  });

  it('publishes on 3000, 9092 and 2113 by default; ORCHESTRATOR_, KAFKA_ and EVENTSTORE_HOST_PORT move them, on 127.0.0.1 still', () => {
    const hostPorts = (env: Record<string, string | undefined>): Record<string, string[]> =>
      Object.fromEntries(
        Object.entries(services).map(([name, value]) => [
          name,
          publishedPorts(mapping(value, name), env).map((p) => `${p.hostIp}:${p.published}:${p.target}`),
        ]),
      );
    expect(hostPorts({})).toEqual({
      eventstore: ['127.0.0.1:2113:2113'],
      kafka: ['127.0.0.1:9092:9092'],
      orchestrator: ['127.0.0.1:3000:3000'],
      'orchestrator-embedded': ['127.0.0.1:3000:3000'],
      postgres: [],
      'orchestrator-postgres': ['127.0.0.1:3001-3003:3000'],
    });
    const moved = {
      ORCHESTRATOR_HOST_PORT: '43000',
      KAFKA_HOST_PORT: '49092',
      EVENTSTORE_HOST_PORT: '42113',
      ORCHESTRATOR_POSTGRES_HOST_PORTS: '43001-43003',
    };
    expect(hostPorts(moved)).toEqual({
      eventstore: ['127.0.0.1:42113:2113'],
      kafka: ['127.0.0.1:49092:9092'],
      orchestrator: ['127.0.0.1:43000:3000'],
      'orchestrator-embedded': ['127.0.0.1:43000:3000'],
      postgres: [],
      'orchestrator-postgres': ['127.0.0.1:43001-43003:3000'],
    });
    // Host clients bootstrap from the published port, then use what the broker advertises: the same port.
    for (const env of [{}, moved]) {
      const published = publishedPorts(service('kafka'), env)[0]!;
      const advertised = (environment(service('kafka'), env).KAFKA_ADVERTISED_LISTENERS ?? '').split(',');
      expect(advertised).toContain(`HOST://127.0.0.1:${published.published}`);
    }
  });

  it('gives every service a health check', () => {
    for (const [name, value] of Object.entries(services)) {
      const healthcheck = mapping(mapping(value, name).healthcheck, `${name} healthcheck`);
      expect(healthcheck.disable, `${name} healthcheck disabled`).not.toBe(true);
      const test = healthcheck.test;
      expect(
        Array.isArray(test) ? test.length > 1 && test[0] !== 'NONE' : typeof test === 'string' && test.length > 0,
        `${name} healthcheck test`,
      ).toBe(true);
    }
  });

  it('starts the orchestrator only once the event store and Kafka are healthy', () => {
    const dependsOn = mapping(service('orchestrator').depends_on, 'orchestrator depends_on');
    for (const dependency of ['eventstore', 'kafka']) {
      expect(mapping(dependsOn[dependency], `depends_on ${dependency}`).condition).toBe('service_healthy');
    }
  });

  it('points the orchestrator at the eventstore and kafka services', () => {
    const env = environment(service('orchestrator'), operatorEnv);
    expect(env.EVENT_STORE).toBe('esdb');

    const esdb = new URL(env.ESDB_CONNECTION_STRING ?? '');
    expect(esdb.hostname).toBe('eventstore');
    expect(esdb.port || '2113').toBe('2113');
    expect(esdb.searchParams.get('tls')).toBe('false');

    const kafka = environment(service('kafka'), operatorEnv);
    const advertised = (kafka.KAFKA_ADVERTISED_LISTENERS ?? '')
      .split(',')
      .map((l) => l.replace(/^[A-Za-z_]+:\/\//, ''));
    const brokers = (env.KAFKA_BROKERS ?? '').split(',');
    expect(brokers.length).toBeGreaterThan(0);
    for (const broker of brokers) {
      expect(broker.split(':')[0], broker).toBe('kafka');
      // The address the orchestrator bootstraps from must be one the broker advertises back.
      expect(advertised, broker).toContain(broker);
    }
    expect(advertised).toContain('127.0.0.1:9092');
  });

  it('ships no default secret: compose refuses to start without PLATFORM_TOKEN and SECURITY_USER_SIGNING_KEYS', () => {
    const raw = mapping(service('orchestrator').environment, 'orchestrator environment');
    expect(raw.PLATFORM_TOKEN).toBe('${PLATFORM_TOKEN:?set PLATFORM_TOKEN}');
    expect(raw.SECURITY_USER_SIGNING_KEYS).toBe('${SECURITY_USER_SIGNING_KEYS:?set SECURITY_USER_SIGNING_KEYS}');
    expect(() => environment(service('orchestrator'), {})).toThrow(RequiredVariableError);
    expect(() => environment(service('orchestrator'), { ...operatorEnv, PLATFORM_TOKEN: '' })).toThrow(
      /PLATFORM_TOKEN/,
    );
    expect(() =>
      environment(service('orchestrator'), { ...operatorEnv, SECURITY_USER_SIGNING_KEYS: undefined }),
    ).toThrow(/SECURITY_USER_SIGNING_KEYS/);
    // Whatever the operator exports is what the service gets.
    const env = environment(service('orchestrator'), operatorEnv);
    expect(env.PLATFORM_TOKEN).toBe(operatorEnv.PLATFORM_TOKEN);
    expect(env.SECURITY_USER_SIGNING_KEYS).toBe(operatorEnv.SECURITY_USER_SIGNING_KEYS);
    expect(JSON.stringify(services)).not.toMatch(/change-?me/i);
  });

  it("passes the service's own configuration validation, listening where the published port leads", () => {
    const env = environment(service('orchestrator'), operatorEnv);
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

  describe('profile embedded: the orchestrator on its own store, no EventStoreDB', () => {
    const profiles = (name: string): unknown => service(name).profiles;

    it('leaves the default stack (eventstore, kafka, orchestrator) out of every profile, and orchestrator-embedded in "embedded" only', () => {
      for (const name of ['eventstore', 'kafka', 'orchestrator']) expect(profiles(name), name).toBeUndefined();
      expect(profiles('orchestrator-embedded')).toEqual(['embedded']);
      // Nothing else joins the profile: with it, the orchestrator-embedded service and Kafka are all that start.
      const inProfile = Object.entries(services).filter(([, value]) =>
        ((mapping(value, 'service').profiles as string[] | undefined) ?? []).includes('embedded'),
      );
      expect(inProfile.map(([name]) => name)).toEqual(['orchestrator-embedded']);
    });

    it('depends on a healthy Kafka only', () => {
      const dependsOn = mapping(service('orchestrator-embedded').depends_on, 'orchestrator-embedded depends_on');
      expect(Object.keys(dependsOn)).toEqual(['kafka']);
      expect(mapping(dependsOn.kafka, 'depends_on kafka').condition).toBe('service_healthy');
    });

    it("passes the service's configuration validation on the embedded store, with the same Kafka, secrets, listener and image", () => {
      const env = environment(service('orchestrator-embedded'), operatorEnv);
      expect(env.EVENT_STORE).toBe('sqlite');
      expect(env.ESDB_CONNECTION_STRING).toBeUndefined();
      const config = loadConfiguration(env);
      expect(config.eventStore).toBe('sqlite');
      expect(config.kafkaBrokers).toEqual(['kafka:19092']);
      expect(config.platformToken).toBe(operatorEnv.PLATFORM_TOKEN);
      expect(config.securityUserSigningKeys?.[0]?.kid).toBe('k1');
      expect(config.host).toBe('0.0.0.0');
      expect(config.dataDir).toBe('/data');
      // No default secrets here either.
      expect(() => environment(service('orchestrator-embedded'), {})).toThrow(RequiredVariableError);
      // One image for both: built once, whichever shape runs.
      expect(service('orchestrator-embedded').image).toBe(service('orchestrator').image);
      expect(service('orchestrator-embedded').build).toEqual(service('orchestrator').build);
      expect(service('orchestrator-embedded').healthcheck).toEqual(service('orchestrator').healthcheck);
    });

    it("keeps its event log in a volume of its own, never the esdb-backed orchestrator's views", () => {
      const volumes = (name: string): string[] => (service(name).volumes as string[]).map(String);
      expect(volumes('orchestrator-embedded')).toEqual(['orchestrator-embedded-data:/data']);
      expect(volumes('orchestrator')).toEqual(['orchestrator-data:/data']);
    });
  });
});

/** The compose-spec schema as the maintained `dclint` linter ships it (schemas/compose.schema.json). */
function composeSchemaErrors(document: unknown): ErrorObject[] {
  const require = createRequire(import.meta.url);
  const schema = JSON.parse(
    readFileSync(join(dirname(require.resolve('dclint/package.json')), 'schemas', 'compose.schema.json'), 'utf8'),
  ) as { $schema: string };
  // Compose's own loader is as lenient: union types, and schema keywords Ajv does not know are annotations.
  const ajv = new Ajv({ allErrors: true, strict: false, allowUnionTypes: true });
  // The schema names draft-07 by its https address; Ajv knows the same meta-schema by its http one.
  ajv.addMetaSchema({ ...(require('ajv/dist/refs/json-schema-draft-07.json') as object), $id: schema.$schema });
  const validate = ajv.compile(schema);
  return validate(document) ? [] : [...(validate.errors ?? [])];
}

describe('docker-compose.yml against the compose specification', () => {
  const document = loadCompose() as Mapping;

  it('validates against the compose-spec JSON schema', () => {
    expect(composeSchemaErrors(document).map((e) => `${e.instancePath} ${e.message}`)).toEqual([]);
  });

  it('is refused by the same schema when a service key is misspelt', () => {
    const services = mapping(document.services, 'services');
    const broken = {
      ...document,
      services: { ...services, kafka: { ...mapping(services.kafka, 'kafka'), healtcheck: {} } },
    };
    expect(
      composeSchemaErrors(broken).some(
        (e) => e.instancePath === '/services/kafka' && e.params.additionalProperty === 'healtcheck',
      ),
    ).toBe(true);
  });

  it('runs the Kafka major release that the Kafka tests run (scripts/kafka/pom.xml)', () => {
    const tested = /<kafka\.version>([^<]+)<\/kafka\.version>/.exec(
      readFileSync(root('scripts/kafka/pom.xml'), 'utf8'),
    )?.[1];
    const image = String(mapping(mapping(document.services, 'services').kafka, 'kafka').image);
    expect(image).toMatch(/^apache\/kafka:/);
    const composed = image.split(':')[1]!;
    expect(tested, 'kafka.version in pom.xml').toMatch(/^\d+\./);
    expect(composed.split('.')[0], `${image} against the tested ${tested}`).toBe(tested!.split('.')[0]);
  });
});

describe('docs/operations.md: Running with EventStoreDB and Kafka', () => {
  const document = loadCompose() as Mapping;
  const services = mapping(document.services, 'services');
  const operations = readFileSync(root('docs/operations.md'), 'utf8');
  const section = /^## Running with EventStoreDB and Kafka\n([\s\S]*?)(?=^## )/m.exec(operations)?.[1] ?? '';
  const published = (name: string, target: string): string =>
    publishedPorts(mapping(services[name], name)).find((p) => p.target === target)?.published ?? 'unpublished';

  it('names every image and host address the compose file runs', () => {
    expect(section.length).toBeGreaterThan(0);
    for (const [name, value] of Object.entries(services)) {
      const svc = mapping(value, name);
      if (svc.build === undefined) expect(section, `${name}: ${String(svc.image)}`).toContain(String(svc.image));
      for (const port of publishedPorts(svc))
        expect(section, `${name} on ${port.hostIp}:${port.published}`).toContain(`${port.hostIp}:${port.published}`);
    }
  });

  it('says which KurrentDB and EventStoreDB versions and client the adapter is written for, and how to test a server', () => {
    const kurrent = /:(\d+\.\d+)/.exec(String(mapping(services.eventstore, 'eventstore').image))?.[1];
    expect(section).toContain(`KurrentDB ${kurrent}`);
    expect(section).toContain('EventStoreDB 24.10');
    expect(section).toContain('docker.eventstore.com/eventstore/eventstoredb-ee:24.10');
    expect(section).toContain('docker-compose.eventstoredb.yml');
    const client = (
      JSON.parse(readFileSync(root('node_modules/@eventstore/db-client/package.json'), 'utf8')) as { version: string }
    ).version;
    expect(section).toContain(`@eventstore/db-client\` ${client.split('.').slice(0, 2).join('.')}`);
    expect(section).toMatch(/ESDB_CONNECTION_STRING=\S+ ESDB_REQUIRED=1 npm run test:esdb/);
    const scripts = (JSON.parse(readFileSync(root('package.json'), 'utf8')) as { scripts: Record<string, string> })
      .scripts;
    expect(scripts['test:esdb']).toContain('libs/event-store/src/esdb/esdb-event-store.int.spec.ts');
  });

  it('connects the service outside compose to the ports the compose file publishes', () => {
    const example = /^EVENT_STORE=esdb[\s\S]*?npm start$/m.exec(section)?.[0] ?? '';
    const setting = (name: string): string => new RegExp(`${name}='?([^'\\s]+)`).exec(example)?.[1] ?? '';
    const esdb = new URL(setting('ESDB_CONNECTION_STRING'));
    expect(esdb.port).toBe(published('eventstore', '2113'));
    expect(esdb.searchParams.get('tls')).toBe(
      new URL(
        environment(mapping(services.orchestrator, 'orchestrator'), operatorEnv).ESDB_CONNECTION_STRING!,
      ).searchParams.get('tls'),
    );
    const advertised = (environment(mapping(services.kafka, 'kafka'), {}).KAFKA_ADVERTISED_LISTENERS ?? '')
      .split(',')
      .map((l) => l.replace(/^[A-Za-z_]+:\/\//, ''));
    expect(advertised).toContain(setting('KAFKA_BROKERS'));
    expect(setting('KAFKA_BROKERS')).toBe(`127.0.0.1:${published('kafka', '9092')}`);
  });
});
