// `node dist/src/packaging/write-share.js [DIR]`: writes the man page and the completions into DIR (default
// dist/share, where package.json "man" and the install hook expect them).
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { shareFiles } from './share.js';

const here = path.dirname(fileURLToPath(import.meta.url));

/** Writes every file of `shareFiles` under `dir`; resolves to the paths written. */
async function writeShare(dir: string, version: string): Promise<string[]> {
  const written: string[] = [];
  for (const [relative, text] of shareFiles(version)) {
    const file = path.join(dir, relative);
    await mkdir(path.dirname(file), { recursive: true });
    await writeFile(file, text, { mode: 0o644 });
    written.push(file);
  }
  return written;
}

const pkg = JSON.parse(await readFile(path.join(here, '../../../package.json'), 'utf8')) as { version: string };
const dir = process.argv[2] ?? path.join(here, '../../share');
for (const file of await writeShare(dir, pkg.version)) process.stdout.write(`${path.relative(process.cwd(), file)}\n`);
