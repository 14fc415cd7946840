/**
 * Folders import downward only (ARCHITECTURE.md, "Layers"). This reads every source file's import
 * specifiers as text — static, re-exports, `import('…')` — and fails on one that reaches a folder
 * its own folder may not use. A new top-level folder must be given its place here first.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = dirname(fileURLToPath(import.meta.url));

/**
 * What each folder may import besides itself, bottom to top. `server/` (the triage server) sits
 * beside `workers/`: both drive `pipeline/`, neither imports the other. `web/` is static assets.
 */
export const MAY_IMPORT: Record<string, readonly string[]> = {
  schemas: [],
  geo: ['schemas'],
  pipeline: ['schemas', 'geo'],
  workers: ['schemas', 'geo', 'pipeline'],
  server: ['schemas', 'geo', 'pipeline'],
  cli: ['schemas', 'geo', 'pipeline', 'workers', 'server'],
  fixtures: ['schemas', 'geo', 'pipeline'],
  evaluation: ['schemas', 'geo', 'pipeline', 'fixtures'],
  scripts: ['schemas', 'geo', 'pipeline', 'workers', 'server', 'cli', 'fixtures', 'evaluation'],
  // The TypeScript loader vitest gives worker threads (vitest.config.ts execArgv): Node built-ins only.
  'test-support': [],
};

/** `schemas/` is the contract layer: besides itself, only zod, and types (erased) from `geojson`. */
const SCHEMA_PACKAGES = ['zod'];
const SCHEMA_TYPE_PACKAGES = ['geojson'];

/**
 * Tests (`*.test.ts`) and test helpers (files under a `testing/` folder, kept out of the build) may
 * also use the seeded scenes in `fixtures/`. Anything else upward is a violation, except these,
 * each with its reason; an entry that no longer occurs fails too, so the list only shrinks.
 */
const KNOWN: Record<string, string> = {
  'geo/tile-reader.test.ts -> pipeline/catalogue.ts': 'builds TileInfo from written TIFFs with the real catalogue',
};

const SOURCE = /\.(ts|mts|js|mjs)$/;
const SKIP_DIRS = new Set(['node_modules', 'dist', 'out', 'bench-results', '.git', '.tuban']);

function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    if (e.name.startsWith('.') || SKIP_DIRS.has(e.name)) continue;
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...sourceFiles(p));
    else if (SOURCE.test(e.name) && dir !== ROOT) out.push(relative(ROOT, p));
  }
  return out;
}

interface Import {
  spec: string;
  typeOnly: boolean;
}

/** Import specifiers of a source text: `import … from`, `export … from`, `import '…'`, `import('…')`. */
export function importsOf(text: string): Import[] {
  const code = text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/^\s*\/\/.*$/gm, '');
  const out: Import[] = [];
  for (const m of code.matchAll(/^\s*(import|export)(\s+type\b)?[^'"`;]*?\sfrom\s*['"]([^'"]+)['"]/gm)) out.push({ spec: m[3], typeOnly: m[2] !== undefined });
  for (const m of code.matchAll(/^\s*import\s*['"]([^'"]+)['"]/gm)) out.push({ spec: m[1], typeOnly: false });
  for (const m of code.matchAll(/\bimport\(\s*['"]([^'"]+)['"]\s*\)/g)) out.push({ spec: m[1], typeOnly: false });
  return out;
}

const isTestCode = (file: string) => /\.test\.[mc]?[jt]s$/.test(file) || file.split('/').includes('testing');

/** The violations in a set of files (path relative to the root → source text). */
export function layerViolations(files: ReadonlyMap<string, string>): string[] {
  const bad: string[] = [];
  for (const [file, text] of files) {
    const layer = file.split('/')[0];
    const allowed = MAY_IMPORT[layer];
    if (!allowed) {
      bad.push(`${file}: folder '${layer}' has no place in MAY_IMPORT`);
      continue;
    }
    for (const { spec, typeOnly } of importsOf(text)) {
      if (!spec.startsWith('.')) {
        const pkg = spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0];
        if (layer === 'schemas' && !SCHEMA_PACKAGES.includes(pkg) && !(typeOnly && SCHEMA_TYPE_PACKAGES.includes(pkg))) bad.push(`${file} -> ${spec} (schemas/ imports only zod)`);
        continue;
      }
      const target = relative(ROOT, resolve(ROOT, dirname(file), spec)).replace(/\.js$/, '.ts');
      const to = target.split('/')[0];
      if (to === layer || allowed.includes(to) || (isTestCode(file) && to === 'fixtures')) continue;
      bad.push(`${file} -> ${target}`);
    }
  }
  return bad;
}

describe('layers', () => {
  const files = new Map(sourceFiles(ROOT).map((f) => [f, readFileSync(join(ROOT, f), 'utf8')]));

  it('reads the tree', () => {
    expect(files.size).toBeGreaterThan(100);
    expect(importsOf(files.get('cli/tuban.ts')!).map((i) => i.spec)).toContain('./batch-command.js');
  });

  it('every folder imports only the folders below it', () => {
    const bad = layerViolations(files);
    expect(bad.filter((v) => !(v in KNOWN))).toEqual([]);
    expect(Object.keys(KNOWN).filter((k) => !bad.includes(k))).toEqual([]); // fixed: remove it from KNOWN
  });

  it('catches an upward import, a package in schemas/ and an unplaced folder', () => {
    const probe = new Map([
      ['geo/x.ts', "import { config } from '../pipeline/config.js';\nimport type { Raster } from './raster.js';"],
      ['pipeline/batch/y.ts', "export { startWorker } from '../../workers/queue/start-worker.js';"],
      ['schemas/z.ts', "import { readFile } from 'node:fs/promises';\nimport type { Polygon } from 'geojson';\nimport { z } from 'zod';"],
      ['pipeline/w.ts', "const m = await import('../cli/tuban.js');"],
      ['geo/v.test.ts', "import { generateScene } from '../fixtures/synthetic-scene.js';"],
      ['misc/u.ts', "import { z } from 'zod';"],
    ]);
    expect(layerViolations(probe)).toEqual([
      'geo/x.ts -> pipeline/config.ts',
      'pipeline/batch/y.ts -> workers/queue/start-worker.ts',
      'schemas/z.ts -> node:fs/promises (schemas/ imports only zod)',
      'pipeline/w.ts -> cli/tuban.ts',
      "misc/u.ts: folder 'misc' has no place in MAY_IMPORT",
    ]);
  });
});
