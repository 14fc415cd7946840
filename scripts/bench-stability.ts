/**
 * False alarms where nothing changed. Each OSCD city's first date is scored against copies of
 * itself that differ only as two acquisitions of an unchanged place do: other sun and haze (a gain
 * and offset per band, stronger in blue), sensor noise, and a misregistration of half a pixel or of
 * a whole pixel. Everything goes through the product path (GeoTIFF → catalogue → detectTile).
 * Prints, per city and pooled, polygons per 100 km² and the share of the scene flagged, next to the
 * real pair's, so a detector change that buys recall with instability shows up.
 *
 *   npm run bench:stability [-- --cities beirut,rennes --params '{"model":"unsupervised"}' --data ../shared/data
 *                               --out bench-results/stability.json]
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { OSCD_CITIES, readOscdCity } from '../evaluation/bench-data.js';
import { BANDS, GAIN, NOISE_DN, OFFSET, PIXEL_M, VARIANTS, asDn, detect, perturb, writeBands, type ControlResult } from '../evaluation/stability-scenes.js';
import { flatParams, parseDetectorParams, type DetectorParams } from '../pipeline/detect/detector-params.js';
import type { BandName } from '../geo/raster.js';
import { flag } from './bench-lib.js';

async function main(): Promise<void> {
  const data = flag('data', '../shared/data');
  const cities = flag('cities', OSCD_CITIES.join(',')).split(',');
  const outPath = flag('out', 'bench-results/stability.json');
  const params: DetectorParams = parseDetectorParams(JSON.parse(flag('params', '{}')), '--params');
  // --bands blue,green,red,nir: the detector reads only these (the 4-band path of GF-1/2/6, ZY-3, PlanetScope).
  const bands = flag('bands', BANDS.join(',')).split(',') as BandName[];
  const badBand = bands.find((b) => !BANDS.includes(b));
  if (badBand) throw new Error(`--bands: unknown band '${badBand}'; give some of ${BANDS.join(',')}`);
  const dir = join(tmpdir(), `tuban-stability-${process.pid}`);
  mkdirSync(dir, { recursive: true });
  const columns = ['real pair', ...VARIANTS.map((v) => v.name)];
  const width = 14;
  const totals = columns.map(() => ({ polygons: 0, flaggedM2: 0 }));
  const cell = (r: { polygons: number; flaggedM2: number }, km2: number) => `${((r.polygons / km2) * 100).toFixed(0)} (${((r.flaggedM2 / (km2 * 1e6)) * 100).toFixed(2)} %)`.padStart(width);
  let totalKm2 = 0;
  const rows: Record<string, unknown>[] = [];
  console.log(`polygons per 100 km² (share of scene flagged), model ${params.model}, bands ${bands.join(',')}`);
  console.log(['city'.padEnd(12), ...columns.map((c) => c.padStart(width))].join(''));
  try {
    for (const city of cities) {
      const scene = await readOscdCity(join(data, 'oscd'), city);
      const km2 = (scene.before.width * scene.before.height * PIXEL_M * PIXEL_M) / 1e6;
      const before = join(dir, `${city}-before.tif`);
      await writeBands(before, scene.before, '2016-06-01', (k) => asDn(scene.before, k));
      const results: ControlResult[] = [];
      const real = join(dir, `${city}-after.tif`);
      await writeBands(real, scene.after, '2017-06-01', (k) => asDn(scene.after, k));
      results.push(await detect(before, real, params, bands));
      for (const v of VARIANTS) {
        const path = join(dir, `${city}-control.tif`);
        await writeBands(path, scene.before, '2016-07-01', (k) => perturb(scene.before.bands[BANDS[k]]!, scene.before.width, scene.before.height, v, k));
        results.push(await detect(before, path, params, bands));
      }
      totalKm2 += km2;
      results.forEach((r, j) => {
        totals[j].polygons += r.polygons;
        totals[j].flaggedM2 += r.flaggedM2;
      });
      console.log([city.padEnd(12), ...results.map((r) => cell(r, km2))].join(''));
      rows.push({ city, km2, ...Object.fromEntries(columns.map((c, j) => [c, results[j]])) });
    }
    console.log(['pooled'.padEnd(12), ...totals.map((t) => cell(t, totalKm2))].join(''));
    mkdirSync(dirname(outPath), { recursive: true });
    writeFileSync(outPath, JSON.stringify({ params: flatParams(params), bands, variants: VARIANTS, gain: GAIN, offsetDn: OFFSET, noiseDn: NOISE_DN, cities: rows, pooled: { km2: totalKm2, ...Object.fromEntries(columns.map((c, j) => [c, totals[j]])) } }, null, 1));
    console.log(`wrote ${outPath}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await main();
