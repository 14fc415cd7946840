import { existsSync } from 'node:fs';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { booleanPointInPolygon, distance, point } from '@turf/turf';
import type { Polygon } from 'geojson';
import { beforeAll, describe, expect, it } from 'vitest';
import { writeGeoPackage } from '../geo/vector/write-gpkg.js';
import { loadLandUse, loadZones, onceEachZoneFile, resolveZoneKind } from './zones.js';

const square = (lon: number, lat: number, d = 0.01): Polygon => ({
  type: 'Polygon',
  coordinates: [[[lon, lat], [lon + d, lat], [lon + d, lat + d], [lon, lat + d], [lon, lat]]],
});
const fc = (features: { properties: Record<string, unknown>; geometry: unknown; id?: string }[]) =>
  JSON.stringify({ type: 'FeatureCollection', features: features.map((f) => ({ type: 'Feature', ...f })) });

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tuban-zones-'));
});

describe('resolveZoneKind', () => {
  it('maps canonical names, English aliases and Chinese layer names', () => {
    expect(resolveZoneKind('forest')).toBe('forest');
    expect(resolveZoneKind(' Water-Source Protection ')).toBe('drinking_water_source');
    expect(resolveZoneKind('basic_farmland')).toBe('permanent_basic_farmland');
    expect(resolveZoneKind('永久基本农田')).toBe('permanent_basic_farmland');
    expect(resolveZoneKind('饮用水水源保护区')).toBe('drinking_water_source');
    expect(resolveZoneKind('城镇开发边界')).toBe('urban_construction');
    expect(resolveZoneKind('golf_course')).toBeNull();
  });

  it('maps the names of a 生态保护红线 layer to ecological_redline, and not a bare 红线 (道路红线 is a road line)', () => {
    for (const label of ['ecological_redline', '生态保护红线', '生态红线', '生态保护红线区', '生态保护红线范围', 'STBHHX', 'stbhhx', 'eco_redline', 'Eco-Redline', 'ecological red line', 'Ecological Protection Red Line']) {
      expect(resolveZoneKind(label), label).toBe('ecological_redline');
    }
    for (const label of ['红线', '道路红线', 'red_line', 'redline']) expect(resolveZoneKind(label), label).toBeNull();
  });
});

describe('loadZones', () => {
  it('loads kinds from kind/zone_kind/KIND/type, reports unknown kinds with counts, keeps ids deterministic', async () => {
    const path = join(dir, 'mixed.geojson');
    await writeFile(path, fc([
      { id: 'f1', properties: { kind: 'forest' }, geometry: square(117, 36) },
      { properties: { zone_kind: '耕地' }, geometry: square(117.1, 36) },
      { properties: { KIND: 'basic_farmland' }, geometry: square(117.2, 36) },
      { properties: { type: 'golf' }, geometry: square(117.3, 36) },
      { properties: { type: 'golf' }, geometry: square(117.4, 36) },
      { properties: { other: 1 }, geometry: square(117.5, 36) },
    ]));
    const r = await loadZones([path]);
    expect(r.zones.map((z) => [z.id, z.kind])).toEqual([
      ['mixed.geojson#f1', 'forest'],
      ['mixed.geojson#1', 'farmland'],
      ['mixed.geojson#2', 'permanent_basic_farmland'],
    ]);
    expect(r.zones[0].source).toBe(path);
    expect(r.rejected).toHaveLength(1);
    expect(r.rejected[0].error.code).toBe('ZONES.UNKNOWN_KIND');
    expect(r.rejected[0].subject).toBe(path);
    expect(r.rejected[0].error.message).toContain("'golf' ×2");
    expect(r.rejected[0].error.message).toContain("'(no kind property)' ×1");
  });

  it('says which column of a file without a kind property holds the kinds, naming the columns it has', async () => {
    // A district GeoJSON with Chinese column names (类型 区县, 区县代码, 区县名称) was rejected as
    // "'(no kind property)' ×2" with no word of which names are read or what the file has instead.
    const path = join(dir, 'cn-columns.geojson');
    await writeFile(path, fc([
      { properties: { 区县代码: '370102', 区县名称: '历下区', 类型: '区县' }, geometry: square(117, 36.6) },
      { properties: { 区县代码: '370103', 区县名称: '市中区', 类型: '区县' }, geometry: square(117.1, 36.6) },
    ]));
    const r = await loadZones([path]);
    expect(r.zones).toEqual([]);
    expect(r.rejected[0].error.message).toContain(
      "'(no kind property)' ×2: a feature's kind is read from its column kind, zone_kind, KIND, ZONE_KIND, type or TYPE; these features have 区县代码, 区县名称, 类型, and 类型 holds zone kinds (区县): rename that column kind " +
        '(a district also needs its code in code, adcode or XZQDM and its name in name or XZQMC)',
    );
  });

  it('repairs a self-intersecting bowtie and reports it by feature id, keeping the other features', async () => {
    const path = join(dir, 'bowtie.geojson');
    const bowtie = { type: 'Polygon', coordinates: [[[117, 36], [117.01, 36.01], [117.01, 36], [117, 36.01], [117, 36]]] };
    await writeFile(path, fc([
      { id: 'good', properties: { kind: 'forest' }, geometry: square(117.2, 36) },
      { id: 'tie', properties: { kind: 'forest' }, geometry: bowtie },
      { id: 'line', properties: { kind: 'forest' }, geometry: { type: 'Polygon', coordinates: [[[117, 36], [117.1, 36], [117, 36]]] } },
    ]));
    const r = await loadZones([path]);
    // Repaired and kept is not rejected: it is counted apart, the dropped one is rejected.
    expect(r.repaired.map((b) => [b.subject, b.error.code])).toEqual([['bowtie.geojson#tie', 'ZONES.INVALID_GEOMETRY']]);
    expect(r.repaired[0].error.message).toMatch(/repaired by re-noding \(kept\)/);
    const bad = r.rejected.filter((x) => x.error.code === 'ZONES.INVALID_GEOMETRY');
    expect(bad.map((b) => b.subject)).toEqual(['bowtie.geojson#line']);
    expect(bad[0].error.message).toMatch(/dropped/);
    expect(r.zones.map((z) => z.id)).toEqual(['bowtie.geojson#good', 'bowtie.geojson#tie']);
    const fixed = r.zones[1].geometry;
    expect(fixed.type).toBe('MultiPolygon'); // the two lobes of the bowtie
    // Lobes left and right of the crossing at (117.005, 36.005); nothing below or above it.
    expect(booleanPointInPolygon(point([117.002, 36.005]), fixed)).toBe(true);
    expect(booleanPointInPolygon(point([117.008, 36.005]), fixed)).toBe(true);
    expect(booleanPointInPolygon(point([117.005, 36.002]), fixed)).toBe(false);
  });

  it('repairs a polygon whose hole lies outside its shell (issue 15), and rejects one whose hole covers the shell', async () => {
    const path = join(dir, 'hole-outside.geojson');
    const shell = square(117, 36).coordinates[0];
    const farHole = [[117.05, 36.05], [117.05, 36.06], [117.06, 36.06], [117.06, 36.05], [117.05, 36.05]];
    const coverHole = [[116.9, 35.9], [116.9, 36.1], [117.1, 36.1], [117.1, 35.9], [116.9, 35.9]];
    const innerHole = [[117.004, 36.004], [117.004, 36.006], [117.006, 36.006], [117.006, 36.004], [117.004, 36.004]];
    await writeFile(path, fc([
      { id: 'far', properties: { kind: 'forest' }, geometry: { type: 'Polygon', coordinates: [shell, farHole] } },
      { id: 'cover', properties: { kind: 'forest' }, geometry: { type: 'Polygon', coordinates: [shell, coverHole] } },
      { id: 'ok', properties: { kind: 'forest' }, geometry: { type: 'Polygon', coordinates: [shell, innerHole] } },
    ]));
    const r = await loadZones([path]);
    expect(r.repaired.map((x) => x.subject)).toEqual(['hole-outside.geojson#far']);
    expect(r.repaired[0].error.message).toMatch(/hole 1 lies outside its shell; repaired by dropping the hole \(kept\)/);
    expect(r.rejected.map((x) => [x.subject, x.error.code])).toEqual([['hole-outside.geojson#cover', 'ZONES.INVALID_GEOMETRY']]);
    expect(r.rejected[0].error.message).toMatch(/covers its shell.*dropped/);
    expect(r.zones.map((z) => z.id)).toEqual(['hole-outside.geojson#far', 'hole-outside.geojson#ok']);
    const far = r.zones[0].geometry as Polygon;
    expect(far.coordinates).toHaveLength(1); // the stray hole is gone, the shell is whole
    expect(booleanPointInPolygon(point([117.005, 36.005]), far)).toBe(true);
    expect((r.zones[1].geometry as Polygon).coordinates).toHaveLength(2); // a proper hole stays
  });

  it('rejects empty and unreadable files by name while the other files load', async () => {
    const empty = join(dir, 'empty.geojson');
    await writeFile(empty, fc([]));
    const broken = join(dir, 'broken.gpkg');
    await writeFile(broken, 'garbage');
    const good = join(dir, 'water.gpkg');
    await writeGeoPackage(good, [{ name: 'water', features: [{ geometry: square(117, 36.5), properties: { kind: 'drinking_water_source' } }] }]);
    const r = await loadZones([empty, broken, good]);
    expect(r.zones.map((z) => [z.kind, z.id])).toEqual([['drinking_water_source', 'water.gpkg#1']]);
    expect(r.rejected.map((x) => [x.subject, x.error.code])).toEqual([
      [empty, 'ZONES.EMPTY'],
      [broken, 'ZONES.UNREADABLE'],
    ]);
  });

  it('loads the real DataV Jinan districts (GCJ-02) as districts, shifted back to WGS84', async () => {
    const path = resolve(import.meta.dirname, '../../shared/data/vectors/china_admin_datav/370100_city_districts.geojson');
    if (!existsSync(path)) throw new Error(`shared data missing: expected ${path} (checkout ../shared/data beside the project)`);
    // Unsaid, it is refused by name: read as WGS84 it would route border polygons to the wrong district.
    const unsaid = await loadZones([path]);
    expect(unsaid.zones).toEqual([]);
    expect(unsaid.rejected.map((x) => [x.subject, x.error.code])).toEqual([[path, 'ZONES.CRS_MISSING']]);
    // It says both ways out, in the syntax the CLI takes.
    expect(unsaid.rejected[0].error.message).toContain(`--zones ${path}@gcj02`);
    expect(unsaid.rejected[0].error.message).toContain(`--zones ${path}@wgs84`);
    // Said to be WGS84 already (a converted copy keeps DataV's properties), it is read as it is.
    const raw = await loadZones([path], { crsByPath: { [path]: 'EPSG:4326' } });
    expect(raw.rejected).toEqual([]);
    expect(raw.warnings.join('\n')).not.toMatch(/GCJ-02/);
    const r = await loadZones([path], { zonesCrs: 'gcj02' });
    expect(r.rejected).toEqual([]);
    expect(r.zones.length).toBeGreaterThanOrEqual(10);
    expect(r.zones.every((z) => z.kind === 'district')).toBe(true);
    const lixia = r.zones.find((z) => z.code === '370102');
    expect(lixia?.name).toBe('历下区');
    expect(r.warnings.join('\n')).toMatch(/loaded as districts/);
    // Same vertex before and after: the GCJ-02 offset near Jinan is several hundred metres.
    const a = (raw.zones.find((z) => z.code === '370102')!.geometry.coordinates[0] as number[][][])[0][0] as [number, number];
    const b = (lixia!.geometry.coordinates[0] as number[][][])[0][0] as [number, number];
    const shift = distance(a, b, { units: 'kilometers' }) * 1000;
    expect(shift).toBeGreaterThan(200);
    expect(shift).toBeLessThan(800);
  });
});

describe('loadZones: a DataV file of cities is not a district layer', () => {
  it('rejects the prefecture-level cities of a province-children file (level city, codes ending in 00) instead of routing to them as districts', async () => {
    const path = resolve(import.meta.dirname, '../../shared/data/vectors/china_admin_datav/320000_province_children.geojson');
    if (!existsSync(path)) throw new Error(`shared data missing: expected ${path} (checkout ../shared/data beside the project)`);
    const r = await loadZones([path], { zonesCrs: 'gcj02' });
    expect(r.zones.filter((z) => z.kind === 'district')).toEqual([]);
    expect(r.rejected.map((x) => x.error.code)).toEqual(['ZONES.UNKNOWN_KIND']);
    expect(r.rejected[0].error.message).toMatch(/13 feature\(s\) are cities or provinces, not 区县 districts \(320100 南京市, 320200 无锡市, 320300 徐州市 …\)/);
    expect(r.rejected[0].error.message).toContain('320100_full.json');
    // A municipality's children are its districts (Chongqing: level district), and stay so.
    const cq = await loadZones([resolve(import.meta.dirname, '../../shared/data/vectors/china_admin_datav/500000_province_children.geojson')], { zonesCrs: 'gcj02' });
    expect(cq.rejected).toEqual([]);
    expect(cq.zones.filter((z) => z.kind === 'district').length).toBe(38);
  });

  it('names the CRS a DataV-looking file declares as the way out for a converted copy (@wgs84 would read its metres as degrees)', async () => {
    const gk = join(dir, 'datav-gk.geojson');
    const [x, y] = [500000, 4060000];
    await writeFile(gk, JSON.stringify({
      type: 'FeatureCollection',
      crs: { type: 'name', properties: { name: 'urn:ogc:def:crs:EPSG::4548' } },
      features: [{ type: 'Feature', properties: { adcode: 370102, name: '历下区', level: 'district' }, geometry: { type: 'Polygon', coordinates: [[[x, y], [x + 5000, y], [x + 5000, y + 5000], [x, y + 5000], [x, y]]] } }],
    }));
    const unsaid = await loadZones([gk]);
    expect(unsaid.rejected.map((x) => x.error.code)).toEqual(['ZONES.CRS_MISSING']);
    expect(unsaid.rejected[0].error.message).toContain(`--zones ${gk}@EPSG:4548`);
    expect(unsaid.rejected[0].error.message).not.toContain('@wgs84');
    // The way out it names works.
    const said = await loadZones([gk], { crsByPath: { [gk]: 'EPSG:4548' } });
    expect(said.rejected).toEqual([]);
    expect(said.zones.map((z) => z.code)).toEqual(['370102']);
  });

  it('keeps a file\'s explicit kind district, and district codes of a hand-made file without a level', async () => {
    const a = join(dir, 'county-codes.geojson');
    await writeFile(a, fc([{ properties: { adcode: '370102', name: '历下区' }, geometry: square(117, 36.6) }, { properties: { adcode: '370100', name: '济南市' }, geometry: square(117.1, 36.6) }]));
    const r = await loadZones([a]);
    expect(r.zones.map((z) => z.code)).toEqual(['370102']);
    expect(r.rejected.map((x) => x.error.message).join()).toMatch(/1 feature\(s\) are cities or provinces, not 区县 districts \(370100 济南市\)/);
    const b = join(dir, 'explicit-kind.geojson');
    await writeFile(b, fc([{ properties: { kind: 'district', code: '370100', name: '济南市' }, geometry: square(117, 36.6) }]));
    expect((await loadZones([b])).zones.map((z) => z.code)).toEqual(['370100']);
  });
});

describe('loadZones: 乡镇/街道 (township) layers', () => {
  it('reads the kind names people use for townships', () => {
    for (const label of ['township', 'Town', 'street', '乡镇', '街道', '乡镇街道', '乡镇/街道', '乡级行政区']) expect(resolveZoneKind(label), label).toBe('township');
  });

  it('takes the code from code/adcode/XZQDM and the name from name/XZQMC, warning on a code of the wrong length but keeping it', async () => {
    const path = join(dir, 'townships.geojson');
    await writeFile(path, fc([
      { id: 't1', properties: { kind: '乡镇', XZQDM: '370112001', XZQMC: '王家镇' }, geometry: square(117, 36.6) },
      { id: 't2', properties: { kind: '街道', code: '370112002000', name: '城关街道' }, geometry: square(117.1, 36.6) },
      { id: 't3', properties: { kind: 'town', adcode: '37011203', NAME: '短码镇' }, geometry: square(117.2, 36.6) },
      { id: 't4', properties: { kind: 'street', XZMC: '无码街道' }, geometry: square(117.3, 36.6) },
      { id: 't5', properties: { kind: 'township' }, geometry: square(117.4, 36.6) },
    ]));
    const r = await loadZones([path]);
    expect(r.rejected).toEqual([]);
    expect(r.zones.map((z) => [z.kind, z.code, z.name])).toEqual([
      ['township', '370112001', '王家镇'],
      ['township', '370112002000', '城关街道'],
      ['township', '37011203', '短码镇'],
      ['township', undefined, '无码街道'],
    ]);
    expect(r.warnings.join('\n')).toMatch(/t3 has code 37011203, not a 9-digit/);
    expect(r.warnings.join('\n')).toMatch(/t5 has neither a code .* nor a name .*; skipped/);
  });

  it('loads a file of 9- or 12-digit XZQDM codes without a kind column as townships, not districts', async () => {
    const path = join(dir, 'xzq-township.geojson');
    await writeFile(path, fc([
      { properties: { XZQDM: '370112001', XZQMC: '王家镇' }, geometry: square(117, 36.6) },
      { properties: { XZQDM: '370112002000', XZQMC: '城关街道' }, geometry: square(117.1, 36.6) },
    ]));
    const r = await loadZones([path]);
    expect(r.rejected).toEqual([]);
    expect(r.zones.map((z) => [z.kind, z.code])).toEqual([['township', '370112001'], ['township', '370112002000']]);
    expect(r.warnings.join('\n')).toMatch(/loaded as townships/);
  });
});

describe('loadZones: 村/社区 (village) layers', () => {
  it('reads the kind names people use for villages, and keeps 村庄规划 a routing zone', () => {
    for (const label of ['village', 'Village', 'admin_village', 'community', 'CJQ', 'CJDCQ', '村', '社区', '行政村', '村级行政区', '村级调查区', '村/社区', '村社区']) expect(resolveZoneKind(label), label).toBe('village');
    expect(resolveZoneKind('村庄规划')).toBe('village_planning');
    expect(resolveZoneKind('village_planning')).toBe('village_planning');
  });

  it('takes the code from code/XZQDM/CJDM and the name from name/XZQMC/CJMC, warning on a code that is no 村级 code but keeping it', async () => {
    const path = join(dir, 'villages.geojson');
    await writeFile(path, fc([
      { id: 'v1', properties: { kind: '村', CJDM: '370112001201', CJMC: '东村' }, geometry: square(117, 36.6) },
      { id: 'v2', properties: { kind: '社区', XZQDM: '370112002001', XZQMC: '城关社区' }, geometry: square(117.1, 36.6) },
      { id: 'v3', properties: { kind: 'village', code: '370112002000', name: '镇码村' }, geometry: square(117.2, 36.6) },
      { id: 'v4', properties: { kind: '行政村', CJMC: '无码村' }, geometry: square(117.3, 36.6) },
      { id: 'v5', properties: { kind: 'village' }, geometry: square(117.4, 36.6) },
    ]));
    const r = await loadZones([path]);
    expect(r.rejected).toEqual([]);
    expect(r.zones.map((z) => [z.kind, z.code, z.name])).toEqual([
      ['village', '370112001201', '东村'],
      ['village', '370112002001', '城关社区'],
      ['village', '370112002000', '镇码村'],
      ['village', undefined, '无码村'],
    ]);
    expect(r.warnings.join('\n')).toMatch(/v3 has code 370112002000, not a 12-digit 村\/社区 code/);
    expect(r.warnings.join('\n')).not.toMatch(/v1 has code|v2 has code/);
    expect(r.warnings.join('\n')).toMatch(/v5 has neither a code .* nor a name .*; skipped \(a village planning layer is kind village_planning/);
  });

  it('loads a file of 12-digit codes without a kind column by its codes: ending in 000 a township, else a village', async () => {
    const path = join(dir, 'xzq-villages.geojson');
    await writeFile(path, fc([
      { properties: { XZQDM: '370112001', XZQMC: '王家镇' }, geometry: square(117, 36.6) },
      { properties: { XZQDM: '370112002000', XZQMC: '城关街道' }, geometry: square(117.1, 36.6) },
      { properties: { XZQDM: '370112002001', XZQMC: '城关社区' }, geometry: square(117.1, 36.6, 0.005) },
      { properties: { XZQDM: '370112001201', XZQMC: '东村' }, geometry: square(117, 36.6, 0.005) },
    ]));
    const r = await loadZones([path]);
    expect(r.rejected).toEqual([]);
    expect(r.zones.map((z) => [z.kind, z.code, z.name])).toEqual([
      ['township', '370112001', '王家镇'],
      ['township', '370112002000', '城关街道'],
      ['village', '370112002001', '城关社区'],
      ['village', '370112001201', '东村'],
    ]);
    expect(r.warnings.join('\n')).toMatch(/loaded as 2 township\(s\) \(9 digits, or 12 ending in 000\) and 2 village\(s\)/);
    // Only villages: none a township.
    const only = join(dir, 'xzq-only-villages.geojson');
    await writeFile(only, fc([{ properties: { adcode: '370112001201', name: '东村' }, geometry: square(117, 36.6) }]));
    expect((await loadZones([only])).zones.map((z) => z.kind)).toEqual(['village']);
  });
});

describe('loadZones with a CRS per file', () => {
  it('converts only the file given as GCJ-02, whatever zonesCrs says for the others', async () => {
    const a = join(dir, 'per-file-a.geojson');
    const b = join(dir, 'per-file-b.geojson');
    await writeFile(a, fc([{ properties: { kind: 'district', code: '370102' }, geometry: square(117, 36.6) }]));
    await writeFile(b, fc([{ properties: { kind: 'farmland' }, geometry: square(117, 36.6) }]));
    const r = await loadZones([a, b], { crsByPath: { [a]: 'gcj02' } });
    const corner = (kind: string) => (r.zones.find((z) => z.kind === kind)!.geometry.coordinates[0] as number[][])[0] as [number, number];
    expect(distance(corner('farmland'), [117, 36.6], { units: 'kilometers' })).toBe(0);
    expect(distance(corner('district'), [117, 36.6], { units: 'kilometers' }) * 1000).toBeGreaterThan(200);
    expect(r.warnings.join('\n')).toContain('per-file-a.geojson: converted from GCJ-02 to WGS84');
    expect(r.warnings.join('\n')).not.toContain('per-file-b.geojson: converted');
  });
});

describe('loadLandUse', () => {
  it('reads dlbm/DLBM and reports features without one', async () => {
    const path = join(dir, 'sandiao.geojson');
    await writeFile(path, fc([
      { properties: { DLBM: '0101' }, geometry: square(117, 36) },
      { properties: { dlbm: '0702' }, geometry: square(117.1, 36) },
      { properties: { name: 'x' }, geometry: square(117.2, 36) },
    ]));
    const r = await loadLandUse(path);
    expect(r.parcels.map((p) => p.dlbm)).toEqual(['0101', '0702']);
    expect(r.rejected).toHaveLength(1);
    expect(r.rejected[0].error.message).toContain('1 land-use feature');
  });
});

describe('onceEachZoneFile', () => {
  it('gives what loadZones gives for the same files, reading each file once however often asked', async () => {
    const a = join(dir, 'once-a.geojson');
    const b = join(dir, 'once-b.geojson');
    const bowtie = { type: 'Polygon', coordinates: [[[117, 36], [117.01, 36.01], [117.01, 36], [117, 36.01], [117, 36]]] };
    await writeFile(a, fc([
      { id: 'f1', properties: { kind: 'forest' }, geometry: square(117, 36) },
      { id: 'tie', properties: { kind: 'forest' }, geometry: bowtie },
      { properties: { kind: 'golf' }, geometry: square(117.2, 36) },
    ]));
    await writeFile(b, fc([{ id: 'd1', properties: { kind: 'district', code: '370102', name: '历下区' }, geometry: square(116.9, 35.9, 0.5) }]));
    const missing = join(dir, 'once-missing.geojson');
    const paths = [a, missing, b];
    const load = onceEachZoneFile();
    // Planning asks one file at a time, finalising for all of them.
    expect(await load([a], {})).toEqual(await loadZones([a]));
    const all = await load(paths, {});
    expect(all).toEqual(await loadZones(paths));
    expect(all.zones.map((z) => z.id)).toEqual(['once-a.geojson#f1', 'once-a.geojson#tie', 'once-b.geojson#d1']);
    expect(all.rejected.map((r) => r.subject)).toEqual([a, missing]);
    expect(all.repaired).toHaveLength(1);
    // Read once: the second ask gets the very zone objects of the first.
    expect((await load([a], {})).zones[0]).toBe(all.zones[0]);
    // A file asked for in another CRS is read again, in that CRS.
    const gcj = await load([b], { crsByPath: { [b]: 'gcj02' } });
    expect(gcj.zones[0]).not.toBe(all.zones[2]);
    expect(gcj).toEqual(await loadZones([b], { zonesCrs: 'gcj02' }));
  });
});
