/**
 * The batch's exit code from its report: a cron script sees only this number, so a month with ground
 * unlooked at or a zone layer missing from the routing must not read as done (0).
 */
import { describe, expect, it } from 'vitest';
import { batchExitCode, EXIT_INCOMPLETE } from './batch-command.js';
import type { BatchReport } from '../pipeline/batch/batch-report.js';

const report = (tiles: string[], rejected: string[]): BatchReport =>
  ({
    tiles: tiles.map((status, i) => ({ id: `t${i}`, status })),
    rejected: rejected.map((code) => ({ subject: `/data/${code}.file`, error: { code, message: 'x', file: `/data/${code}.file` } })),
  }) as unknown as BatchReport;

describe('batchExitCode', () => {
  it('is 0 when every tile and zone file was used, a zone feature dropped one by one included', () => {
    expect(batchExitCode(report(['done', 'done'], []))).toBe(0);
    expect(batchExitCode(report(['done'], ['ZONES.INVALID_GEOMETRY', 'ZONES.UNKNOWN_KIND']))).toBe(0);
  });

  it('is 3 when a tile input was rejected', () => {
    expect(batchExitCode(report(['done', 'rejected'], ['TILE.UNREADABLE']))).toBe(EXIT_INCOMPLETE);
    expect(batchExitCode(report(['done'], ['INPUT.NOT_FOUND']))).toBe(EXIT_INCOMPLETE);
    // A tile given twice: its ground is observed (by the copy used), but the input wants mending.
    expect(batchExitCode(report(['done'], ['TILE.DUPLICATE']))).toBe(EXIT_INCOMPLETE);
  });

  it('is 3 when a zone file was rejected whole: its layer is missing from every polygon', () => {
    for (const code of ['ZONES.UNREADABLE', 'ZONES.EMPTY', 'ZONES.CRS_MISSING']) expect(batchExitCode(report(['done'], [code])), code).toBe(EXIT_INCOMPLETE);
  });

  it('is 2 when no tile was used', () => {
    expect(batchExitCode(report(['rejected'], ['TILE.NOT_OBSERVABLE']))).toBe(2);
  });
});
