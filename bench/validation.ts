/**
 * npm run bench:validation — what request validation costs on the EndContact path, for the two candidates of
 * TypeBox schemas compiled by ajv (Fastify's validator; what the service uses), and zod 4 schemas parsed as
 * nestjs-zod's ZodValidationPipe does (one `parse` per request part). The end request's parts: the
 * `Idempotency-Key` header and the optional `{commandId}` body; accepted and refused. Prints ns per request.
 */
import { performance } from 'node:perf_hooks';
import { z } from 'zod';
import { EndContactBody } from '../apps/orchestrator/src/contacts/contacts.schemas.js';
import { IdempotencyKeyHeader } from '../apps/orchestrator/src/http/schemas.js';
import { InvalidInputError, validate } from '../apps/orchestrator/src/http/validation.js';

const ITERATIONS = Number(process.env['BENCH_VALIDATION_ITERATIONS'] ?? 500_000);
const IDENTIFIER = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/;

const zodHeader = z.looseObject({ 'idempotency-key': z.string().min(1).max(128).regex(IDENTIFIER).optional() });
const zodBody = z.strictObject({ commandId: z.string().min(1).max(128).regex(IDENTIFIER).optional() });

const headers = {
  host: '127.0.0.1:3000',
  authorization: 'Bearer x',
  'content-type': 'application/json',
  'idempotency-key': 'end-5000123-retry-1',
};
const accepted = { commandId: 'end-5000123-retry-1' };
const refused = { commandId: 'end-5000123-retry-1', reason: 'done' };

type Candidate = { name: string; check(headers: unknown, body: unknown): boolean };

const candidates: Candidate[] = [
  {
    name: 'TypeBox + ajv (compiled)',
    check(h, b) {
      try {
        validate(IdempotencyKeyHeader, h);
        validate(EndContactBody, b);
        return true;
      } catch (error) {
        if (error instanceof InvalidInputError) return false;
        throw error;
      }
    },
  },
  {
    name: 'zod 4 parse (nestjs-zod pipe)',
    check(h, b) {
      // nestjs-zod's pipe calls parse and turns the thrown ZodError into its 400: a refusal throws, as ours does.
      try {
        zodHeader.parse(h);
        zodBody.parse(b);
        return true;
      } catch (error) {
        if (error instanceof z.ZodError) return false;
        throw error;
      }
    },
  },
];

function nsPerRequest(candidate: Candidate, body: unknown, expected: boolean): number {
  for (let i = 0; i < 20_000; i++) candidate.check(headers, body); // warm-up: JIT and ajv's compile
  const started = performance.now();
  for (let i = 0; i < ITERATIONS; i++) {
    if (candidate.check(headers, body) !== expected) throw new Error(`${candidate.name} answered wrongly`);
  }
  return ((performance.now() - started) * 1e6) / ITERATIONS;
}

console.log(
  `EndContact request validation (header + body), ${ITERATIONS.toLocaleString('en')} requests each, Node ${process.version}`,
);
console.log('| candidate | accepted (ns/request) | refused, unknown field (ns/request) |');
console.log('|---|---|---|');
for (const candidate of candidates) {
  const ok = nsPerRequest(candidate, accepted, true);
  const ko = nsPerRequest(candidate, refused, false);
  console.log(`| ${candidate.name} | ${ok.toFixed(0)} | ${ko.toFixed(0)} |`);
}
