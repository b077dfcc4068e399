// npm run build:page: the page's HTML and CSS beside its compiled scripts in dist/apps/supervisor.
import { copyFileSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const out = join(here, '../../dist/apps/supervisor');
mkdirSync(out, { recursive: true });
for (const file of ['index.html', 'supervisor.css']) copyFileSync(join(here, file), join(out, file));
