// Use it in your own tests: contact-orchestrator and Kafka in containers, an end over HTTP, its outcome on Kafka.
// (This file is the example of docs/testing.md, run as is by the project's CI.)
import { Kafka, logLevel } from 'kafkajs';
import { afterAll, beforeAll, expect, it } from 'vitest';
import {
  ApacheKafkaContainer,
  ContactOrchestratorContainer,
  type StartedApacheKafkaContainer,
  type StartedContactOrchestratorContainer,
} from 'contact-orchestrator/testcontainers';

let kafka: StartedApacheKafkaContainer;
let orchestrator: StartedContactOrchestratorContainer;

beforeAll(async () => {
  kafka = await new ApacheKafkaContainer().start(); // apache/kafka:4.4.0
  orchestrator = await new ContactOrchestratorContainer().withKafka(kafka).start(); // contact-orchestrator:local
}, 300_000);

afterAll(async () => {
  await orchestrator?.stop();
  await kafka?.stop();
});

it('ends a contact and publishes ContactEnded on contact.outcomes', async () => {
  const { securityUser } = await orchestrator.seedBusinessUnit('bu-example');
  const { contactId } = await orchestrator.call<{ contactId: string }>('POST', '/v1/contacts', {
    businessUnitId: 'bu-example',
    mediaType: 'Phone',
  });

  const ended = await orchestrator.call<{ branch: string }>(
    'POST',
    `/v1/contacts/${contactId}/end`,
    undefined,
    securityUser,
  );
  expect(ended.branch).toBe('OnSuccess');

  const consumer = new Kafka({ brokers: [kafka.getBootstrapServers()], logLevel: logLevel.NOTHING }).consumer({
    groupId: 'example',
  });
  await consumer.connect();
  await consumer.subscribe({ topic: 'contact.outcomes', fromBeginning: true });
  const outcome = await new Promise<{ type: string; streamId: string }>((resolve) => {
    void consumer.run({
      eachMessage: async ({ message }) => {
        const value = JSON.parse(message.value!.toString()) as { type: string; streamId: string };
        if (message.key?.toString() === contactId) resolve(value);
      },
    });
  });
  await consumer.disconnect();
  expect(outcome.type).toBe('ContactEnded');
}, 120_000);
