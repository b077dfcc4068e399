/**
 * Creates the forwarder's topics at start when the credentials allow it: the outcomes topic (partitioned by
 * contact ID) and the compacted checkpoint topic. "Already exists" is fine; "not allowed" is logged and start goes
 * on — an operator then owns the topics, and a missing one shows up as a forwarding error in status().
 */
import kafkajs from 'kafkajs';
import type { Admin, ITopicConfig } from 'kafkajs';
import type { Log } from '#runtime';

const { ConfigResourceTypes } = kafkajs;

export interface TopicsSpec {
  outcomes: { topic: string; partitions?: number; replicationFactor?: number };
  checkpoints: { topic: string; replicationFactor?: number };
}

export type TopicResult = 'created' | 'exists' | 'not-allowed' | 'failed';

export const DEFAULT_OUTCOME_PARTITIONS = 3;

/** Compacted: only the last checkpoint per forwarder matters; short segments let the cleaner keep the tail small. */
const CHECKPOINT_CONFIG = [
  { name: 'cleanup.policy', value: 'compact' },
  { name: 'segment.ms', value: String(60 * 60 * 1000) },
];

export async function ensureTopics(admin: Admin, spec: TopicsSpec, logger: Log): Promise<Record<string, TopicResult>> {
  const topics: ITopicConfig[] = [
    {
      topic: spec.outcomes.topic,
      numPartitions: spec.outcomes.partitions ?? DEFAULT_OUTCOME_PARTITIONS,
      replicationFactor: spec.outcomes.replicationFactor ?? -1,
    },
    {
      topic: spec.checkpoints.topic,
      numPartitions: 1,
      replicationFactor: spec.checkpoints.replicationFactor ?? -1,
      configEntries: CHECKPOINT_CONFIG,
    },
  ];
  const results: Record<string, TopicResult> = {};
  // One at a time: kafkajs reports a partly existing set as "already exists" without waiting for the new leaders.
  for (const config of topics) results[config.topic] = await createOne(admin, config, logger);
  if (results[spec.checkpoints.topic] === 'exists') await warnUnlessCompacted(admin, spec.checkpoints.topic, logger);
  logger.info(
    `outcome forwarder: topics ${Object.entries(results)
      .map(([t, r]) => `${t}=${r}`)
      .join(', ')}`,
  );
  return results;
}

async function createOne(admin: Admin, config: ITopicConfig, logger: Log): Promise<TopicResult> {
  try {
    return (await admin.createTopics({ topics: [config], waitForLeaders: true })) ? 'created' : 'exists';
  } catch (error) {
    const types = errorTypes(error);
    if (types.length > 0 && types.every((t) => t === 'TOPIC_ALREADY_EXISTS')) return 'exists';
    if (types.some((t) => t.endsWith('AUTHORIZATION_FAILED') || t === 'POLICY_VIOLATION')) {
      logger.warn(
        `outcome forwarder: not allowed to create topic ${config.topic} (${types.join(', ')}); an operator must create it`,
      );
      return 'not-allowed';
    }
    logger.warn(
      { err: error },
      `outcome forwarder: could not create topic ${config.topic}: ${(error as Error).message}`,
    );
    return 'failed';
  }
}

async function warnUnlessCompacted(admin: Admin, topic: string, logger: Log): Promise<void> {
  try {
    const described = await admin.describeConfigs({
      resources: [{ type: ConfigResourceTypes.TOPIC, name: topic, configNames: ['cleanup.policy'] }],
      includeSynonyms: false,
    });
    const policy = described.resources[0]?.configEntries.find((e) => e.configName === 'cleanup.policy')?.configValue;
    if (policy !== undefined && !policy.split(',').includes('compact')) {
      logger.warn(`outcome forwarder: checkpoint topic ${topic} has cleanup.policy=${policy}; it should be compact`);
    }
  } catch {
    // Describing is a courtesy check; not being allowed to is no reason to stop.
  }
}

export function errorTypes(error: unknown): string[] {
  const e = error as { type?: string; errors?: unknown[]; cause?: unknown } | undefined;
  if (Array.isArray(e?.errors)) return e.errors.flatMap(errorTypes);
  if (typeof e?.type === 'string') return [e.type];
  return e?.cause ? errorTypes(e.cause) : [];
}
