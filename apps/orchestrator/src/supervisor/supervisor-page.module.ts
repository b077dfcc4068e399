import { Module } from '@nestjs/common';
import { SupervisorPageController } from './supervisor-page.controller.js';

/** The supervisor page's static assets, served by the service itself (no CDN, works offline). */
@Module({ controllers: [SupervisorPageController] })
export class SupervisorPageModule {}
