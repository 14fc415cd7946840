import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startZoneFileThread, type ZoneFileThread } from './zone-file-thread.js';
import { loadZones, onceEachZoneFile } from './zones.js';

const square = (lon: number, lat: number, d = 0.01) => ({ type: 'Polygon', coordinates: [[[lon, lat], [lon + d, lat], [lon + d, lat + d], [lon, lat + d], [lon, lat]]] });

let dir: string;
let zones: string;
let thread: ZoneFileThread;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tuban-zone-thread-'));
  zones = join(dir, 'zones.geojson');
  const bowtie = { type: 'Polygon', coordinates: [[[117, 36], [117.01, 36.01], [117.01, 36], [117, 36.01], [117, 36]]] };
  await writeFile(zones, JSON.stringify({
    type: 'FeatureCollection',
    features: [
      { type: 'Feature', id: 'a', properties: { kind: 'farmland' }, geometry: square(117, 36) },
      { type: 'Feature', id: 'b', properties: { kind: 'district', code: '370102', name: '历下区' }, geometry: square(116.9, 35.9, 0.5) },
      { type: 'Feature', id: 'c', properties: { kind: 'forest' }, geometry: bowtie },
      { type: 'Feature', id: 'd', properties: { kind: 'golf' }, geometry: square(117.2, 36) },
    ],
  }));
  thread = startZoneFileThread();
});
afterAll(() => thread.close());

describe('startZoneFileThread', () => {
  it('reads a zone file into what loadZones gives on this thread, the CRS included', async () => {
    const there = await thread.load(zones, undefined);
    expect(there.zones).toHaveLength(3);
    expect(there.repaired).toHaveLength(1);
    expect(there.rejected.map((r) => r.error.code)).toEqual(['ZONES.UNKNOWN_KIND']);
    expect(there).toEqual(await loadZones([zones]));
    expect(await thread.load(zones, 'gcj02')).toEqual(await loadZones([zones], { zonesCrs: 'gcj02' }));
    const missing = join(dir, 'missing.geojson');
    expect(await thread.load(missing, undefined)).toEqual(await loadZones([missing]));
  });
});

describe('onceEachZoneFile().prefetch', () => {
  it('keeps what the other reader read, and reads a file here when that reader fails', async () => {
    const cache = onceEachZoneFile();
    const other = join(dir, 'other.geojson');
    await writeFile(other, JSON.stringify({ type: 'FeatureCollection', features: [{ type: 'Feature', id: 'x', properties: { kind: 'forest' }, geometry: square(117.3, 36) }] }));
    const read: string[] = [];
    cache.prefetch([zones, other], {}, (path, crs) => {
      read.push(path);
      return path === other ? Promise.reject(new Error('thread gone')) : thread.load(path, crs);
    });
    const first = await cache([zones, other], {});
    expect(first).toEqual(await loadZones([zones, other]));
    // Asked again (and prefetched again): nothing is read a second time.
    cache.prefetch([zones, other], {}, () => Promise.reject(new Error('not asked twice')));
    expect((await cache([zones], {})).zones[0]).toBe(first.zones[0]);
    expect(read).toEqual([zones, other]);
  });
});
