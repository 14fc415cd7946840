/**
 * The batch's summary on the terminal: each line a whole sentence an analyst can act on.
 */
import { describe, expect, it } from 'vitest';
import { batchExitCode, EXIT_INCOMPLETE, summaryTable } from './batch-command.js';
import type { BatchReport } from '../pipeline/batch/batch-report.js';

const report = {
  batchId: '202610-abc',
  epoch: '2026-10',
  mode: 'embedded',
  database: 'pglite',
  tiles: [{ id: 't0', status: 'done' }],
  rejected: [],
  warnings: [],
  notObservedShare: 0.018,
  notObservedM2: 2.15e6,
  counts: { polygons: 68, newSites: 68, continuingSites: 0, highPriority: 62, seasonal: { polygons: 4, areaM2: 4000 }, byDistrict: {}, byLeadBureau: {} },
  timings: {},
  totalSeconds: 15.8,
  peakRssBytes: 1e9,
} as unknown as BatchReport;

describe('the batch summary', () => {
  it('says where farming changes set aside are decided: the rule table\'s seasonal section', () => {
    const line = summaryTable(report).split('\n').find((l) => l.startsWith('Not issued:'));
    expect(line).toBe("Not issued: 4 farming changes (harvest, mowing; 0.4 ha), set aside by the rule table's seasonal section (--rules)");
  });

  it('says a re-run kept its codes and cases, so nobody looks for duplicates in the inboxes; a first run says nothing of it', () => {
    expect(summaryTable(report)).not.toMatch(/Re-run|Resumed/);
    const rerun = { earlier: 'finished', firstRunAt: '2026-11-03T06:05:09.000Z', supersedes: [], polygonsBefore: 68, codesKept: 68, codesNew: 0, codesGone: 0, casesKept: 68, casesNew: 0, casesGone: 0 } as const;
    const lines = summaryTable({ ...report, rerun }).split('\n');
    expect(lines[lines.findIndex((l) => l.startsWith('Polygons 68')) + 1]).toBe('Re-run of batch 202610-abc (first run 2026-11-03 06:05 UTC): 68 polygons, the same codes; 0 awaiting a case, 68 cases kept, 0 whose polygon is gone');
    const changed = { ...rerun, codesKept: 66, codesNew: 2, codesGone: 1, casesKept: 66, casesNew: 2, casesGone: 1 };
    expect(summaryTable({ ...report, rerun: changed })).toContain(
      "Re-run of batch 202610-abc (first run 2026-11-03 06:05 UTC): 68 polygons, 66 under the codes they had, 2 new, 1 code no longer found; 2 awaiting a case (the server's next pass opens one, or joins it to an open case at the same site), 66 cases kept, 1 whose polygon is gone (the server withdraws it as 图形灭失 if nobody touched it, else flags it for the lead bureau)",
    );
    expect(summaryTable({ ...report, rerun: { ...rerun, earlier: 'interrupted', casesKept: 0, casesNew: 68 } })).toContain(
      "Resumed batch 202610-abc (first started 2026-11-03 06:05 UTC; that run stopped before it finished): 68 polygons, the same codes; 68 awaiting a case (the server's next pass opens one, or joins it to an open case at the same site), 0 cases kept, 0 whose polygon is gone",
    );
    expect(summaryTable({ ...report, rerun: { ...rerun, earlier: null, firstRunAt: null, supersedes: ['202610-old'] } })).toContain('Re-run over the tiles of batch 202610-old: 68 polygons, the same codes;');
  });

  it('says the ground not observed is unknown when no tile could be placed, not 0 km²', () => {
    const nothing = { ...report, tiles: [{ id: 't0', status: 'rejected' }], rejected: [{ subject: '/data/x.tif', error: { code: 'TILE.UNREADABLE', message: 'not a TIFF', file: '/data/x.tif' } }], notObservedShare: 1, notObservedM2: 0, notObservedUnknown: true } as unknown as BatchReport;
    const line = summaryTable(nothing).split('\n').find((l) => l.startsWith('Tiles used'));
    expect(line).toBe('Tiles used 0, rejected inputs 1; not observable: every tile (no footprint known: no tile could be placed)');
    expect(summaryTable(report).split('\n').find((l) => l.startsWith('Tiles used'))).toBe('Tiles used 1, rejected inputs 0; not observable 1.8 % (2.15 km²)');
  });

  it("says a tile kept from the batch's earlier run is a damaged file, not ground left unobserved; the month still exits 3", () => {
    const error = { code: 'TILE.UNREADABLE', message: '/data/t1.tif: chunk 0 does not decode', subject: '/data/t1.tif' };
    const kept = {
      ...report,
      tiles: [{ tileId: 't0', status: 'done' }, { tileId: 't1', status: 'done', keptFromEarlierRun: { file: '/data/t1.tif', error, storedAt: '2026-11-03T06:05:09.000Z' } }],
      rejected: [{ subject: '/data/t1.tif', error }],
      warnings: ["/data/t1.tif: cannot be read now (TILE.UNREADABLE: chunk 0 does not decode); tile t1's result … is kept from this batch's earlier run …"],
    } as unknown as BatchReport;
    const lines = summaryTable(kept).split('\n');
    expect(lines).toContain('  rejected  TILE.UNREADABLE        /data/t1.tif: chunk 0 does not decode');
    expect(lines.some((l) => l.startsWith('  warning   /data/t1.tif: cannot be read now'))).toBe(true);
    expect(lines.find((l) => l.startsWith('Incomplete month:'))).toBe(
      "Incomplete month: 1 tile file(s) cannot be read now: their tiles' results are kept from this batch's earlier run (above; exit 3)",
    );
    expect(batchExitCode(kept)).toBe(EXIT_INCOMPLETE);
    // A prior of the tile not read now: the tile's own file is healthy, the prior file is named as one.
    const priorError = { ...error, subject: '/data/p1.tif' };
    const keptForPrior = {
      ...kept,
      tiles: [{ tileId: 't1', files: ['/data/t1.tif'], status: 'done', keptFromEarlierRun: { file: '/data/p1.tif', error: priorError, storedAt: '2026-11-03T06:05:09.000Z' } }],
      rejected: [{ subject: '/data/p1.tif', error: priorError }],
    } as unknown as BatchReport;
    expect(summaryTable(keptForPrior).split('\n').find((l) => l.startsWith('Incomplete month:'))).toBe(
      "Incomplete month: 1 prior file(s) cannot be read now: the results of the tiles compared with them are kept from this batch's earlier run (above; exit 3)",
    );
  });

  it('says a tile given twice (the same imagery under other names, or two deliveries) wants its copy removed, not that ground was left unobserved', () => {
    const error = { code: 'TILE.DUPLICATE', message: '/data/T50SMG (1).tif: the same imagery as /data/T50SMG.tif …', subject: '/data/T50SMG (1).tif' };
    const twice = { ...report, rejected: [{ subject: '/data/T50SMG (1).tif', error }] } as unknown as BatchReport;
    expect(summaryTable(twice).split('\n').find((l) => l.startsWith('Incomplete month:'))).toBe(
      'Incomplete month: 1 tile file(s) left out, another copy of their tile used: remove them (is a tile missing, or another delivery wanted?) (above; exit 3)',
    );
    expect(batchExitCode(twice)).toBe(EXIT_INCOMPLETE);
  });

  // A file with no readable header (truncated before its image directory, not a TIFF) has no footprint
  // to write: the line said its ground was in not-observed.geojson all the same.
  it('says an incomplete month\'s rejected tiles are not observed, and that not-observed.geojson has only those whose header was read', () => {
    const truncated = { ...report, rejected: [{ subject: '/data/x.tif', error: { code: 'TILE.UNREADABLE', message: 'truncated', file: '/data/x.tif' } }], rejectedNotObservedM2: 0 } as unknown as BatchReport;
    const line = summaryTable(truncated).split('\n').find((l) => l.startsWith('Incomplete month'));
    expect(line).toBe('Incomplete month: 1 tile input(s) rejected: their ground was not observed, not "no change" (not-observed.geojson has the footprint of each whose header could be read) (above; exit 3)');
  });

  it("says the truth of a kept tile's other priors that did not decode now: no ground was marked for them", () => {
    const error = { code: 'TILE.UNREADABLE', message: '/data/t1.tif: chunk 0 does not decode', subject: '/data/t1.tif' };
    const priorError = { code: 'TILE.UNREADABLE', message: '/data/p1.tif: chunk 0 does not decode', subject: '/data/p1.tif' };
    const kept = {
      ...report,
      tiles: [
        { tileId: 't0', status: 'done' },
        { tileId: 't1', status: 'done', keptFromEarlierRun: { file: '/data/t1.tif', error, storedAt: '2026-11-03T06:05:09.000Z', rejectedPriors: [{ subject: '/data/p1.tif', error: priorError }] } },
      ],
      rejected: [{ subject: '/data/t1.tif', error }, { subject: '/data/p1.tif', error: priorError }],
      warnings: [],
    } as unknown as BatchReport;
    expect(summaryTable(kept).split('\n').find((l) => l.startsWith('Incomplete month:'))).toBe(
      "Incomplete month: 1 tile file(s) cannot be read now: their tiles' results are kept from this batch's earlier run; " +
        '1 prior file(s) of those tiles could not be read now either: no ground is marked for them, the kept results stand (above; exit 3)',
    );
    // The same prior rejected by a tile read now (it fell back past it): its ground there is marked.
    const shared = { ...kept, tiles: [{ tileId: 't0', status: 'done', rejectedPriors: [{ subject: '/data/p1.tif', error: priorError }] }, kept.tiles[1]] } as unknown as BatchReport;
    expect(summaryTable(shared).split('\n').find((l) => l.startsWith('Incomplete month:'))).toBe(
      "Incomplete month: 1 tile input(s) rejected: their ground was not observed, not \"no change\" (not-observed.geojson has the footprint of each whose header could be read); 1 tile file(s) cannot be read now: their tiles' results are kept from this batch's earlier run (above; exit 3)",
    );
  });
});

