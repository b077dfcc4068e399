import { Module } from '@nestjs/common';
import { Credentials } from './credentials.js';
import { DirectoryController } from './directory.controller.js';
import { DirectoryService } from './directory.service.js';
import { IdentityProvider } from './identity-provider.js';

/** Agents, security profiles and the credentials every request is checked against. */
@Module({
  controllers: [DirectoryController],
  providers: [DirectoryService, Credentials, IdentityProvider],
  exports: [DirectoryService, Credentials, IdentityProvider],
})
export class DirectoryModule {}
