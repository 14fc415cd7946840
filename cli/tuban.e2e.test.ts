/**
 * End to end: the built `tuban batch` command on a generated scene with planted changes,
 * a prior epoch on another CRS grid, two tiles per side, clouds, a corrupt tile and an empty
 * zone file among the inputs. Needs `npm run build` first (npm test does it).
 */
import { modelHash, shippedChangeModel4Band } from '../pipeline/detect/change-model.js';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { booleanIntersects } from '@turf/turf';
import type { Feature, FeatureCollection, Polygon, Position } from 'geojson';
import { wgs84ToGcj02 } from '../geo/gcj02.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateScene, type SceneManifest } from '../fixtures/synthetic-scene.js';
import type { BatchReport } from '../pipeline/batch/batch-report.js';
import { DEFAULT_DETECTOR_PARAMS } from '../pipeline/detect/detector-params.js';
import { acquireDirectoryLock } from '../pipeline/store/directory-lock.js';
import { CLI, runCli } from './testing/run-cli.js';

let dir: string;
let scene: SceneManifest;

const tuban = (args: string[]) => runCli(args);

function batchArgs(out: string, extraZones: string[] = []): string[] {
  return ['batch', '--epoch', scene.epoch, '--tiles', scene.currentDir, '--prior', scene.priorDir, '--zones', scene.zonesPath, ...extraZones, '--out', out, '--db', join(dir, 'db')];
}

beforeAll(async () => {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run 'npm run build' before this test (npm test does)`);
  dir = await mkdtemp(join(tmpdir(), 'tuban-e2e-'));
  scene = await generateScene({ dir: join(dir, 'scene'), size: 640, seed: 11, tilesPerSide: 2, priorCrs: 'EPSG:4527', clouds: true });
  // Bad inputs beside good ones: a truncated TIFF among the tiles and an empty zone file.
  await writeFile(join(scene.currentDir, 'broken_tile.tif'), Buffer.from([0x49, 0x49, 0x2a, 0x00, 0x08, 0x00, 0x00, 0x00, 0x13]));
  await writeFile(join(dir, 'empty-zones.geojson'), JSON.stringify({ type: 'FeatureCollection', features: [] }));
}, 300_000);

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('tuban batch on a generated scene', () => {
  let first: { code: number; stdout: string; stderr: string };
  let polys: FeatureCollection<Polygon>;
  let report: BatchReport;

  it('completes, reports the bad inputs by name and writes every output', async () => {
    first = await tuban(batchArgs(join(dir, 'out1'), [join(dir, 'empty-zones.geojson')]));
    // broken_tile.tif was rejected: the batch completes, and says the month is incomplete (exit 3).
    expect(first.code, first.stdout).toBe(3);
    expect(first.stdout).toContain('Incomplete month: 1 tile input(s) rejected');
    // The empty zone file is a layer missing from every polygon's routing: said beside the tile.
    expect(first.stdout).toContain('1 zone file(s) rejected');
    for (const f of ['polygons.geojson', 'polygons.gpkg', 'ledger.csv', 'ledger.xlsx', 'not-observed.geojson', 'batch-report.json']) expect(existsSync(join(dir, 'out1', f)), f).toBe(true);
    polys = JSON.parse(await readFile(join(dir, 'out1', 'polygons.geojson'), 'utf8'));
    report = JSON.parse(await readFile(join(dir, 'out1', 'batch-report.json'), 'utf8'));
    const rejected = report.rejected.map((r) => `${r.error.code} ${r.subject}`);
    expect(rejected.some((r) => r.startsWith('TILE.UNREADABLE') && r.includes('broken_tile.tif')), rejected.join('\n')).toBe(true);
    expect(rejected.some((r) => r.startsWith('ZONES.EMPTY') && r.includes('empty-zones.geojson')), rejected.join('\n')).toBe(true);
    expect(report.tiles.filter((t) => t.status === 'done')).toHaveLength(4);
    expect(report.notObservedM2).toBeGreaterThan(0); // the scene has clouds
    const hidden = JSON.parse(await readFile(join(dir, 'out1', 'not-observed.geojson'), 'utf8')) as FeatureCollection;
    expect(hidden.features.length).toBeGreaterThan(0);
    expect(first.stdout).toContain('Polygons');
  });

  it('prints every warning of the report in the summary, and logs zone rejections to stderr and batch.log', async () => {
    for (const w of report.warnings) expect(first.stdout).toContain(w);
    const log = await readFile(join(dir, 'out1', 'batch.log'), 'utf8');
    for (const w of report.warnings) expect(log).toContain(JSON.stringify(w).slice(1, -1));
    for (const text of [log, first.stderr]) {
      const line = text.split('\n').find((l) => l.includes('ZONES.EMPTY'));
      expect(line, 'ZONES.EMPTY missing').toBeDefined();
      expect(line).toContain('empty-zones.geojson');
    }
  });

  it('names the file once on each rejection line of the summary', () => {
    const lines = first.stdout.split('\n').filter((l) => l.trimStart().startsWith('rejected '));
    expect(lines.length).toBe(report.rejected.length);
    for (const line of lines) {
      const file = /(\S+\.(?:tif|geojson))/.exec(line)?.[1];
      expect(file, line).toBeDefined();
      expect(line.split(file!).length - 1, line).toBe(1);
    }
  });

  it('finds at least 90 % of planted changes above the MMU, routed to the expected bureau and district', () => {
    const planted = scene.planted.filter((p) => p.areaM2 >= DEFAULT_DETECTOR_PARAMS.components.mmuM2 && p.expectedLead !== null);
    expect(planted.length).toBeGreaterThan(10);
    const misses: string[] = [];
    const misrouted: string[] = [];
    for (const p of planted) {
      const hits = polys.features.filter((f) => booleanIntersects(f.geometry, p.geometry));
      if (hits.length === 0) {
        misses.push(`${p.id} ${p.changeType} ${p.areaM2.toFixed(0)} m² in ${p.zoneKind}`);
        continue;
      }
      const biggest = hits.reduce((a, b) => ((a.properties?.area_m2 ?? 0) >= (b.properties?.area_m2 ?? 0) ? a : b));
      const props = biggest.properties ?? {};
      if (props.lead_bureau !== p.expectedLead || props.district_code !== p.expectedDistrictCode) {
        misrouted.push(`${p.id} in ${p.zoneKind}: expected ${p.expectedLead}/${p.expectedDistrictCode}, got ${props.lead_bureau}/${props.district_code} (${props.routing_reason})`);
      }
    }
    const found = planted.length - misses.length;
    expect(found / planted.length, `missed:\n${misses.join('\n')}`).toBeGreaterThanOrEqual(0.9);
    expect(misrouted, misrouted.join('\n')).toEqual([]);
  });

  it('issues no polygon for farming (vegetation loss on farmland) and counts it in the report', () => {
    const farming = scene.planted.filter((p) => p.expectedLead === null && p.areaM2 >= DEFAULT_DETECTOR_PARAMS.components.mmuM2);
    expect(farming.length).toBeGreaterThan(0);
    const issued = farming.filter((p) => polys.features.some((f) => f.properties?.change_type === 'vegetation_loss' && booleanIntersects(f.geometry, p.geometry)));
    expect(issued.map((p) => p.id)).toEqual([]);
    expect(report.counts.seasonal.polygons).toBeGreaterThan(0);
  });

  it("scores the 4-band scene with the 4-band model and records the settings its file carries ('auto')", () => {
    const m4 = shippedChangeModel4Band();
    expect(report.detector.models).toEqual([{ name: 'model-4band', version: m4.version, hash: modelHash(m4), scoring: m4.scoring }]);
    expect(report.detector.version).toBe(`0.8.0+model-4band.${m4.version}`);
    for (const f of polys.features) expect(f.properties?.detector_version).toBe(report.detector.version);
  });

  it('keeps false polygons to about 10 %', () => {
    const falsePolys = polys.features.filter((f) => !scene.planted.some((p) => booleanIntersects(f.geometry, p.geometry)));
    expect(polys.features.length).toBeGreaterThan(15);
    // About 20 polygons on this scene: one is 5 %, so the bound is 2 false ones in ~20 issued.
    expect(falsePolys.length / polys.features.length, falsePolys.map((f) => `${f.properties?.code} ${f.properties?.change_type} ${f.properties?.area_m2}`).join('\n')).toBeLessThanOrEqual(0.11);
  });

  it('gives every polygon the documented properties, and the ledger one row per new polygon', async () => {
    for (const f of polys.features) {
      const p = f.properties ?? {};
      expect(p.code).toMatch(/^\d{6}-\d{6}-\d{4}$/);
      expect(p.epoch).toBe(scene.epoch);
      expect(p.area_mu).toBeCloseTo(p.area_m2 / (10000 / 15), 1);
      expect(p.confidence).toBeGreaterThanOrEqual(0);
      expect(p.confidence).toBeLessThanOrEqual(1);
      expect(p.before_date).toBe(scene.beforeDate);
      expect(p.after_date).toBe(scene.afterDate);
      expect(Array.isArray(p.reasons) && p.reasons.length > 0).toBe(true);
      expect(p.detector_version).toBeTruthy();
    }
    const csv = (await readFile(join(dir, 'out1', 'ledger.csv'), 'utf8')).replace(/^\uFEFF/, '');
    const lines = csv.trim().split(/\r?\n/);
    expect(lines[0]).toContain('图斑编号');
    expect(lines.length - 1).toBe(polys.features.filter((f) => f.properties?.previous_code === null).length);
  });

  it('re-running the same batch gives the same codes and no duplicate rows', async () => {
    const again = await tuban(batchArgs(join(dir, 'out2'), [join(dir, 'empty-zones.geojson')]));
    expect(again.code, again.stdout).toBe(3);
    const polys2 = JSON.parse(await readFile(join(dir, 'out2', 'polygons.geojson'), 'utf8')) as FeatureCollection<Polygon>;
    const codes = (fc: FeatureCollection) => fc.features.map((f) => f.properties?.code).sort();
    expect(codes(polys2)).toEqual(codes(polys));
    const report2 = JSON.parse(await readFile(join(dir, 'out2', 'batch-report.json'), 'utf8')) as BatchReport;
    expect(report2.batchId).toBe(report.batchId);
    expect(report2.counts.polygons).toBe(report.counts.polygons);
  });

  it('tuban ledger and tuban report read the batch back from the database', async () => {
    const out = join(dir, 'ledger');
    const led = await tuban(['ledger', '--epoch', scene.epoch, '--db', join(dir, 'db'), '--out', out]);
    expect(led.code, led.stderr).toBe(0);
    // The batch's migrations create the workflow tables too (migration 2), but nobody has judged anything: every row 未核查.
    expect(led.stdout).toMatch(/: (\d+) rows \(\1 new sites, 0 clues\): 未核查 \1\n/);
    const csv = (await readFile(join(out, `ledger-${scene.epoch}.csv`), 'utf8')).replace(/^\uFEFF/, '');
    const batchCsv = (await readFile(join(dir, 'out1', 'ledger.csv'), 'utf8')).replace(/^\uFEFF/, '');
    const codes = (text: string) => text.trim().split(/\r?\n/).slice(1).map((l) => l.split(',')[4]);
    expect(codes(csv)).toEqual(codes(batchCsv));
    for (const f of ['xlsx', 'gpkg', 'shp.zip', 'geojson']) expect(existsSync(join(out, `ledger-${scene.epoch}.${f}`)), f).toBe(true);
    const [y, m] = scene.epoch.split('-').map(Number);
    const quarter = `${y}Q${Math.ceil(m / 3)}`;
    const rep = await tuban(['report', '--quarter', quarter, '--db', join(dir, 'db'), '--out', out]);
    expect(rep.code, rep.stderr).toBe(0);
    expect(rep.stdout).toContain('按区县');
    expect(existsSync(join(out, `report-${quarter}.xlsx`))).toBe(true);
    expect(led.stderr).not.toContain('no batch has run');
    // A month no batch ran for (a mistyped --epoch, say): an empty ledger, said to be one on stderr.
    const none = await tuban(['ledger', '--epoch', '2025-01', '--db', join(dir, 'db'), '--out', join(dir, 'ledger-none')]);
    expect(none.code, none.stderr).toBe(0);
    expect(none.stdout).toContain('ledger 2025-01: 0 rows');
    expect(none.stderr).toContain('no batch has run for 2025-01 in this database and no clue was filed for it: the ledger is empty (check --epoch and --db)');
    const bad = await tuban(['ledger', '--epoch', '2026-13', '--db', join(dir, 'db')]);
    expect(bad.code).toBe(64);
    // An unknown flag is refused before anything runs (cli/commands.ts), with the flag meant.
    const typo = await tuban(['ledger', '--epoch', scene.epoch, '--formats', 'csv', '--db', join(dir, 'db')]);
    expect(typo.code).toBe(64);
    expect(typo.stderr).toContain('did you mean --format?');
    const typo2 = await tuban(['report', '--quarter', quarter, '--epoch', scene.epoch, '--db', join(dir, 'db')]);
    expect(typo2.code).toBe(64);
    expect(typo2.stderr).toContain("unknown flag --epoch for 'tuban report'");
  });

  it('tuban ledger and tuban report take the embedded database lock like batch and migrate', async () => {
    // Held by this (live) test process: both commands must refuse with DB.LOCKED, exit 75, before opening it.
    const lock = await acquireDirectoryLock(join(dir, 'db'), { command: 'tuban e2e test' });
    try {
      for (const args of [['ledger', '--epoch', scene.epoch], ['report', '--quarter', '2026Q4']]) {
        const r = await tuban([...args, '--db', join(dir, 'db'), '--out', join(dir, 'locked')]);
        expect(r.code, `${args[0]}: ${r.stderr}`).toBe(75);
        expect(r.stderr).toContain('DB.LOCKED');
        expect(r.stderr).toContain(String(process.pid));
      }
    } finally {
      await lock.release();
    }
    expect(existsSync(join(dir, 'locked'))).toBe(false);
  });

  it('routes GCJ-02 districts (--zones file@gcj02) beside WGS84 layers like an all-WGS84 run', async () => {
    const zones = JSON.parse(await readFile(scene.zonesPath, 'utf8')) as FeatureCollection<Polygon>;
    const isDistrict = (f: Feature) => f.properties?.kind === 'district';
    // What a DataV download looks like: adcode/name/level, no kind, coordinates in GCJ-02.
    const gcj: FeatureCollection<Polygon> = {
      type: 'FeatureCollection',
      features: zones.features.filter(isDistrict).map((f) => ({
        type: 'Feature',
        properties: { adcode: f.properties!.code, name: f.properties!.name, level: 'district' },
        geometry: { type: 'Polygon', coordinates: f.geometry.coordinates.map((ring) => ring.map((p: Position) => wgs84ToGcj02(p[0], p[1]))) },
      })),
    };
    await writeFile(join(dir, 'districts-gcj02.json'), JSON.stringify(gcj));
    await writeFile(join(dir, 'thematic.geojson'), JSON.stringify({ ...zones, features: zones.features.filter((f) => !isDistrict(f)) }));
    const args = batchArgs(join(dir, 'out-mixed')).filter((a) => a !== scene.zonesPath);
    const zi = args.indexOf('--zones');
    args.splice(zi + 1, 0, join(dir, 'thematic.geojson'), `${join(dir, 'districts-gcj02.json')}@gcj02`);
    const mixed = await tuban(args);
    expect(mixed.code, mixed.stderr).toBe(3); // broken_tile.tif
    const polysMixed = JSON.parse(await readFile(join(dir, 'out-mixed', 'polygons.geojson'), 'utf8')) as FeatureCollection<Polygon>;
    const routing = (fc: FeatureCollection) => fc.features.map((f) => `${f.properties?.code} ${f.properties?.district_code} ${f.properties?.lead_bureau}`).sort();
    expect(routing(polysMixed)).toEqual(routing(polys));
    expect(mixed.stdout).toContain('districts-gcj02.json: converted from GCJ-02 to WGS84');
  });

  it('counts and lists polygons outside every district instead of silently coding them 000000', async () => {
    const zones = JSON.parse(await readFile(scene.zonesPath, 'utf8')) as FeatureCollection<Polygon>;
    const dropped = polys.features.filter((f) => f.properties?.district_code === '370102').length;
    expect(dropped).toBeGreaterThan(0);
    await writeFile(join(dir, 'zones-partial.geojson'), JSON.stringify({ ...zones, features: zones.features.filter((f) => f.properties?.code !== '370102') }));
    const args = batchArgs(join(dir, 'out-partial')).map((a) => (a === scene.zonesPath ? join(dir, 'zones-partial.geojson') : a));
    const r = await tuban(args);
    expect(r.code, r.stderr).toBe(3); // broken_tile.tif
    const rep = JSON.parse(await readFile(join(dir, 'out-partial', 'batch-report.json'), 'utf8')) as BatchReport;
    const outside = rep.counts.outsideDistricts!;
    // Polygons straddling the dropped district's border now fall to its neighbours: not all of them are outside.
    const unassigned = (JSON.parse(await readFile(join(dir, 'out-partial', 'polygons.geojson'), 'utf8')) as FeatureCollection).features.filter((f) => f.properties?.district_code === '000000');
    expect(outside.polygons).toBeGreaterThan(0);
    expect(outside.polygons).toBeLessThanOrEqual(dropped);
    expect(outside.codes.sort()).toEqual(unassigned.map((f) => f.properties?.code).sort());
    expect(outside.codes.every((c) => c.startsWith('000000-'))).toBe(true);
    expect(rep.warnings.some((w) => w.includes(`${outside.polygons} polygon(s)`) && w.includes('outside every district'))).toBe(true);
    expect(r.stdout).toContain(`Outside every district: ${outside.polygons} polygon(s)`);
    expect(r.stdout).toContain(outside.codes[0]);
    expect(await readFile(join(dir, 'out-partial', 'batch.log'), 'utf8')).toContain('outside every district');
  });

  it('stops before detection, exit 2, when no zone file gives a district (rejected or without districts)', async () => {
    const zones = JSON.parse(await readFile(scene.zonesPath, 'utf8')) as FeatureCollection<Polygon>;
    await writeFile(join(dir, 'no-districts.geojson'), JSON.stringify({ ...zones, features: zones.features.filter((f) => f.properties?.kind !== 'district') }));
    // (A path that names no file is a usage error before this: usage.e2e.test.ts.)
    const cases = [join(dir, 'no-districts.geojson'), join(dir, 'empty-zones.geojson')];
    for (const [i, zoneFile] of cases.entries()) {
      const out = join(dir, `out-nodistrict-${i}`);
      const r = await tuban(batchArgs(out).map((a) => (a === scene.zonesPath ? zoneFile : a)));
      expect(r.code, `${zoneFile}: ${r.stderr}`).toBe(2);
      expect(r.stderr).toContain('ZONES.NO_DISTRICTS');
      expect(r.stderr).toContain(zoneFile);
      expect(r.stderr).not.toMatch(/\n\s+at /); // a sentence, not a stack trace
      expect(r.stderr).not.toContain('tile done');
      expect(existsSync(join(out, 'batch-report.json'))).toBe(false);
    }
  });

  it('rejects tiles over the memory cap by name and exits 2 when none is left', async () => {
    const r = await new Promise<{ code: number; stdout: string }>((resolveRun) => {
      execFile(process.execPath, [CLI, ...batchArgs(join(dir, 'out4'))], { env: { ...process.env, TUBAN_MAX_TILE_BYTES: '100000' }, maxBuffer: 64 << 20 }, (err, stdout) =>
        resolveRun({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout }),
      );
    });
    expect(r.code, r.stdout).toBe(2);
    const rep = JSON.parse(await readFile(join(dir, 'out4', 'batch-report.json'), 'utf8')) as BatchReport;
    const tooLarge = rep.rejected.filter((x) => x.error.code === 'RASTER.TOO_LARGE');
    expect(tooLarge).toHaveLength(4);
    for (const x of tooLarge) expect(x.subject).toMatch(/S2_.*\.tif$/);
  });

  it('exits 2 when no tile can be used', async () => {
    const badDir = join(dir, 'only-bad');
    await rm(badDir, { recursive: true, force: true });
    await import('node:fs/promises').then((fs) => fs.mkdir(badDir, { recursive: true }));
    await writeFile(join(badDir, 'x.tif'), 'not a tiff at all');
    const r = await tuban(['batch', '--epoch', scene.epoch, '--tiles', badDir, '--prior', scene.priorDir, '--zones', scene.zonesPath, '--out', join(dir, 'out3'), '--db', join(dir, 'db')]);
    expect(r.code).toBe(2);
    const rep = JSON.parse(await readFile(join(dir, 'out3', 'batch-report.json'), 'utf8')) as BatchReport;
    expect(rep.rejected.some((x) => x.subject.endsWith('x.tif') && x.error.code === 'TILE.UNREADABLE')).toBe(true);
  });
});
