/**
 * What a spec file that drives one service for all its tests repeats: the service started before them (as `npm start`
 * runs it, test/harness/service.ts) with a platform client and one business unit seeded; stopped after them, and its
 * data directory removed.
 */
import { afterAll, beforeAll } from 'vitest';
import { OrchestratorClient } from './client.js';
import { removeDataDir, startServiceProcess, type ServiceOptions, type ServiceProcess } from './service.js';

export type SeededBusinessUnit = Awaited<ReturnType<OrchestratorClient['seedBusinessUnit']>>;

export type FileService = { service: ServiceProcess; client: OrchestratorClient; bu: SeededBusinessUnit };

/** Registers the file's beforeAll and afterAll; what it gives is there from the first hook or test that runs after. */
export function serviceForFile(businessUnitId: string, options: ServiceOptions = {}): FileService {
  let service: ServiceProcess | undefined;
  let started: FileService | undefined;
  beforeAll(async () => {
    service = await startServiceProcess(options);
    const client = new OrchestratorClient(service.url, service.platformToken);
    started = { service, client, bu: await client.seedBusinessUnit(businessUnitId) };
  });
  afterAll(async () => {
    await service?.stop();
    if (service) removeDataDir(service.dataDir);
  });
  const ready = (): FileService => {
    if (started === undefined)
      throw new Error('the service of this file is not started yet: use it in a hook or a test');
    return started;
  };
  return {
    get service() {
      return ready().service;
    },
    get client() {
      return ready().client;
    },
    get bu() {
      return ready().bu;
    },
  };
}
