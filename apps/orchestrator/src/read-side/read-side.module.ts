import { Module } from '@nestjs/common';
import { ViewsService } from './views.service.js';

/** The views, projected in a worker thread and read without blocking. */
@Module({ providers: [ViewsService], exports: [ViewsService] })
export class ReadSideModule {}
