import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { demoBatch } from '../testing/demo-batch.js';
import type { DemoBatch } from '../testing/demo-batch.js';
import { createImageryService } from './imagery-service.js';
import type { ImageryService } from './imagery-service.js';
import { LruCache } from './lru.js';
import { percentileStretch, pooledStretch, toRgba } from './stretch.js';
import { TileSource, overviewFactor } from './tile-source.js';
import { isValidTile, tileAt, tileBounds, tileGrid, lonLatToMercator } from './web-mercator.js';
import { renderGrid } from './render.js';
import { footprintBounds } from './epoch-scenes.js';
import Fastify from 'fastify';
import { imageryRoutes } from '../imagery-routes.js';
import { cachedImageryScope, imageryScope, scopeOfBoxes, tileView, type ImageryScope } from '../access/imagery-scope.js';
import type { User } from '../access/roles.js';

async function decode(png: Buffer): Promise<{ data: Buffer; width: number; height: number }> {
  const { data, info } = await sharp(png).ensureAlpha().raw().toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height };
}

function alphaShare(px: Buffer): number {
  let n = 0;
  for (let i = 3; i < px.length; i += 4) if (px[i] > 0) n++;
  return n / (px.length / 4);
}

describe('web mercator', () => {
  it('splits the world into 2^z tiles, y from the north', () => {
    const [minX, minY, maxX, maxY] = tileBounds(1, 0, 0);
    expect(minX).toBeCloseTo(-20037508.34, 1);
    expect(maxX).toBeCloseTo(0, 6);
    expect(maxY).toBeCloseTo(20037508.34, 1);
    expect(minY).toBeCloseTo(0, 6);
    expect(isValidTile(3, 7, 7)).toBe(true);
    expect(isValidTile(3, 8, 0)).toBe(false);
    expect(isValidTile(1.5, 0, 0)).toBe(false);
    const { x, y } = tileAt(117, 36.68, 10);
    const [bx0, by0, bx1, by1] = tileBounds(10, x, y);
    const [mx, my] = lonLatToMercator(117, 36.68);
    expect(mx >= bx0 && mx < bx1 && my > by0 && my <= by1).toBe(true);
  });
});

describe('stretch', () => {
  it('maps the 2nd..98th percentiles onto 0..255 and makes invalid pixels transparent', () => {
    const v = Float32Array.from({ length: 101 }, (_, i) => i * 10);
    const valid = new Uint8Array(101).fill(1);
    valid[100] = 0; // 1000 is not seen
    const s = percentileStretch(v, valid)!;
    expect(s.lo).toBe(20);
    expect(s.hi).toBe(970); // nearest rank of 100 values: round(0.98 × 99) = 97
    const out = new Uint8Array(101 * 4);
    toRgba(v, v, v, valid, [s, s, s], out);
    expect(out[0]).toBe(0); // below lo clamps
    expect(out[50 * 4]).toBe(Math.round(((500 - 20) * 255) / 950));
    expect(out[99 * 4 + 3]).toBe(255);
    expect(out[100 * 4 + 3]).toBe(0);
    expect(percentileStretch(v, new Uint8Array(101))).toBeNull();
  });
});

describe('pooledStretch', () => {
  it('spans the pooled values of every part, so tiles of one month share one stretch', () => {
    const part = (from: number) => {
      const b = Float32Array.from({ length: 100 }, (_, i) => from + i);
      return { bands: [b, b, b] as [Float32Array, Float32Array, Float32Array], valid: new Uint8Array(100).fill(1) };
    };
    const [r] = pooledStretch([part(0), part(1000)])!;
    expect(r.lo).toBeLessThan(10);
    expect(r.hi).toBeGreaterThan(1090);
    expect(pooledStretch([{ bands: part(0).bands, valid: new Uint8Array(100) }])).toBeNull();
  });
});

describe('LruCache', () => {
  it('evicts the least recently used entries past the cost cap and tells the owner', () => {
    const evicted: string[] = [];
    const c = new LruCache<string, number>(10, Infinity, (k) => evicted.push(k));
    c.set('a', 1, 4);
    c.set('b', 2, 4);
    c.get('a');
    c.set('c', 3, 4);
    expect(evicted).toEqual(['b']);
    expect(c.get('a')).toBe(1);
    expect(c.cost).toBe(8);
  });
});

describe('imagery from a batch', () => {
  let dir: string;
  let demo: DemoBatch;
  let svc: ImageryService;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tuban-imagery-'));
    demo = await demoBatch(dir);
    svc = createImageryService(demo.db);
  });
  afterAll(async () => {
    await svc?.close();
    await demo?.db.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('decimates a tile into an overview whose pixels are block means of the full-resolution read', async () => {
    const info = demo.plan.tiles[0].tile;
    expect(overviewFactor(info.grid.width, info.grid.height, 64)).toBe(4);
    const src = new TileSource(info, { maxOverviewSide: 64, stripRows: 24 });
    const ov = await src.overview();
    expect(ov.factor).toBe(4);
    expect(ov.grid.width).toBe(Math.ceil(info.grid.width / 4));
    expect(ov.stretch![0].hi).toBeGreaterThan(ov.stretch![0].lo);
    // A target on the tile's own grid at native resolution is read by window, not from the overview.
    const native = { ...info.grid, width: 8, height: 8 };
    const n = 64;
    const outs: [Float32Array, Float32Array, Float32Array] = [new Float32Array(n), new Float32Array(n), new Float32Array(n)];
    const valid = new Uint8Array(n);
    // Building the overview releases the files (their decoded block rows are the big cost).
    expect(src.readerOpen).toBe(false);
    expect(await src.paint(native, outs, valid)).toBe('full');
    expect(src.readerOpen).toBe(true);
    src.releaseReader();
    expect(src.readerOpen).toBe(false);
    // A later full-resolution read opens them again, with the same pixels.
    const again: [Float32Array, Float32Array, Float32Array] = [new Float32Array(n), new Float32Array(n), new Float32Array(n)];
    expect(await src.paint(native, again, new Uint8Array(n))).toBe('full');
    expect(again[0]).toEqual(outs[0]);
    // Overview pixel (1,1) is the mean of native rows/cols 4..7.
    let sum = 0;
    let cnt = 0;
    for (let r = 4; r < 8; r++) for (let c = 4; c < 8; c++) if (valid[r * 8 + c]) { sum += outs[0][r * 8 + c]; cnt++; }
    expect(cnt).toBe(16);
    expect(ov.bands[0][1 * ov.grid.width + 1]).toBeCloseTo(sum / cnt, 2);
    // The stretch sample: nine windows of min(256, side)² full-resolution pixels, mostly valid.
    const sample = await src.sample();
    const side = Math.min(256, info.grid.width);
    expect(sample.valid.length).toBe(9 * side * Math.min(256, info.grid.height));
    expect(sample.valid.reduce((a, v) => a + v, 0)).toBeGreaterThan(sample.valid.length / 2);
    // A coarse target (a 256 px map tile over the whole scene) is served from the overview.
    const b = footprintBounds([info]);
    const z = 12;
    const t = tileAt((b[0] + b[2]) / 2, (b[1] + b[3]) / 2, z);
    const r = await renderGrid([src], tileGrid(z, t.x, t.y));
    expect(r.paths).toEqual(['overview']);
    expect(r.filled).toBeGreaterThan(0);
    await src.close();
  });

  it('renders after and before map tiles over the scene, transparent outside it, none far away', async () => {
    await svc.warm(demo.scene.epoch);
    const b = (await svc.bounds(demo.scene.epoch))!;
    const lon = (b[0] + b[2]) / 2;
    const lat = (b[1] + b[3]) / 2;
    const { x, y } = tileAt(lon, lat, 14);
    for (const side of ['after', 'before'] as const) {
      const t = await svc.tile(demo.scene.epoch, side, 14, x, y);
      expect(t.contentType).toBe('image/png');
      const img = await decode(t.bytes!);
      expect([img.width, img.height]).toEqual([256, 256]);
      expect(alphaShare(img.data)).toBeGreaterThan(0.2);
      // True colour, stretched: not a flat image.
      const reds = new Set<number>();
      for (let i = 0; i < img.data.length; i += 4) if (img.data[i + 3]) reds.add(img.data[i]);
      expect(reds.size).toBeGreaterThan(20);
    }
    // A z10 tile holds the whole 3.8 km scene: opaque in a small part, transparent around it.
    const t10 = tileAt(lon, lat, 10);
    const wide = await decode((await svc.tile(demo.scene.epoch, 'after', 10, t10.x, t10.y)).bytes!);
    const share = alphaShare(wide.data);
    expect(share).toBeGreaterThan(0);
    expect(share).toBeLessThan(0.2);
    // Same request again: served from the cache, the very same bytes.
    const again = await svc.tile(demo.scene.epoch, 'after', 14, x, y);
    expect(again).toBe(await svc.tile(demo.scene.epoch, 'after', 14, x, y));
    // Far from every footprint: no image at all (the route answers 204).
    expect((await svc.tile(demo.scene.epoch, 'after', 14, 0, 0)).bytes).toBeNull();
    const webp = await svc.tile(demo.scene.epoch, 'after', 14, x, y, 'webp');
    expect(webp.contentType).toBe('image/webp');
    expect((await sharp(webp.bytes!).metadata()).format).toBe('webp');
  });

  it('refuses bad requests with stable codes', async () => {
    await expect(svc.tile('2026-13', 'after', 1, 0, 0)).rejects.toMatchObject({ code: 'IMAGERY.BAD_REQUEST', statusCode: 400 });
    await expect(svc.tile('2031-01', 'after', 1, 0, 0)).rejects.toMatchObject({ code: 'IMAGERY.EPOCH_UNKNOWN', statusCode: 404 });
    await expect(svc.tile(demo.scene.epoch, 'after', 2, 4, 0)).rejects.toMatchObject({ code: 'IMAGERY.BAD_TILE' });
    await expect(svc.tile(demo.scene.epoch, 'sideways' as 'after', 2, 0, 0)).rejects.toMatchObject({ code: 'IMAGERY.BAD_REQUEST' });
    await expect(svc.chip('370102-202610-9999', 'after')).rejects.toMatchObject({ code: 'IMAGERY.POLYGON_UNKNOWN', statusCode: 404 });
  });

  it('cuts before and after chips around a polygon on one grid, outlined, with the sensor dates', async () => {
    const r = await demo.db.query<{ code: string }>('SELECT code FROM polygons ORDER BY area_m2 DESC LIMIT 1');
    const code = r.rows[0].code;
    const after = await svc.chip(code, 'after');
    const before = await svc.chip(code, 'before');
    // Kept as test artefacts, to be looked at.
    await mkdir('out/test-artifacts', { recursive: true });
    await writeFile('out/test-artifacts/chip-after.png', after.png);
    await writeFile('out/test-artifacts/chip-before.png', before.png);
    expect(after.date).toBe(demo.scene.afterDate);
    expect(before.date).toBe(demo.scene.beforeDate);
    const a = await decode(after.png);
    const b = await decode(before.png);
    expect([a.width, a.height]).toEqual([320, 320]);
    expect([b.width, b.height]).toEqual([320, 320]);
    // The outline: bright yellow pixels (#ffd400) are present; the imagery is not.
    const yellow = (d: Buffer) => {
      let n = 0;
      for (let i = 0; i < d.length; i += 4) if (d[i] > 240 && d[i + 1] > 190 && d[i + 1] < 230 && d[i + 2] < 40) n++;
      return n;
    };
    expect(yellow(a.data)).toBeGreaterThan(50);
    expect(yellow(b.data)).toBeGreaterThan(50);
    // The two epochs differ inside the chip (a change was detected there).
    let diff = 0;
    for (let i = 0; i < a.data.length; i += 4) diff += Math.abs(a.data[i] - b.data[i]);
    expect(diff / (a.data.length / 4)).toBeGreaterThan(3);
    expect(await svc.chipInfo(code)).toEqual({ code, epoch: demo.scene.epoch, beforeDate: demo.scene.beforeDate, afterDate: demo.scene.afterDate });
  });

  it('serves tiles and chips over HTTP: 200 with ETag then 304, 204 outside, typed 400/404, chips only in scope', async () => {
    const codes = (await demo.db.query<{ code: string }>('SELECT code FROM polygons ORDER BY code')).rows.map((r) => r.code);
    const hidden = codes[0];
    const app = Fastify();
    await app.register(imageryRoutes, { imagery: svc, canSeePolygon: async (_req, code) => code !== hidden });
    try {
      const epochs = (await app.inject('/api/imagery/epochs')).json();
      expect(epochs.epochs[0].epoch).toBe(demo.scene.epoch);
      const [w, s, e, n] = epochs.epochs[0].bounds;
      const { x, y } = tileAt((w + e) / 2, (s + n) / 2, 14);
      const url = `/api/imagery/${demo.scene.epoch}/before/14/${x}/${y}.png`;
      const first = await app.inject(url);
      expect(first.statusCode).toBe(200);
      expect(first.headers['content-type']).toBe('image/png');
      expect([first.headers['cache-control'], first.headers.vary]).toEqual(['private, max-age=86400', 'Authorization, Cookie']);
      const again = await app.inject({ url, headers: { 'if-none-match': String(first.headers.etag) } });
      expect(again.statusCode).toBe(304);
      expect((await app.inject(`/api/imagery/${demo.scene.epoch}/after/14/0/0.png`)).statusCode).toBe(204);
      const bad = await app.inject(`/api/imagery/${demo.scene.epoch}/after/14/${x}/${y}.gif`);
      expect([bad.statusCode, bad.json().code]).toEqual([400, 'IMAGERY.BAD_REQUEST']);
      const outside = await app.inject(`/api/imagery/${demo.scene.epoch}/after/3/9/0.png`);
      expect([outside.statusCode, outside.json().code]).toEqual([400, 'IMAGERY.BAD_TILE']);
      const noMonth = await app.inject('/api/imagery/2030-01/after/14/0/0.png');
      expect([noMonth.statusCode, noMonth.json().code]).toEqual([404, 'IMAGERY.EPOCH_UNKNOWN']);
      const chip = await app.inject(`/api/polygons/${codes[1]}/chips/after.png`);
      expect(chip.statusCode).toBe(200);
      expect(chip.headers['x-sensor-date']).toBe(demo.scene.afterDate);
      // Out of scope answers exactly like a code that does not exist.
      const denied = await app.inject(`/api/polygons/${hidden}/chips/after.png`);
      const missing = await app.inject('/api/polygons/370102-202610-9999/chips/after.png');
      expect([denied.statusCode, denied.json().code]).toEqual([404, 'IMAGERY.POLYGON_UNKNOWN']);
      expect([missing.statusCode, missing.json().code]).toEqual([404, 'IMAGERY.POLYGON_UNKNOWN']);
    } finally {
      await app.close();
    }
  });

  it("serves a district or bureau only the imagery around its own polygons; the lead bureau all of it", async () => {
    const epoch = demo.scene.epoch;
    const users: Record<string, User> = { lead: { name: 'l', role: 'lead', bureau: null, district: null }, nowhere: { name: 'n', role: 'district', bureau: null, district: '999999' } };
    const polys = (await demo.db.query<{ code: string; district_code: string; lead_bureau: string; x0: number; y0: number; x1: number; y1: number; cx: number; cy: number }>(
      `SELECT code, district_code, lead_bureau, ST_XMin(geom) x0, ST_YMin(geom) y0, ST_XMax(geom) x1, ST_YMax(geom) y1, ST_X(centroid) cx, ST_Y(centroid) cy FROM polygons`,
    )).rows;
    for (const d of new Set(polys.map((p) => p.district_code))) users[`d${d}`] = { name: d, role: 'district', bureau: null, district: d };
    const app = Fastify();
    // The server's seam, with the user named by a header and a 100 m margin: the demo scene is 3.8 km across.
    await app.register(imageryRoutes, { imagery: svc, tileScope: (req, ep) => imageryScope(demo.db, users[String(req.headers['x-user'])], ep, 100) });
    try {
      const scene = (await svc.bounds(epoch))!;
      const get = (user: string, lon: number, lat: number) => {
        const { x, y } = tileAt(lon, lat, 17);
        return app.inject({ url: `/api/imagery/${epoch}/after/17/${x}/${y}.png`, headers: { 'x-user': user } });
      };
      // A district whose polygons leave part of the scene more than a tile (~240 m) clear of their box.
      const far = Object.keys(users).filter((k) => k.startsWith('d')).map((k) => {
        const mine = polys.filter((p) => `d${p.district_code}` === k);
        const box = [Math.min(...mine.map((p) => p.x0)), Math.min(...mine.map((p) => p.y0)), Math.max(...mine.map((p) => p.x1)), Math.max(...mine.map((p) => p.y1))];
        const corners = [[scene[0], scene[1]], [scene[0], scene[3]], [scene[2], scene[1]], [scene[2], scene[3]]].map(([lon, lat]) => [lon + Math.sign((scene[0] + scene[2]) / 2 - lon) * 0.0005, lat + Math.sign((scene[1] + scene[3]) / 2 - lat) * 0.0005]);
        const clear = corners.find(([lon, lat]) => lon < box[0] - 0.006 || lon > box[2] + 0.006 || lat < box[1] - 0.005 || lat > box[3] + 0.005);
        return { user: k, mine, clear };
      }).find((c) => c.clear);
      expect(far, 'a district with part of the scene clear of its polygons').toBeDefined();
      const own = far!.mine[0];
      expect((await get(far!.user, own.cx, own.cy)).statusCode).toBe(200);
      const [lon, lat] = far!.clear!;
      const outside = await get(far!.user, lon, lat);
      expect([outside.statusCode, outside.headers.vary]).toEqual([204, 'Authorization, Cookie']);
      expect((await get('lead', lon, lat)).statusCode).toBe(200);
      // Nothing in the month: no imagery at all, and the month's bounds say so.
      expect((await get('nowhere', own.cx, own.cy)).statusCode).toBe(204);
      const bounds = async (user: string) => (await app.inject({ url: '/api/imagery/epochs', headers: { 'x-user': user } })).json().epochs[0].bounds;
      expect(await bounds('nowhere')).toBeNull();
      expect(await bounds('lead')).toEqual(scene);
      // The district's bounds: inside the scene's, around its own polygons.
      const [w, s, e, n] = await bounds(far!.user);
      expect(w >= scene[0] && s >= scene[1] && e <= scene[2] && n <= scene[3]).toBe(true);
      for (const p of far!.mine) expect(p.x0 >= w && p.x1 <= e && p.y0 >= s && p.y1 <= n, p.code).toBe(true);
      expect((e - w) * (n - s)).toBeLessThan((scene[2] - scene[0]) * (scene[3] - scene[1]));
    } finally {
      await app.close();
    }
  });

  it('gives a scope one box per polygon of its own, not one box around them all', async () => {
    const polys = (await demo.db.query<{ district_code: string; x0: number; y0: number; x1: number; y1: number }>(
      `SELECT district_code, ST_XMin(geom) x0, ST_YMin(geom) y0, ST_XMax(geom) x1, ST_YMax(geom) y1 FROM polygons WHERE epoch = $1`,
      [demo.scene.epoch],
    )).rows;
    const district = polys[0].district_code;
    const mine = polys.filter((p) => p.district_code === district);
    const scope = (await imageryScope(demo.db, { name: 'd', role: 'district', bureau: null, district }, demo.scene.epoch, 0)) as Exclude<ImageryScope, 'all' | null>;
    expect(scope.boxes.length / 4).toBe(mine.length);
    // With no margin, each polygon's own tile at z18 shows at least its centre.
    for (const p of mine.slice(0, 20)) {
      const { x, y } = tileAt((p.x0 + p.x1) / 2, (p.y0 + p.y1) / 2, 18);
      expect(tileView(scope, 18, x, y)).not.toBe('none');
    }
  });

  it('does not serve the imagery between two far-apart polygons of one scope, and cuts a tile at the edge of its part', async () => {
    const epoch = demo.scene.epoch;
    const scene = (await svc.bounds(epoch))!;
    const [w, s, e, n] = scene;
    const dx = (e - w) / 20;
    const dy = (n - s) / 20;
    // Two small boxes at opposite corners of the scene, no margin.
    const a: [number, number, number, number] = [w + dx, s + dy, w + 2 * dx, s + 2 * dy];
    const b: [number, number, number, number] = [e - 2 * dx, n - 2 * dy, e - dx, n - dy];
    const two = scopeOfBoxes([a, b], 0);
    const app = Fastify();
    await app.register(imageryRoutes, { imagery: svc, tileScope: async (req) => (req.headers['x-user'] === 'lead' ? 'all' : two) });
    try {
      const get = (user: string, z: number, lon: number, lat: number) => {
        const { x, y } = tileAt(lon, lat, z);
        return app.inject({ url: `/api/imagery/${epoch}/after/${z}/${x}/${y}.png`, headers: { 'x-user': user } });
      };
      const [cx, cy] = [(w + e) / 2, (s + n) / 2];
      // The scene's centre is inside the box around both, far from each.
      expect((await get('two', 17, cx, cy)).statusCode).toBe(204);
      expect((await get('lead', 17, cx, cy)).statusCode).toBe(200);
      // A z15 tile (~1 km) around box a: its pixels are opaque only inside the box (to the pixel).
      const { x, y } = tileAt((a[0] + a[2]) / 2, (a[1] + a[3]) / 2, 15);
      const cut = await get('two', 15, (a[0] + a[2]) / 2, (a[1] + a[3]) / 2);
      const whole = await get('lead', 15, (a[0] + a[2]) / 2, (a[1] + a[3]) / 2);
      expect([cut.statusCode, whole.statusCode]).toEqual([200, 200]);
      const [px, full] = [await decode(cut.rawPayload), await decode(whole.rawPayload)];
      const [tx0, , tx1, ty1] = tileBounds(15, x, y);
      const res = (tx1 - tx0) / 256;
      const [ax0, ay0] = lonLatToMercator(a[0], a[1]);
      const [ax1, ay1] = lonLatToMercator(a[2], a[3]);
      let inside = 0;
      for (let r = 0; r < 256; r++) {
        for (let c = 0; c < 256; c++) {
          const [mx0, my1] = [tx0 + c * res, ty1 - r * res];
          const touches = mx0 + res >= ax0 && mx0 <= ax1 && my1 >= ay0 && my1 - res <= ay1;
          const alpha = px.data[(r * 256 + c) * 4 + 3];
          if (!touches) expect(alpha, `pixel ${c},${r} outside the box`).toBe(0);
          else if (full.data[(r * 256 + c) * 4 + 3] > 0) {
            // Kept pixels are the lead bureau's, unchanged.
            expect([...px.data.subarray((r * 256 + c) * 4, (r * 256 + c) * 4 + 4)]).toEqual([...full.data.subarray((r * 256 + c) * 4, (r * 256 + c) * 4 + 4)]);
            inside++;
          }
        }
      }
      expect(inside).toBeGreaterThan(100);
      expect(alphaShare(px.data)).toBeLessThan(alphaShare(full.data) / 2);
    } finally {
      await app.close();
    }
  });

  it('remembers a scope\'s imagery boxes for a while, per scope and month', async () => {
    const user: User = { name: 'x', role: 'bureau', bureau: 'forestry', district: null };
    const kept = cachedImageryScope(demo.db, 60_000);
    const first = kept(user, demo.scene.epoch);
    expect(kept({ ...user, name: 'another forestry clerk' }, demo.scene.epoch)).toBe(first);
    expect(kept({ ...user, bureau: 'water' }, demo.scene.epoch)).not.toBe(first);
    expect(await first).toEqual(await imageryScope(demo.db, user, demo.scene.epoch));
    const fresh = cachedImageryScope(demo.db, 0);
    expect(fresh(user, demo.scene.epoch)).not.toBe(fresh(user, demo.scene.epoch));
  });

  it('cuts a chip for a clue given as a point, from the month\'s tiles', async () => {
    const b = (await svc.bounds(demo.scene.epoch))!;
    const clue = { type: 'Feature' as const, id: 'XS-1', geometry: { type: 'Point' as const, coordinates: [(b[0] + b[2]) / 2, (b[1] + b[3]) / 2] }, properties: { code: 'XS-1', epoch: demo.scene.epoch, tile_id: '' } };
    const chip = await svc.chipFor(clue, 'before');
    expect(chip).not.toBeNull();
    expect(chip!.date).toBe(demo.scene.beforeDate);
    expect((await sharp(chip!.png).metadata()).width).toBe(320);
    expect(await svc.chipFor({ ...clue, properties: { ...clue.properties, epoch: '2030-01' } }, 'after')).toBeNull();
  });
});
