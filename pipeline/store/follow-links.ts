/**
 * Where a directory is, symbolic links followed (in it and its parents; a link to a directory not made
 * yet included). PGlite cannot start on a link (its file system answers ENOTDIR: `--db` given as
 * `/data/tuban → /mnt/disk1/tuban` failed with "file system error 20" and discarded the template), and
 * the lock and the server's socket beside an embedded database's directory must be one for every way
 * of naming it. Synchronous: a few system calls, once per command.
 */
import { lstatSync, readlinkSync, realpathSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';

export function followLinks(path: string, depth = 0): string {
  const absolute = resolve(path);
  try {
    return realpathSync(absolute);
  } catch {
    // Not there (yet), or a link that leads nowhere yet: followed by hand, then the parent.
  }
  const isLink = (() => {
    try {
      return lstatSync(absolute).isSymbolicLink();
    } catch {
      return false;
    }
  })();
  // A loop of links stops here and fails where it is used, naming the path.
  if (isLink && depth < 40) return followLinks(resolve(dirname(absolute), readlinkSync(absolute)), depth + 1);
  const parent = dirname(absolute);
  return parent === absolute ? absolute : join(followLinks(parent, depth + 1), basename(absolute));
}
