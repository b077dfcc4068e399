/**
 * Certificates for tests, made with the openssl command-line tool: a CA, and certificates it issues (a server's for
 * 127.0.0.1 and localhost, a client's). EC P-256 keys (fast to make), PEM files, unencrypted PKCS#8 keys; valid
 * for two days from now. Nothing is kept: the caller removes the folder.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export type Pem = { name: string; certFile: string; keyFile: string; cert: string; key: string };

/** Whether `openssl` runs here; the reason when it does not. */
export function opensslMissing(): string | undefined {
  const run = spawnSync('openssl', ['version'], { encoding: 'utf8' });
  if (run.error) return `openssl cannot be run (${run.error.message})`;
  return run.status === 0 ? undefined : `openssl version exited with ${run.status}: ${run.stderr}`;
}

function openssl(args: string[], cwd: string): void {
  execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
}

function files(dir: string, name: string): Pem {
  const certFile = join(dir, `${name}.pem`);
  const keyFile = join(dir, `${name}.key`);
  return { name, certFile, keyFile, cert: readFileSync(certFile, 'utf8'), key: readFileSync(keyFile, 'utf8') };
}

const KEY = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

/** A self-signed CA, `<dir>/<name>.pem` and `<dir>/<name>.key`. */
export function makeCa(dir: string, name: string): Pem {
  openssl(
    [
      'req',
      '-x509',
      ...KEY,
      '-keyout',
      `${name}.key`,
      '-out',
      `${name}.pem`,
      '-days',
      '2',
      '-subj',
      `/CN=${name}`,
      '-addext',
      'basicConstraints=critical,CA:TRUE',
      '-addext',
      'keyUsage=critical,keyCertSign,cRLSign',
    ],
    dir,
  );
  return files(dir, name);
}

/** A certificate `ca` issues: for a server (127.0.0.1 and localhost as names) or a client (`CN=<name>`). */
export function issue(ca: Pem, dir: string, name: string, role: 'server' | 'client'): Pem {
  openssl(['req', ...KEY, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${name}`], dir);
  const extensions = join(dir, `${name}.ext`);
  writeFileSync(
    extensions,
    [
      'basicConstraints=critical,CA:FALSE',
      'keyUsage=critical,digitalSignature,keyAgreement',
      role === 'server'
        ? 'extendedKeyUsage=serverAuth\nsubjectAltName=IP:127.0.0.1,DNS:localhost'
        : 'extendedKeyUsage=clientAuth',
    ].join('\n') + '\n',
  );
  openssl(
    [
      'x509',
      '-req',
      '-in',
      `${name}.csr`,
      '-CA',
      ca.certFile,
      '-CAkey',
      ca.keyFile,
      '-CAcreateserial',
      '-out',
      `${name}.pem`,
      '-days',
      '2',
      '-extfile',
      extensions,
    ],
    dir,
  );
  return files(dir, name);
}
