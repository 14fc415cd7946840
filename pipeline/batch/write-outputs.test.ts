/**
 * The batch's output files are replaced all together or not at all: a file that cannot be written
 * (here a name taken by a directory; a full disk takes the same path) leaves the previous run's
 * files as they were and no temporary file behind, and the error names the folder and the cause.
 */
import { mkdir, mkdtemp, readFile, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { samplePolygon } from '../../fixtures/sample-polygon.js';
import { csvRows } from '../outputs/testing/csv-rows.js';
import { loadRuleTable } from '../route/load-rule-table.js';
import type { BatchReport } from './batch-report.js';
import { OUTPUT_FILES, writeOutputs } from './write-outputs.js';

const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

const report = () => ({ epoch: '2026-10', finishedAt: '2026-11-02T08:00:00.000Z', tiles: [], timings: {}, peakRssBytes: 0 }) as unknown as BatchReport;
const empty = { type: 'FeatureCollection' as const, features: [] };

describe('writeOutputs', () => {
  it('writes every file, and a second run replaces them all', async () => {
    const out = await mkdtemp(join(tmpdir(), 'tuban-out-'));
    dirs.push(out);
    const rules = await loadRuleTable();
    await writeOutputs(out, [samplePolygon()], report(), rules, empty);
    expect((await readdir(out)).sort()).toEqual([...OUTPUT_FILES].sort());
    await writeOutputs(out, [samplePolygon({ code: '370102-202610-0008' })], report(), rules, empty);
    expect(await readFile(join(out, 'ledger.csv'), 'utf8')).toContain('370102-202610-0008');
  });

  it("dates the ledger's 下发时间 by the day in China, as the triage server dates the batch's cases", async () => {
    const out = await mkdtemp(join(tmpdir(), 'tuban-out-'));
    dirs.push(out);
    // 04:00 on 1 December in China: still 30 November in UTC.
    await writeOutputs(out, [samplePolygon()], { ...report(), finishedAt: '2026-11-30T20:00:00.000Z' }, await loadRuleTable(), empty);
    const [row] = csvRows(await readFile(join(out, 'ledger.csv'), 'utf8'));
    expect([row!.下发时间, row!.办理期限]).toEqual(['2026-12-01', '2026-12-31']);
  });

  it('replaces none when one cannot be written, names the folder and leaves no temporary file', async () => {
    const out = await mkdtemp(join(tmpdir(), 'tuban-out-'));
    dirs.push(out);
    const rules = await loadRuleTable();
    await writeOutputs(out, [samplePolygon()], report(), rules, empty);
    const before = await readFile(join(out, 'polygons.geojson'), 'utf8');
    await rm(join(out, 'ledger.xlsx'));
    await mkdir(join(out, 'ledger.xlsx'));
    await writeFile(join(out, 'ledger.xlsx', 'keep'), 'x');
    await expect(writeOutputs(out, [samplePolygon({ code: '370102-202610-0008' })], report(), rules, empty)).rejects.toMatchObject({
      code: 'OUTPUT.WRITE_FAILED',
      message: expect.stringContaining(`${join(out, 'ledger.xlsx')} is a directory`),
    });
    expect(await readFile(join(out, 'polygons.geojson'), 'utf8')).toBe(before);
    expect((await readdir(out)).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  it('a full disk (ENOSPC) replaces none and leaves no partly written file taking the space', async () => {
    const out = await mkdtemp(join(tmpdir(), 'tuban-out-'));
    dirs.push(out);
    const rules = await loadRuleTable();
    await writeOutputs(out, [samplePolygon()], report(), rules, empty);
    const before = await readFile(join(out, 'ledger.csv'), 'utf8');
    // The ledger's file, staged beside its name, lands on a device that is full: each write is ENOSPC.
    await symlink('/dev/full', join(out, `.ledger.csv.tmp.${process.pid}.tmp`));
    await expect(writeOutputs(out, [samplePolygon({ code: '370102-202610-0008' })], report(), rules, empty)).rejects.toMatchObject({
      code: 'OUTPUT.WRITE_FAILED',
      message: expect.stringContaining('ENOSPC'),
    });
    expect(await readFile(join(out, 'ledger.csv'), 'utf8')).toBe(before);
    expect((await readdir(out)).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });
});
