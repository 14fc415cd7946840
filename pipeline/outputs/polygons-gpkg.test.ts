import { describe, expect, it } from 'vitest';
import { samplePolygon } from '../../fixtures/sample-polygon.js';
import { queryRows, sqlJs } from '../../geo/vector/sqlite.js';
import { loadRuleTable } from '../route/load-rule-table.js';
import { polygonsGpkgBytes } from './polygons-gpkg.js';
import { startPolygonsGpkgThread } from './polygons-gpkg-thread.js';

/** Every table's rows, with the one value that is the time of writing (gpkg_contents.last_change) left out. */
async function contents(bytes: Uint8Array): Promise<Record<string, Record<string, unknown>[]>> {
  const SQL = await sqlJs();
  const db = new SQL.Database(bytes);
  try {
    const tables = queryRows(db, "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").map((r) => String(r.name));
    return Object.fromEntries(tables.map((t) => [t, queryRows(db, `SELECT * FROM "${t}"`).map(({ last_change: _, ...row }) => row)]));
  } finally {
    db.close();
  }
}

/** The GeoPackage encoded on a new thread, asked at once. */
const onThread: typeof polygonsGpkgBytes = (polygons, bureaus) => startPolygonsGpkgThread().encode(polygons, bureaus);

describe('polygons.gpkg encoded on its thread', () => {
  it('writes the GeoPackage that polygonsGpkgBytes writes on this thread', async () => {
    const rules = await loadRuleTable();
    const polys = [
      samplePolygon(),
      samplePolygon({ code: '370102-202610-0002', previousCode: '370102-202609-0007', coBureaus: [], overlaps: {}, townshipCode: null, townshipName: null, villageCode: null, villageName: null }),
      // A bureau the rule table does not name: the id stands in for the name, on both threads.
      samplePolygon({ code: '370102-202610-0003', leadBureau: 'unnamed_bureau' as never }),
    ];
    const [here, there] = await Promise.all([polygonsGpkgBytes(polys, rules.bureaus), onThread(polys, rules.bureaus)]);
    const table = (await contents(there)).polygons;
    expect(table).toHaveLength(3);
    expect(table[2].lead_bureau_name).toBe('unnamed_bureau');
    // 乡镇/街道: the township's code and name, null outside every township.
    expect(table.map((r) => [r.township_code, r.township_name])).toEqual([['370102001', '解放路街道'], [null, null], ['370102001', '解放路街道']]);
    // 村/社区 likewise.
    expect(table.map((r) => [r.village_code, r.village_name])).toEqual([['370102001002', '文化东路社区'], [null, null], ['370102001002', '文化东路社区']]);
    expect(typeof table[0].lead_bureau_name).toBe('string');
    expect(table[0].lead_bureau_name).not.toBe(polys[0].leadBureau);
    expect(await contents(there)).toEqual(await contents(here));
  });

  it('rejects with the encoder\'s error when a polygon cannot be written', async () => {
    const rules = await loadRuleTable();
    const bad = samplePolygon({ geometry: { type: 'LineString', coordinates: [[117, 36], [117.1, 36.1]] } as never });
    await expect(onThread([bad], rules.bureaus)).rejects.toThrow(/polygons\.gpkg/);
  });

  it('starts before it is asked, answers once, and a thread closed unasked answers nothing', async () => {
    const rules = await loadRuleTable();
    const early = startPolygonsGpkgThread();
    await new Promise((r) => setTimeout(r, 50)); // the polygons are still being read
    const bytes = await early.encode([samplePolygon()], rules.bureaus);
    expect((await contents(bytes)).polygons).toHaveLength(1);
    await expect(early.encode([samplePolygon()], rules.bureaus)).rejects.toThrow(/already asked or closed/);
    const unasked = startPolygonsGpkgThread();
    unasked.close();
    unasked.close();
    await expect(unasked.encode([samplePolygon()], rules.bureaus)).rejects.toThrow(/already asked or closed/);
  });
});
