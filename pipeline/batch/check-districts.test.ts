import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadZones, type ZoneLoader } from '../zones.js';
import { checkDistricts } from './check-districts.js';

const square = (lon: number, lat: number, d = 0.01) => ({ type: 'Polygon', coordinates: [[[lon, lat], [lon + d, lat], [lon + d, lat + d], [lon, lat + d], [lon, lat]]] });
const fc = (features: { kind: string; code?: string }[]) =>
  JSON.stringify({ type: 'FeatureCollection', features: features.map((p, i) => ({ type: 'Feature', id: `f${i}`, properties: p, geometry: square(117 + i * 0.02, 36) })) });

let dir: string;
let farmland: string;
let districts: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tuban-check-districts-'));
  farmland = join(dir, 'farmland.geojson');
  districts = join(dir, 'districts.geojson');
  await writeFile(farmland, fc(Array.from({ length: 50 }, () => ({ kind: 'farmland' }))));
  await writeFile(districts, fc([{ kind: 'district', code: '370102' }]));
});

/** loadZones, noting which files it was asked for. */
function spy(): { load: ZoneLoader; asked: string[] } {
  const asked: string[] = [];
  return { asked, load: (paths, opts) => (asked.push(...paths), loadZones(paths, opts)) };
}

describe('checkDistricts', () => {
  it('finds a small district file given after a large layer without reading the large one', async () => {
    const s = spy();
    await checkDistricts({ zones: [farmland, districts] }, s.load);
    expect(s.asked).toEqual([districts]);
  });

  it('reads every file, whatever their sizes, before saying none gives a district, naming each as given', async () => {
    const s = spy();
    const missing = join(dir, 'missing.geojson');
    const err = await checkDistricts({ zones: [farmland, missing] }, s.load).catch((e: unknown) => e as Error & { code: string });
    expect(s.asked.sort()).toEqual([farmland, missing].sort());
    expect(err.code).toBe('ZONES.NO_DISTRICTS');
    expect(err.message).toContain(`${farmland}: only farmland; ${missing}: rejected (ZONES.UNREADABLE`);
  });
});
