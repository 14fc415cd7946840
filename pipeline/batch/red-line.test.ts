/**
 * A 生态保护红线 (ecological protection red line) layer among a batch's zone files: measured in every
 * polygon's overlaps and the ledger's 生态保护红线面积(亩) / 是否涉及生态保护红线, and nothing else.
 * The domain gives the red line no lead bureau and no priority of its own (DOMAIN.md, routing_rules.yaml),
 * so a polygon is routed and prioritised as it was without the layer, and a batch without the layer
 * gives the ledger columns it had before the same values.
 */
import { createHash } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import type { MonitoringPolygon } from '../../schemas/polygon.js';
import { csvCell } from '../outputs/csv-cell.js';
import { LEDGER_COLUMNS, type LedgerRow } from '../outputs/ledger.js';
import { polygonFeature } from '../outputs/polygons-geojson.js';
import { BASE_ZONE_FILES, RED_LINE_FILE, SCENE_DETECTIONS, finaliseScene, sceneLedger } from './testing/red-line-scene.js';

type Situation = keyof typeof SCENE_DETECTIONS;
const NEW_COLUMNS = ['生态保护红线面积(亩)', '是否涉及永久基本农田', '是否涉及生态保护红线'];
/** Columns added beside the red line's since e33ea2d (the digest below is of that ledger's columns). */
const OTHER_NEW_COLUMNS = ['村', '违法性质', '补办手续文号', '补办手续面积(亩)', '补办手续面积(平方米)', '补办手续其中耕地面积(亩)'];
const RED_LINE_COLUMNS = ['生态保护红线面积(亩)', '是否涉及生态保护红线'];

/** The polygon of each situation, found by its centre (codes are given north to south, west to east). */
function bySituation(polygons: MonitoringPolygon[]): Record<Situation, MonitoringPolygon> {
  return Object.fromEntries(
    Object.entries(SCENE_DETECTIONS).map(([k, d]) => {
      const [[x0, y0], , [x1, y1]] = d.geometry.coordinates[0];
      const p = polygons.find((q) => Math.abs(q.centroid[0] - (x0 + x1) / 2) < 1e-6 && Math.abs(q.centroid[1] - (y0 + y1) / 2) < 1e-6);
      if (!p) throw new Error(`no polygon for ${k}`);
      return [k, p];
    }),
  ) as Record<Situation, MonitoringPolygon>;
}

const without = (row: LedgerRow, columns: string[]) => Object.fromEntries(Object.entries(row).filter(([c]) => !columns.includes(c)));

describe('a batch with a 生态保护红线 layer', () => {
  let before: MonitoringPolygon[], after: MonitoringPolygon[];
  let b: Record<Situation, MonitoringPolygon>, a: Record<Situation, MonitoringPolygon>;
  let rowsBefore: LedgerRow[], rowsAfter: LedgerRow[];
  beforeAll(async () => {
    before = await finaliseScene(BASE_ZONE_FILES);
    after = await finaliseScene({ ...BASE_ZONE_FILES, redline: RED_LINE_FILE });
    [b, a] = [bySituation(before), bySituation(after)];
    rowsBefore = sceneLedger(before);
    rowsAfter = sceneLedger(after);
  });
  const row = (rows: LedgerRow[], s: Situation, p: Record<Situation, MonitoringPolygon>) => rows.find((r) => r.图斑编号 === p[s].code)!;

  it('measures the red line in each polygon\'s overlaps and in polygons.geojson, read from a KIND of STBHHX or 生态保护红线', () => {
    expect(a.farmland.overlaps.ecological_redline!.share).toBeCloseTo(0.5, 3);
    expect(a.water.overlaps.ecological_redline!.share).toBeCloseTo(0.5, 3);
    for (const s of ['urban', 'forest', 'redOnly'] as const) expect(a[s].overlaps.ecological_redline!.share, s).toBeCloseTo(1, 3);
    expect(a.nothing.overlaps.ecological_redline).toBeUndefined();
    expect(before.every((p) => p.overlaps.ecological_redline === undefined)).toBe(true);
    // polygons.geojson shows it as it shows its neighbours: {kind: {m2, share}}.
    const props = polygonFeature(a.farmland, (id) => id).properties;
    expect(props.overlaps.ecological_redline).toEqual({ m2: expect.closeTo(a.farmland.areaM2 / 2, 0), share: 0.5 });
    expect(Object.keys(props.overlaps).sort()).toEqual(['ecological_redline', 'permanent_basic_farmland']);
  });

  it('routes and prioritises every polygon as it did without the layer: same codes, lead, co-bureaus, reason and priority', () => {
    expect(after.map((p) => p.code)).toEqual(before.map((p) => p.code));
    const { ecological_redline: _, ...rest } = a.redOnly.overlaps;
    expect(rest).toEqual({});
    // In the red line only, ≈ 400 m²: the default bureau, normal priority, as outside every zone.
    expect(a.redOnly).toMatchObject({ leadBureau: 'natural_resources', ruleId: 'default_land_use', priority: 'normal', priorityReasons: [] });
    expect([a.urban.leadBureau, a.forest.leadBureau, a.water.leadBureau, a.farmland.leadBureau]).toEqual(['urban_management', 'forestry', 'ecology_environment', 'natural_resources']);
    const strip = (p: MonitoringPolygon) => {
      const { ecological_redline: _red, ...overlaps } = p.overlaps;
      return { ...p, overlaps };
    };
    expect(after.map(strip)).toEqual(before);
  });

  it('fills 生态保护红线面积(亩) and 是否涉及生态保护红线 from the layer, and leaves every other column as without it', () => {
    const cells = (rows: LedgerRow[], p: Record<Situation, MonitoringPolygon>) =>
      Object.fromEntries((Object.keys(SCENE_DETECTIONS) as Situation[]).map((s) => [s, [row(rows, s, p)['生态保护红线面积(亩)'], row(rows, s, p).是否涉及生态保护红线, row(rows, s, p).是否涉及永久基本农田]]));
    // 10 003 m² = 15.0 亩, half of it 7.5; ≈ 400 m² = 0.6 亩.
    expect(cells(rowsAfter, a)).toEqual({
      farmland: [7.5, '是', '是'],
      urban: [15, '是', '否'],
      forest: [15, '是', '否'],
      redOnly: [0.6, '是', '否'],
      water: [7.5, '是', '是'],
      nothing: [0, '否', '否'],
    });
    expect(cells(rowsBefore, b)).toEqual({
      farmland: [0, '否', '是'],
      urban: [0, '否', '否'],
      forest: [0, '否', '否'],
      redOnly: [0, '否', '否'],
      water: [0, '否', '是'],
      nothing: [0, '否', '否'],
    });
    expect(rowsAfter.map((r) => without(r, RED_LINE_COLUMNS))).toEqual(rowsBefore.map((r) => without(r, RED_LINE_COLUMNS)));
  });

  it('gives the columns the ledger had before the red line the values they had then (a batch without the layer)', () => {
    // sha256 of ledger.csv for this scene without the layer, written by the code before the red line
    // (commit e33ea2d: ledgerCsvBytes(sceneLedger(await finaliseScene(BASE_ZONE_FILES)))).
    const oldColumns = LEDGER_COLUMNS.filter((c) => !NEW_COLUMNS.includes(c) && !OTHER_NEW_COLUMNS.includes(c));
    expect(oldColumns).toHaveLength(LEDGER_COLUMNS.length - NEW_COLUMNS.length - OTHER_NEW_COLUMNS.length);
    const lines = [oldColumns.map(csvCell).join(','), ...rowsBefore.map((r) => oldColumns.map((c) => csvCell(r[c])).join(','))];
    const csv = Buffer.from('\uFEFF' + lines.join('\r\n') + '\r\n', 'utf8');
    expect(createHash('sha256').update(csv).digest('hex')).toBe('fc7421a7111945bef48c1e6f328c1fb0182cdb0bc8403252ecd4ce4fbb130ec5');
    // Some of those values, readable.
    expect(['永久基本农田面积(亩)', '占城镇开发边界面积(亩)', '耕地面积(亩)', '主办单位', '优先级'].map((c) => row(rowsBefore, 'water', b)[c as never])).toEqual([3.75, 0, 3.75, '生态环境局', '重点']);
  });
});
