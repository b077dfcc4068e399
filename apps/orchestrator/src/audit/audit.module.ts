import { Module } from '@nestjs/common';
import { DirectoryModule } from '../directory/directory.module.js';
import { AuditController, AuditExports } from './audit.controller.js';
import { Auditors } from './auditor.js';

/** Audit and replay (docs/design.md, Audit and replay): the NDJSON export of the log. */
@Module({
  imports: [DirectoryModule],
  controllers: [AuditController],
  providers: [Auditors, AuditExports],
})
export class AuditModule {}
