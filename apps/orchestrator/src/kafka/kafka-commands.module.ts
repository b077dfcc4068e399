import { Module } from '@nestjs/common';
import { KafkaCommandsService } from './kafka-commands.js';
import { KafkaCommandsStatus } from './kafka-support.js';

/** EndContact commands from Kafka: the consumer (started and stopped by app.module.ts's Lifecycle) and its state. */
@Module({
  providers: [KafkaCommandsStatus, KafkaCommandsService],
  exports: [KafkaCommandsStatus, KafkaCommandsService],
})
export class KafkaCommandsModule {}
