/** `contact-orchestrator/testcontainers`: the service and its Kafka in containers, for integrators' tests. */
export { ApacheKafkaContainer, KAFKA_IMAGE, StartedApacheKafkaContainer, freeLoopbackPort } from './kafka-container.js';
export {
  ContactOrchestratorContainer,
  ORCHESTRATOR_IMAGE,
  StartedContactOrchestratorContainer,
  type SeededBusinessUnit,
} from './orchestrator-container.js';
