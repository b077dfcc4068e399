#!/usr/bin/env node
// Real single-node Apache Kafka (KRaft, broker+controller in one JVM) for dev and CI without Docker.
// Jars come from Maven Central via scripts/kafka/pom.xml into .kafka/lib (gitignored).
// Commands: up | down | status | stop-keep-data | start-keep-data   (see usage() below)
// Imported, it gives startBroker(): a broker of the caller's own, with a SASL_SSL listener (TLS, SCRAM and PLAIN
// users, ACLs optional) next to the plaintext one; tests use it (test/kafka-tls.int.spec.ts). Types: kafka.d.mts.
// Node built-ins only: this runs before/without TypeScript and must not depend on node_modules
// (kafkajs is used for the readiness check only when it is installed).
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';

// Keep in sync with <kafka.version> in pom.xml (the marker below makes a version bump refetch).
const KAFKA_VERSION = '4.4.0';
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const KDIR = path.join(ROOT, '.kafka');
const LIB = path.join(KDIR, 'lib');
const MARKER = path.join(LIB, `.complete-${KAFKA_VERSION}`);
const STATE = path.join(KDIR, 'broker.json');
const LOCK = path.join(KDIR, 'lock');
const POM = path.join(ROOT, 'scripts/kafka/pom.xml');
const TMP_PREFIX = 'contact-orchestrator-kafka-';
const START_TIMEOUT_MS = Number(process.env.KAFKA_START_TIMEOUT_MS ?? 90_000);
const STOP_TIMEOUT_MS = 20_000;

const log = (msg) => process.stderr.write(`[kafka] ${msg}\n`);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const readState = () => {
  try {
    return JSON.parse(fs.readFileSync(STATE, 'utf8'));
  } catch {
    return null;
  }
};
const writeState = (s) => {
  fs.mkdirSync(KDIR, { recursive: true });
  fs.writeFileSync(STATE, JSON.stringify(s, null, 2) + '\n');
};
const brokersLine = (port) => `KAFKA_BROKERS=127.0.0.1:${port}`;

// A pid from an old state file may have been reused by an unrelated process: on Linux also check
// that the command line is our broker with our data dir before we trust (or kill) it.
function isOurBroker(s) {
  if (!s?.pid) return false;
  try {
    process.kill(s.pid, 0);
  } catch {
    return false;
  }
  try {
    const cmd = fs.readFileSync(`/proc/${s.pid}/cmdline`, 'utf8');
    return cmd.includes('kafka.Kafka') && cmd.includes(s.dataDir);
  } catch {
    return true;
  } // no /proc (macOS): the signal check has to do
}

// Raw ApiVersions v0 over TCP: the cheapest real Kafka protocol round trip, no client library needed.
// The broker only opens its data-plane listener once it has caught up with the controller, so an
// answer means "started". Error 35 (UNSUPPORTED_VERSION) would still be a Kafka broker answering.
function apiVersions(port, timeoutMs = 2000) {
  return new Promise((resolve) => {
    const clientId = Buffer.from('kafka.mjs');
    const req = Buffer.alloc(4 + 10 + clientId.length);
    req.writeInt32BE(req.length - 4, 0);
    req.writeInt16BE(18, 4);
    req.writeInt16BE(0, 6);
    req.writeInt32BE(7, 8); // ApiVersions v0, corr 7
    req.writeInt16BE(clientId.length, 12);
    clientId.copy(req, 14);
    const sock = net.connect({ host: '127.0.0.1', port });
    let buf = Buffer.alloc(0);
    const done = (ok) => {
      sock.destroy();
      resolve(ok);
    };
    sock.setTimeout(timeoutMs, () => done(false));
    sock.on('error', () => done(false));
    sock.on('connect', () => sock.write(req));
    sock.on('data', (d) => {
      buf = Buffer.concat([buf, d]);
      if (buf.length < 10 || buf.length < 4 + buf.readInt32BE(0)) return;
      const err = buf.readInt16BE(8);
      done(buf.readInt32BE(4) === 7 && (err === 0 || err === 35));
    });
  });
}

// Stronger check when the repo's kafkajs is installed: a full client bootstrap + Metadata round trip.
async function kafkajsReady(port) {
  let mod;
  try {
    mod = await import(pathToFileURL(createRequire(path.join(ROOT, 'package.json')).resolve('kafkajs')).href);
  } catch {
    return true;
  } // not installed (yet): the raw ApiVersions answer has to do
  const { Kafka, logLevel } = mod.default ?? mod;
  const admin = new Kafka({
    clientId: 'kafka.mjs',
    brokers: [`127.0.0.1:${port}`],
    logLevel: logLevel.NOTHING,
    connectionTimeout: 2000,
    requestTimeout: 5000,
    retry: { retries: 0 },
  }).admin();
  try {
    await admin.connect();
    return (await admin.describeCluster()).brokers.length > 0;
  } catch {
    return false;
  } finally {
    await admin.disconnect().catch(() => {});
  }
}

const answering = async (port) => (await apiVersions(port)) && (await kafkajsReady(port));

// A TCP connection is accepted (the SASL_SSL listener: its TLS and SASL are the caller's to check).
function listening(port, timeoutMs = 2000) {
  return new Promise((resolve) => {
    const sock = net.connect({ host: '127.0.0.1', port });
    const done = (ok) => {
      sock.destroy();
      resolve(ok);
    };
    sock.setTimeout(timeoutMs, () => done(false));
    sock.on('error', () => done(false));
    sock.on('connect', () => done(true));
  });
}

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

// Simple cross-process lock so two `up`s (two terminals, two vitest workers) don't race on
// the Maven fetch or start two brokers. mkdir is atomic; a lock older than 3 min is stale.
async function withLock(fn) {
  fs.mkdirSync(KDIR, { recursive: true });
  const deadline = Date.now() + 180_000;
  for (;;) {
    try {
      fs.mkdirSync(LOCK);
      break;
    } catch (e) {
      if (e.code !== 'EEXIST') throw e;
      try {
        if (Date.now() - fs.statSync(LOCK).mtimeMs > 180_000) {
          fs.rmSync(LOCK, { recursive: true, force: true });
          continue;
        }
      } catch {
        /* the holder just released it */
      }
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${LOCK}`);
      await sleep(250);
    }
  }
  try {
    return await fn();
  } finally {
    fs.rmSync(LOCK, { recursive: true, force: true });
  }
}

function ensureJars() {
  if (fs.existsSync(MARKER)) return;
  // Incomplete or other-version lib: start clean so the classpath never mixes two Kafka versions.
  fs.rmSync(LIB, { recursive: true, force: true });
  log(`fetching kafka_2.13:${KAFKA_VERSION} jars with Maven into ${path.relative(ROOT, LIB)} (one-off)...`);
  const t0 = Date.now();
  const r = spawnSync(
    'mvn',
    ['-q', '-B', '-f', POM, `-Dkafka.version=${KAFKA_VERSION}`, `-Dkafka.lib.dir=${LIB}`, 'validate'],
    { stdio: ['ignore', 2, 2], cwd: ROOT },
  ); // stdout stays clean for the KAFKA_BROKERS line
  if (r.error || r.status !== 0)
    throw new Error(`mvn failed (${r.error?.message ?? `exit ${r.status}`}); is Maven Central reachable?`);
  if (!fs.readdirSync(LIB).some((f) => f.startsWith(`kafka_2.13-${KAFKA_VERSION}`)))
    throw new Error('mvn ran but kafka jar is missing');
  fs.writeFileSync(MARKER, `${new Date().toISOString()}\n`);
  log(`jars fetched in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
}

const java = (args, opts) => spawnSync('java', ['-cp', path.join(LIB, '*'), ...args], { encoding: 'utf8', ...opts });

// Kafka's Uuid is 16 random bytes in URL-safe base64; a leading '-' would parse as a CLI flag.
function clusterId() {
  for (;;) {
    const id = randomBytes(16).toString('base64url');
    if (!id.startsWith('-')) return id;
  }
}

// `secure` (startBroker): a SASL_SSL listener on secure.port besides PLAINTEXT, which stays for the controller,
// the broker itself and readiness checks; see saslSslProperties.
function writeConfig(dataDir, port, cport, secure) {
  const props = {
    'process.roles': 'broker,controller',
    'node.id': 1,
    // Static quorum (voters list) works the same on 3.9 and 4.x and needs no --standalone at format.
    'controller.quorum.voters': `1@127.0.0.1:${cport}`,
    listeners: `PLAINTEXT://127.0.0.1:${port},CONTROLLER://127.0.0.1:${cport}`, // loopback only
    'advertised.listeners': `PLAINTEXT://127.0.0.1:${port}`,
    'inter.broker.listener.name': 'PLAINTEXT',
    'controller.listener.names': 'CONTROLLER',
    'listener.security.protocol.map': 'CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT',
    ...(secure ? saslSslProperties(dataDir, port, cport, secure) : {}),
    'log.dirs': path.join(dataDir, 'kraft-logs'),
    'num.partitions': 1,
    'default.replication.factor': 1,
    'min.insync.replicas': 1,
    // Single node: every internal topic must live with RF 1, and few partitions start faster.
    'offsets.topic.replication.factor': 1,
    'offsets.topic.num.partitions': 3,
    'transaction.state.log.replication.factor': 1,
    'transaction.state.log.min.isr': 1,
    'transaction.state.log.num.partitions': 3,
    'share.coordinator.state.topic.replication.factor': 1,
    'share.coordinator.state.topic.min.isr': 1,
    'group.initial.rebalance.delay.ms': 0,
    'auto.create.topics.enable': true,
    'num.network.threads': 2,
    'num.io.threads': 4, // 2-core machines
  };
  const file = path.join(dataDir, 'server.properties');
  fs.writeFileSync(
    file,
    Object.entries(props)
      .map(([k, v]) => `${k}=${v}`)
      .join('\n') + '\n',
  );
  // Kafka 4 logs through log4j2; without a config it would print errors only.
  fs.writeFileSync(
    path.join(dataDir, 'log4j2.properties'),
    [
      'status = warn',
      'appender.out.type = Console',
      'appender.out.name = OUT',
      'appender.out.layout.type = PatternLayout',
      'appender.out.layout.pattern = [%d] %p %m (%c)%n',
      'rootLogger.level = INFO',
      'rootLogger.appenderRef.out.ref = OUT',
      'logger.sc.name = state.change.logger',
      'logger.sc.level = WARN',
    ].join('\n') + '\n',
  );
  return file;
}

// Names and passwords go into server.properties and StorageTool arguments unquoted: keep them to safe characters.
const SAFE = /^[A-Za-z0-9._-]+$/;
function checkSafe(what, value) {
  if (typeof value !== 'string' || !SAFE.test(value))
    throw new Error(`${what} must be 1 or more of [A-Za-z0-9._-], got ${JSON.stringify(value)}`);
  return value;
}

// The SASL_SSL listener: TLS with the given PEM certificate chain and key (Kafka 4 reads a PEM keystore file:
// key and chain in one file), client certificates checked against `truststore` when given (`clientAuth`), SASL
// PLAIN (users in the listener's JAAS) and SCRAM-SHA-256/512 (users created at format, see formatStorage).
// `superUsers` turns on the KRaft authorizer: every other principal needs ACLs. User:ANONYMOUS (the PLAINTEXT and
// CONTROLLER listeners: the broker itself, and the caller's set-up client) is always a super user then.
function saslSslProperties(dataDir, port, cport, secure) {
  const keystore = path.join(dataDir, 'keystore.pem');
  fs.writeFileSync(
    keystore,
    `${fs.readFileSync(secure.key, 'utf8').trim()}\n${fs.readFileSync(secure.certificateChain, 'utf8').trim()}\n`,
    { mode: 0o600 },
  );
  const plain = Object.entries(secure.plain ?? {}).map(
    ([name, password]) => `user_${checkSafe('PLAIN user', name)}="${checkSafe(`password of ${name}`, password)}"`,
  );
  const props = {
    listeners: `PLAINTEXT://127.0.0.1:${port},CONTROLLER://127.0.0.1:${cport},SASL_SSL://127.0.0.1:${secure.port}`,
    'advertised.listeners': `PLAINTEXT://127.0.0.1:${port},SASL_SSL://127.0.0.1:${secure.port}`,
    'listener.security.protocol.map': 'CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT,SASL_SSL:SASL_SSL',
    'listener.name.sasl_ssl.sasl.enabled.mechanisms': 'PLAIN,SCRAM-SHA-256,SCRAM-SHA-512',
    'listener.name.sasl_ssl.plain.sasl.jaas.config': `org.apache.kafka.common.security.plain.PlainLoginModule required ${plain.join(' ')};`,
    'listener.name.sasl_ssl.scram-sha-256.sasl.jaas.config':
      'org.apache.kafka.common.security.scram.ScramLoginModule required;',
    'listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config':
      'org.apache.kafka.common.security.scram.ScramLoginModule required;',
    'listener.name.sasl_ssl.ssl.keystore.type': 'PEM',
    'listener.name.sasl_ssl.ssl.keystore.location': keystore,
    'listener.name.sasl_ssl.ssl.client.auth': secure.clientAuth ?? 'none',
  };
  if (secure.truststore) {
    props['listener.name.sasl_ssl.ssl.truststore.type'] = 'PEM';
    props['listener.name.sasl_ssl.ssl.truststore.location'] = secure.truststore;
  }
  if (secure.superUsers) {
    props['authorizer.class.name'] = 'org.apache.kafka.metadata.authorizer.StandardAuthorizer';
    props['super.users'] = [
      'User:ANONYMOUS',
      ...secure.superUsers.map((u) => `User:${checkSafe('super user', u)}`),
    ].join(';');
  }
  return props;
}

// Formats the KRaft storage (a new cluster id); `scram` users ([{mechanism, name, password}]) are created now, in
// the first metadata records: SCRAM credentials live in the cluster metadata, not in a file.
function formatStorage(dataDir, config, scram = []) {
  const users = scram.flatMap(({ mechanism, name, password }) => {
    if (mechanism !== 'SCRAM-SHA-256' && mechanism !== 'SCRAM-SHA-512')
      throw new Error(`SCRAM mechanism must be SCRAM-SHA-256 or SCRAM-SHA-512, got ${mechanism}`);
    return [
      '--add-scram',
      `${mechanism}=[name=${checkSafe('SCRAM user', name)},password=${checkSafe(`password of ${name}`, password)}]`,
    ];
  });
  // Bounded: a JVM that hangs here must not hang `up` or a test.
  const fmt = java(
    ['kafka.tools.StorageTool', 'format', '-t', clusterId(), '-c', config, '--ignore-formatted', ...users],
    { timeout: 120_000 },
  );
  const logFile = path.join(dataDir, 'broker.log');
  fs.writeFileSync(logFile, `${fmt.stdout ?? ''}${fmt.stderr ?? ''}`);
  if (fmt.status !== 0)
    throw new Error(`storage format failed${fmt.error ? ` (${fmt.error.message})` : ''}:\n${tail(logFile)}`);
  return logFile;
}

function tail(file, lines = 40) {
  try {
    return fs.readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

// Starts the JVM detached (own session, stdio to the log file) so it outlives `node kafka.mjs up`.
// `save` records the started broker before it answers (so that a failed start can still be stopped).
async function launch(s, save = writeState) {
  const out = fs.openSync(s.logFile, 'a');
  const child = spawn(
    'java',
    [
      '-Xms256m',
      '-Xmx512m',
      '-Djava.awt.headless=true',
      `-Dlog4j2.configurationFile=${path.join(s.dataDir, 'log4j2.properties')}`,
      `-Dkafka.logs.dir=${s.dataDir}`,
      '-cp',
      path.join(LIB, '*'),
      'kafka.Kafka',
      path.join(s.dataDir, 'server.properties'),
    ],
    { detached: true, stdio: ['ignore', out, out], cwd: s.dataDir },
  );
  fs.closeSync(out);
  child.unref();
  const { stoppedAt: _, ...rest } = s;
  const started = { ...rest, pid: child.pid, startedAt: new Date().toISOString() };
  save(started);
  const t0 = Date.now();
  while (Date.now() - t0 < START_TIMEOUT_MS) {
    if (!isOurBroker(started))
      throw new Error(`broker process exited during startup; log ${s.logFile}:\n${tail(s.logFile)}`);
    if ((await answering(s.port)) && (!s.securePort || (await listening(s.securePort)))) {
      log(`broker ready on 127.0.0.1:${s.port} in ${((Date.now() - t0) / 1000).toFixed(1)} s (pid ${child.pid})`);
      return started;
    }
    await sleep(500);
  }
  throw new Error(
    `broker did not answer on 127.0.0.1:${s.port} within ${START_TIMEOUT_MS / 1000} s; log ${s.logFile}:\n${tail(s.logFile)}`,
  );
}

async function stopProcess(s) {
  if (!isOurBroker(s)) return;
  process.kill(s.pid, 'SIGTERM'); // Kafka shuts down cleanly on SIGTERM (controlled shutdown)
  const t0 = Date.now();
  while (Date.now() - t0 < STOP_TIMEOUT_MS) {
    if (!isOurBroker(s)) return;
    await sleep(200);
  }
  log(`pid ${s.pid} ignored SIGTERM for ${STOP_TIMEOUT_MS / 1000} s, sending SIGKILL`);
  try {
    process.kill(s.pid, 'SIGKILL');
  } catch {
    /* exited meanwhile */
  }
  while (isOurBroker(s)) await sleep(100);
}

// Only ever delete a data dir we created (under the OS temp dir, with our prefix).
function removeDataDir(dir) {
  if (dir && path.dirname(dir) === path.resolve(os.tmpdir()) && path.basename(dir).startsWith(TMP_PREFIX)) {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

async function up() {
  const s = await withLock(async () => {
    const cur = readState();
    if (cur && isOurBroker(cur) && (await answering(cur.port))) return cur;
    if (cur) {
      await stopProcess(cur);
      removeDataDir(cur.dataDir);
      fs.rmSync(STATE, { force: true });
    }
    ensureJars();
    const port = Number(process.env.KAFKA_PORT) || (await freePort());
    const controllerPort = Number(process.env.KAFKA_CONTROLLER_PORT) || (await freePort());
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), TMP_PREFIX));
    let logFile;
    try {
      logFile = formatStorage(dataDir, writeConfig(dataDir, port, controllerPort));
    } catch (e) {
      removeDataDir(dataDir);
      throw e;
    }
    try {
      return await launch({ version: KAFKA_VERSION, port, controllerPort, dataDir, logFile });
    } catch (e) {
      await stopProcess(readState());
      throw e;
    } // keep dataDir+state: `down` cleans, log stays readable
  });
  console.log(brokersLine(s.port));
}

async function down() {
  await withLock(async () => {
    const s = readState();
    if (!s) {
      log('no broker state; nothing to stop');
      return;
    }
    const wasRunning = isOurBroker(s);
    await stopProcess(s);
    removeDataDir(s.dataDir);
    fs.rmSync(STATE, { force: true });
    log(`${wasRunning ? `stopped pid ${s.pid}` : 'broker was not running'}; removed ${s.dataDir}`);
  });
}

async function stopKeepData() {
  await withLock(async () => {
    const s = readState();
    if (!s) throw new Error('no broker state (run `up` first)');
    await stopProcess(s);
    writeState({ ...s, pid: null, stoppedAt: new Date().toISOString() });
    log(`stopped pid ${s.pid}; data kept in ${s.dataDir}, port ${s.port} reserved in ${path.relative(ROOT, STATE)}`);
  });
}

async function startKeepData() {
  const s = await withLock(async () => {
    const cur = readState();
    if (!cur || !fs.existsSync(path.join(cur.dataDir ?? '', 'server.properties')))
      throw new Error('no stopped broker with data (run `up` first)');
    if (isOurBroker(cur) && (await answering(cur.port))) return cur;
    await stopProcess(cur); // half-dead process from an earlier attempt
    return launch(cur);
  });
  console.log(brokersLine(s.port));
}

async function status() {
  const s = readState();
  if (s && isOurBroker(s) && (await apiVersions(s.port))) {
    console.log(`running pid=${s.pid} version=${s.version} dataDir=${s.dataDir} log=${s.logFile}`);
    console.log(brokersLine(s.port));
    return 0;
  }
  console.log(s?.pid === null ? `stopped (data kept in ${s.dataDir}, port ${s.port})` : 'not running');
  return 3; // LSB "not running", so scripts can branch on it
}

/**
 * A broker of the caller's own (not the one `up` shares: no state file, its own ports and temp data dir), with a
 * SASL_SSL listener when `saslSsl` is given (see saslSslProperties). Resolves once both listeners answer, to
 * { brokers: ['127.0.0.1:PLAINTEXT'], secureBrokers: ['127.0.0.1:SASL_SSL'], dataDir, logFile, pid, stop() }.
 * stop() ends the JVM and deletes the data dir; the exit of the calling process does both too, should it forget.
 */
export async function startBroker({ saslSsl } = {}) {
  if (!fs.existsSync(MARKER)) await withLock(async () => ensureJars());
  const port = await freePort();
  const controllerPort = await freePort();
  const securePort = saslSsl ? await freePort() : undefined;
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), TMP_PREFIX));
  let started;
  const stopNow = () => {
    if (started && isOurBroker(started)) {
      try {
        process.kill(started.pid, 'SIGKILL');
      } catch {
        /* exited meanwhile */
      }
    }
    removeDataDir(dataDir);
  };
  process.once('exit', stopNow);
  try {
    const config = writeConfig(dataDir, port, controllerPort, saslSsl && { ...saslSsl, port: securePort });
    const logFile = formatStorage(dataDir, config, saslSsl?.scram);
    await launch({ version: KAFKA_VERSION, port, controllerPort, securePort, dataDir, logFile }, (s) => (started = s));
  } catch (e) {
    if (started) await stopProcess(started);
    process.off('exit', stopNow);
    const logged = tail(path.join(dataDir, 'broker.log'));
    removeDataDir(dataDir);
    throw new Error(`${e.message}${e.message.includes('\n') ? '' : `\n${logged}`}`);
  }
  let stopping;
  return {
    brokers: [`127.0.0.1:${port}`],
    secureBrokers: securePort ? [`127.0.0.1:${securePort}`] : [],
    dataDir,
    logFile: started.logFile,
    pid: started.pid,
    stop: () =>
      (stopping ??= (async () => {
        await stopProcess(started);
        process.off('exit', stopNow);
        removeDataDir(dataDir);
      })()),
  };
}

function usage() {
  console.error(`usage: node scripts/kafka/kafka.mjs <up|down|status|stop-keep-data|start-keep-data>
  up               fetch jars if needed, start (or reuse) a broker, print KAFKA_BROKERS=127.0.0.1:PORT
  down             stop the broker, delete its data dir and state file (idempotent)
  status           exit 0 and print KAFKA_BROKERS=... when running, else exit 3
  stop-keep-data   stop the JVM but keep data dir + port (for broker-restart tests)
  start-keep-data  start it again on the same port and data dir
env: KAFKA_PORT, KAFKA_CONTROLLER_PORT, KAFKA_START_TIMEOUT_MS (default 90000)`);
  return 2;
}

// The command line only when run as a script, not when imported for startBroker().
if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  const commands = { up, down, status, 'stop-keep-data': stopKeepData, 'start-keep-data': startKeepData };
  const cmd = commands[process.argv[2]];
  try {
    process.exitCode = cmd ? ((await cmd()) ?? 0) : usage();
  } catch (e) {
    log(`error: ${e.message}`);
    process.exitCode = 1;
  }
}
