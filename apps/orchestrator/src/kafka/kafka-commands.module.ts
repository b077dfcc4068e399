import { Module } from '@nestjs/common';
import { KafkaCommandsStatus } from './kafka-support.js';

/** EndContact commands from Kafka: the consumer itself is a Nest microservice (kafka-commands.ts); this is its state. */
@Module({ providers: [KafkaCommandsStatus], exports: [KafkaCommandsStatus] })
export class KafkaCommandsModule {}
