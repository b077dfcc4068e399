import { Module } from '@nestjs/common';
import { FanoutService } from './fanout.service.js';

/** The Kafka outcome forwarder (a subscription of the event store); idle without KAFKA_BROKERS. */
@Module({ providers: [FanoutService], exports: [FanoutService] })
export class FanoutModule {}
