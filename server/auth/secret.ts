/**
 * The token-signing secret: `TUBAN_SECRET` (at least 32 characters, checked by pipeline/config.ts) when set, else `<data>/secret`,
 * generated on first start with mode 0600. Never in the repository; losing it only signs everyone out.
 */
import { randomBytes } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { makeDirectory } from '../../pipeline/make-directory.js';

export async function loadSecret(dataDir: string, fromEnv: string | undefined): Promise<Buffer> {
  if (fromEnv !== undefined) {
    if (fromEnv.length < 32) throw new Error('TUBAN_SECRET must be at least 32 characters');
    return Buffer.from(fromEnv, 'utf8');
  }
  const path = join(dataDir, 'secret');
  await makeDirectory(dataDir, 0o700);
  try {
    // 'wx' fails if it exists: two servers starting at once keep the first one's secret.
    await writeFile(path, randomBytes(32).toString('hex') + '\n', { flag: 'wx', mode: 0o600 });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
  const text = (await readFile(path, 'utf8')).trim();
  if (text.length < 32) throw new Error(`${path}: the secret is shorter than 32 characters; delete the file to generate a new one`);
  return Buffer.from(text, 'utf8');
}
