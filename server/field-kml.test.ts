/**
 * The field file (`GET /api/polygons.kml`): a bureau's polygons for a site visit, as KML a phone
 * map app imports. Only the caller's scope, every page of the filter, read back by GDAL.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ogrinfo, ogrinfoMissing } from '../geo/vector/ogrinfo.js';
import { writeKml } from '../geo/vector/write-kml.js';
import { placemarkOf } from './workflow/field-kml.js';
import { DEFAULT_DEADLINES } from './deadlines/rules.js';
import { WorkCalendar } from './deadlines/calendar.js';
import type { Database } from '../pipeline/store/queryable.js';
import { addUsers, openTestDatabase, polygon, square, testApp, writeBatch, type TestApp } from './testing/fixtures.js';

const code = (n: number) => `370102-202610-000${n}`;
const CI = process.env.CI === 'true';
const missing = ogrinfoMissing();
let db: Database;
let t: TestApp;
let dir: string;

beforeAll(async () => {
  db = await openTestDatabase();
  await writeBatch(
    db,
    'b1',
    '2026-10',
    [
      polygon(code(1), '2026-10', square(117.0, 36.6), { townshipCode: '370102001', townshipName: '解放路街道', villageCode: '370102001002', villageName: '文化东路社区' }),
      polygon(code(2), '2026-10', square(117.01, 36.6)),
      polygon(code(3), '2026-10', square(117.02, 36.6), { leadBureau: 'forestry' }),
      polygon(code(4), '2026-10', square(117.03, 36.6), { leadBureau: 'forestry', coBureaus: ['natural_resources'] }),
    ],
    '2026-11-02',
  );
  await addUsers(db, [['nr', 'bureau', 'natural_resources'], ['fo', 'bureau', 'forestry'], ['d102', 'district', '370102']]);
  t = await testApp(db);
  dir = await mkdtemp(join(tmpdir(), 'tuban-kml-'));
}, 120_000);

afterAll(async () => {
  await t?.app.close();
  await db?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

const placemarkNames = (kml: string) => [...kml.matchAll(/<Placemark><name>([^<]*)<\/name>/g)].map((m) => m[1]);

describe('GET /api/polygons.kml', () => {
  it("gives a bureau its own and co-handled polygons with the inbox's filters, as a download", async () => {
    const r = await t.request('nr', '/api/polygons.kml?epoch=2026-10');
    expect(r.statusCode, r.body).toBe(200);
    expect(r.headers['content-type']).toMatch(/^application\/vnd\.google-earth\.kml\+xml/);
    expect(r.headers['content-disposition']).toBe('attachment; filename="tuban-2026-10-natural_resources.kml"');
    expect(placemarkNames(r.body)).toEqual([code(1), code(2), code(4)]);
    // The facts a crew reads on site, in Chinese.
    expect(r.body).toContain('办理状态：已下发');
    expect(r.body).toContain(`<Data name="图斑编号"><value>${code(1)}</value></Data>`);
    // 属地: the township the crew goes to, where the batch had a township layer (none for code 2).
    const placemarks = r.body.split('<Placemark>').slice(1);
    expect(placemarks[0]).toContain('<Data name="乡镇/街道"><value>解放路街道 370102001</value></Data>');
    expect(placemarks[1]).not.toContain('乡镇/街道');
    // And its 村/社区, after the township, in the description and the data.
    expect(placemarks[0]).toContain('<Data name="村"><value>文化东路社区 370102001002</value></Data>');
    expect(placemarks[0].indexOf('<Data name="村">')).toBeGreaterThan(placemarks[0].indexOf('<Data name="乡镇/街道">'));
    expect(placemarks[0]).toMatch(/村：文化东路社区 370102001002/);
    expect(placemarks[1]).not.toContain('<Data name="村">');
    // What forestry sees is forestry's.
    expect(placemarkNames((await t.request('fo', '/api/polygons.kml?epoch=2026-10')).body)).toEqual([code(3), code(4)]);
    // The inbox's filters: after a 签收, 仅已下发 leaves it out.
    expect((await t.request('nr', `/api/polygons/${code(1)}/accept`, {})).statusCode).toBe(200);
    expect(placemarkNames((await t.request('nr', '/api/polygons.kml?epoch=2026-10&status=issued')).body)).toEqual([code(2), code(4)]);
    expect((await t.request('nr', '/api/polygons.kml?epoch=2026-1')).statusCode).toBe(400);
  });

  it("is a map's file: each placemark has its pin and outline, and the list's view is refused, not taken", async () => {
    const list = await t.request('nr', '/api/polygons.kml?epoch=2026-10&view=list');
    expect([list.statusCode, list.json().message]).toEqual([400, expect.stringContaining("unknown query parameter 'view'")]);
    const r = await t.request('nr', '/api/polygons.kml?epoch=2026-10');
    expect(r.statusCode, r.body).toBe(200);
    const placemarks = r.body.split('<Placemark>').slice(1);
    expect(placemarks).toHaveLength(3);
    for (const p of placemarks) expect(p).toMatch(/<MultiGeometry><Point>.*<Polygon>/);
  });

  it('is refused to a caller not signed in', async () => {
    expect((await t.app.inject('/api/polygons.kml')).statusCode).toBe(401);
  });

  const gdal = it.skipIf(missing !== null && !CI);
  if (missing !== null && !CI) it.skip(`GDAL read-back skipped: ${missing}`, () => {});
  gdal('reads back in GDAL: a pin and the outline per polygon, a clue its point, in lon/lat, text escaped', async () => {
    expect(missing, 'CI=true needs ogrinfo (apt-get install gdal-bin)').toBeNull();
    const clue = await t.request('d102', '/api/clues', { source: 'hotline', district_code: '370102', lead_bureau: 'natural_resources', geometry: { type: 'Point', coordinates: [117.1, 36.65] }, description: '12345: 堆土 <疑似> & "取土"' });
    expect(clue.statusCode, clue.body).toBe(201);
    const r = await t.request('nr', '/api/polygons.kml');
    const file = join(dir, 'nr.kml');
    await writeFile(file, r.rawPayload);
    const out = ogrinfo('-al', file);
    expect(out).toMatch(/Feature Count: 4/);
    for (const c of [code(1), code(2), code(4), clue.json().code]) expect(out).toContain(`Name (String) = ${c}`);
    // The balloon's description is HTML (a line per fact, typed text as text); the field has it as typed.
    expect(out).toContain('说明：12345: 堆土 &lt;疑似&gt; &amp; &quot;取土&quot;');
    expect(out).toMatch(/图斑编号：[^<]*<br\/>/);
    expect(r.body).toContain('<Data name="说明"><value>12345: 堆土 &lt;疑似&gt; &amp; &quot;取土&quot;</value></Data>');
    expect(out).toContain('线索来源：热线(12336/12345)');
    expect(out).toMatch(/^\s*POINT \(117\.1 36\.65/m);
    // Each a collection of the centre pin and the square outline at its place.
    expect(out).toMatch(/GEOMETRYCOLLECTION \(POINT \(117\.0005\d* 36\.6005\d*/);
    expect(out).toMatch(/POLYGON \(\([^)]*117\.001 36\.601/);
  });
});

describe('writeKml', () => {
  it('writes clue points, multipolygons with holes, and KML colours (aabbggrr)', () => {
    const kml = writeKml({
      name: 'x',
      styles: { red: { line: '#d7301f', fillOpacity: 0.25 } },
      placemarks: [
        { name: 'XS-1', facts: [['线索来源', '群众举报']], geometry: { type: 'Point', coordinates: [117.1, 36.1] }, pin: [117.1, 36.1], style: 'red' },
        {
          name: 'P',
          facts: [],
          geometry: { type: 'MultiPolygon', coordinates: [[[[0, 0], [4, 0], [4, 4], [0, 0]], [[1, 1], [2, 1], [2, 2], [1, 1]]], [[[5, 5], [6, 5], [6, 6], [5, 5]]]] },
          pin: null,
        },
      ],
    });
    expect(kml).toContain('<LineStyle><color>ff1f30d7</color>');
    expect(kml).toContain('<PolyStyle><color>401f30d7</color>');
    // A clue point is its own pin, not two.
    expect(kml.match(/<Point>/g)).toHaveLength(1);
    expect(kml).toContain('<MultiGeometry><Polygon><outerBoundaryIs><LinearRing><coordinates>0,0 4,0 4,4 0,0</coordinates></LinearRing></outerBoundaryIs><innerBoundaryIs>');
    expect(() => writeKml({ name: 'x', styles: {}, placemarks: [{ name: 'L', facts: [], geometry: { type: 'LineString', coordinates: [[0, 0], [1, 1]] }, pin: null }] })).toThrow(/LineString/);
  });

  it("follows the KML 2.2 schema's order in a style, and writes typed text as text in the HTML description", () => {
    const kml = writeKml({
      name: 'x',
      styles: { red: { line: '#d7301f', fillOpacity: 0.25 } },
      placemarks: [{ name: 'XS-2', facts: [['线索来源', '群众举报'], ['说明', '<img src=x onerror=alert(1)> 堆土\uffff\ud800']], geometry: { type: 'Point', coordinates: [117.1, 36.1] }, pin: null }],
    });
    // kml:StyleType is a sequence: IconStyle, LabelStyle, LineStyle, PolyStyle, BalloonStyle, ListStyle.
    expect(kml).toMatch(/<Style id="red"><IconStyle>.*<\/IconStyle><LineStyle>.*<\/LineStyle><PolyStyle>.*<\/PolyStyle><\/Style>/);
    // A balloon (HTML) shows one fact a line, and the typed tag as text: escaped for HTML, then for XML.
    expect(kml).toContain('<description>线索来源：群众举报&lt;br/&gt;\n说明：&amp;lt;img src=x onerror=alert(1)&amp;gt; 堆土</description>');
    // No character XML 1.0 refuses (U+FFFF, a lone surrogate).
    expect(kml).not.toMatch(/[\uffff\ud800]/);
  });
});

describe('placemarkOf', () => {
  it('says how late in the clock\'s unit, and a working-day clock overdue by no working day yet as such', () => {
    const deadlines = { rules: DEFAULT_DEADLINES, calendar: new WorkCalendar() };
    const state = (days: number, rule: string) =>
      placemarkOf({ type: 'Feature', geometry: null as never, properties: { code: 'X', status: 'verified', overdue: true, days_overdue: days, due_rule: rule } }, (b) => b, deadlines).facts.find(([k]) => k === '办理状态')?.[1];
    expect(state(3, 'rectification')).toBe('已判定（逾期 3 个工作日）');
    // Due on a Friday, read on Saturday: overdue, by no working day yet (as the page's lateText).
    expect(state(0, 'rectification')).toBe('已判定（逾期 不足 1 个工作日）');
  });
});
