/**
 * The one place integration suites get real components from (docs/design.md, Real components in tests): the event store and Kafka, each
 * resolved as environment → testcontainers → (Kafka) a local KRaft broker → skipped with a printed reason.
 */
export { resolveEsdb, type EsdbResolution } from './event-store.js';
export { resolveKafka, type KafkaResolution } from './kafka.js';
export { printSkip, probeContainerRuntime } from './skip.js';
