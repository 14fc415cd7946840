import { existsSync, statSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeDirectory } from './make-directory.js';

let dir: string;
beforeAll(async () => { dir = await mkdtemp(join(tmpdir(), 'tuban-mkdir-')); });
afterAll(async () => { await rm(dir, { recursive: true, force: true }); });

describe('makeDirectory', () => {
  it('makes every missing level, and accepts one that exists', async () => {
    const deep = join(dir, 'a', 'b', 'c');
    await makeDirectory(deep);
    expect(statSync(deep).isDirectory()).toBe(true);
    await makeDirectory(deep);
    await makeDirectory(join(dir, 'a'));
  });

  it('gives new levels the mode asked for', async () => {
    const p = join(dir, 'private', 'inner');
    await makeDirectory(p, 0o700);
    expect(statSync(join(dir, 'private')).mode & 0o777).toBe(0o700);
    expect(statSync(p).mode & 0o777).toBe(0o700);
  });

  it('refuses a file in the way instead of treating it as a directory', async () => {
    const file = join(dir, 'file');
    await writeFile(file, 'x');
    await expect(makeDirectory(file)).rejects.toMatchObject({ code: 'EEXIST' });
    await expect(makeDirectory(join(file, 'below'))).rejects.toMatchObject({ code: 'ENOTDIR' });
  });

  // Node's own recursive mkdir spins forever here; this test would time out rather than pass.
  it.runIf(existsSync('/proc/self'))('ends with ENOENT under /proc, where nothing can be made', async () => {
    await expect(makeDirectory('/proc/tuban-no-such/out')).rejects.toMatchObject({ code: 'ENOENT' });
    await expect(makeDirectory('/proc/tuban-no-such')).rejects.toThrow(/cannot create directory '\/proc\/tuban-no-such'/);
  }, 5000);
});
