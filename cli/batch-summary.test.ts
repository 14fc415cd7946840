/**
 * The batch's summary on the terminal: each line a whole sentence an analyst can act on.
 */
import { describe, expect, it } from 'vitest';
import { summaryTable } from './batch-command.js';
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
});
