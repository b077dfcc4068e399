import { Module } from '@nestjs/common';
import { Credentials } from './credentials.js';
import { DirectoryController } from './directory.controller.js';
import { DirectoryService } from './directory.service.js';

/** Agents, security profiles and the credentials every request is checked against. */
@Module({
  controllers: [DirectoryController],
  providers: [DirectoryService, Credentials],
  exports: [DirectoryService, Credentials],
})
export class DirectoryModule {}
