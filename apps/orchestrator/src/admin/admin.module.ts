import { Module } from '@nestjs/common';
import { DirectoryModule } from '../directory/directory.module.js';
import { ReadSideModule } from '../read-side/read-side.module.js';
import { ViewsRebuildController } from './views-rebuild.controller.js';

/** Operations on the running service (platform credential): the online rebuild of the views. */
@Module({ imports: [DirectoryModule, ReadSideModule], controllers: [ViewsRebuildController] })
export class AdminModule {}
