/**
 * `mkdir -p` that always ends. Node's `mkdir(path, { recursive: true })` never returns for a path
 * under /proc or /sys: procfs answers ENOENT for a child it cannot hold, so the walk makes the
 * parent (which exists) and tries the child again, forever, at 100 % of a core. `tuban batch --out
 * /proc/x` hung before its first log line. Here each level is tried again only once its parent has
 * been made; an ENOENT after that is the answer, and is thrown.
 */
import { mkdir, stat } from 'node:fs/promises';
import { dirname } from 'node:path';

export async function makeDirectory(path: string, mode?: number): Promise<void> {
  const made = await tryMkdir(path, mode);
  if (made !== 'ENOENT') return;
  const parent = dirname(path);
  if (parent === path) throw missing(path);
  await makeDirectory(parent, mode);
  if ((await tryMkdir(path, mode)) === 'ENOENT') throw missing(path);
}

/** Made or already a directory: 'ok'; no parent: 'ENOENT'; anything else throws (EACCES, ENOTDIR, a file in the way). */
async function tryMkdir(path: string, mode: number | undefined): Promise<'ok' | 'ENOENT'> {
  try {
    await mkdir(path, { mode });
    return 'ok';
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return 'ENOENT';
    if (code === 'EEXIST' && (await stat(path).catch(() => null))?.isDirectory()) return 'ok';
    throw e;
  }
}

function missing(path: string): NodeJS.ErrnoException {
  return Object.assign(new Error(`ENOENT: cannot create directory '${path}' (its parent cannot hold it)`), { code: 'ENOENT', path });
}
