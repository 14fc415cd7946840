/**
 * Imagery service speed on a full Sentinel-2-sized tile (10980², 4 bands uint16, DEFLATE, 512 px
 * blocks, no internal overviews — the worst case the service must handle):
 *   - the first map tile at the zoom where the whole tile fits one 256 px tile (builds the overview:
 *     one streamed decode of the file), then more tiles at that zoom and finer ones;
 *   - a whole-file decode, i.e. what every coarse request would cost without the overview.
 *
 *   npm run bench:imagery [-- --dir /tmp/tuban-bench-imagery] [--size 10980]
 */
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { writeGeoTiff } from '../geo/tiff/write-geotiff.js';
import { catalogueTiles } from '../pipeline/catalogue.js';
import { transformer } from '../geo/crs.js';
import { TileSource } from '../server/imagery/tile-source.js';
import { renderGrid } from '../server/imagery/render.js';
import { tileAt, tileGrid } from '../server/imagery/web-mercator.js';
import { openTile } from '../geo/tile-reader.js';

const { values } = parseArgs({ options: { dir: { type: 'string', default: '/tmp/tuban-bench-imagery' }, size: { type: 'string', default: '10980' } } });
const size = Number(values.size);
const dir = values.dir!;
const path = join(dir, `S2_T50SMF_20261008_${size}.tif`);
await mkdir(dir, { recursive: true });

if (!existsSync(path)) {
  const t0 = performance.now();
  // Fields of a few hundred metres with texture: enough structure that DEFLATE works as on real data.
  await writeGeoTiff(path, {
    grid: { width: size, height: size, crs: 'EPSG:32650', transform: [499980, 10, 0, 4100040, 0, -10] },
    dtype: 'uint16',
    bandCount: 4,
    tileSize: 512,
    compression: 'deflate',
    date: '2026-10-08',
    rows: (row0, n) => {
      const bands = [0, 1, 2, 3].map(() => new Uint16Array(size * n));
      for (let r = 0; r < n; r++) {
        const y = row0 + r;
        for (let x = 0; x < size; x++) {
          const field = ((x >> 5) * 7919 + (y >> 5) * 104729) % 997;
          const tex = ((x * 31 + y * 17) % 23) * 8;
          const i = r * size + x;
          bands[0][i] = 400 + (field % 300) + tex;
          bands[1][i] = 600 + (field % 400) + tex;
          bands[2][i] = 500 + (field % 700) + tex;
          bands[3][i] = 2000 + (field % 1500) + tex;
        }
      }
      return bands;
    },
  });
  console.log(`wrote ${path} in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
}

const { tiles } = await catalogueTiles([path]);
const info = tiles[0];
const [lon, lat] = transformer('EPSG:32650', 'EPSG:4326')(499980 + size * 5, 4100040 - size * 5);
const ms = (t0: number) => `${(performance.now() - t0).toFixed(0)} ms`;
const mib = () => `${(process.memoryUsage().rss / 1024 ** 2).toFixed(0)} MiB RSS`;

// The zoom where one 256 px map tile spans the whole tile: ground width of a z tile = 40075 km / 2^z · cos(lat).
let zFit = 0;
while ((40_075_016 / 2 ** (zFit + 1)) * Math.cos((lat * Math.PI) / 180) >= size * 10) zFit++;
console.log(`tile ${size}² (${(size * 10) / 1000} km), centre ${lon.toFixed(3)}, ${lat.toFixed(3)}: whole tile fits one 256 px map tile at z${zFit}`);

const src = new TileSource(info);
console.log(`overview factor ${src.factor} (${Math.ceil(size / src.factor)}² px, ${(src.overviewBytes / 1024 ** 2).toFixed(1)} MiB held)`);
const ts = performance.now();
await src.sample();
console.log(`stretch sample (nine 256² windows): ${ms(ts)}`);
for (const z of [zFit, zFit, zFit + 1, zFit + 2, zFit + 3, zFit + 4, zFit + 5, zFit + 6, zFit + 8]) {
  const { x, y } = tileAt(lon, lat, z);
  const t0 = performance.now();
  const r = await renderGrid([src], tileGrid(z, x, y));
  console.log(`z${z} ${x}/${y}: ${ms(t0)} via ${r.paths.join(',')} (${((r.filled / 65536) * 100).toFixed(0)} % filled), ${mib()}`);
}
const ov = await src.overview();
console.log(`overview built once in ${ov.buildSeconds.toFixed(1)} s`);
await src.close();

// Without the overview: a coarse tile would decode the whole file (3 bands) on every request.
const reader = await openTile(info, { maxWindowBytes: 4 * 1024 ** 3 });
const t1 = performance.now();
for (let row = 0; row < size; row += 1024) await reader.readWindow({ col: 0, row, width: size, height: Math.min(1024, size - row) }, ['red', 'green', 'blue']);
console.log(`whole-file decode of red/green/blue (what each coarse request would cost without the overview): ${ms(t1)}, ${mib()}`);
await reader.close();
process.exit(0);
