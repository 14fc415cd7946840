/**
 * Before any tile is detected: the zone files must give at least one district. Without one,
 * every polygon would get district 000000, the default lead bureau and no farming rule — a
 * wrong answer with exit 0 — so the batch stops here, naming what each file gave instead.
 */
import { stat } from 'node:fs/promises';
import { basename } from 'node:path';
import { TubanError } from '../../schemas/errors.js';
import { loadZones, type LoadZonesResult, type ZoneLoader } from '../zones.js';
import type { BatchArgs } from './batch-args.js';

/**
 * Throws ZONES.NO_DISTRICTS (disposition `fail`) when no zone file yields a district feature.
 * Loads zone files once more than finalising does, but only up to the first with a district:
 * finding out after an hour of detection is worse.
 */
export async function checkDistricts(args: Pick<BatchArgs, 'zones' | 'zonesCrs' | 'zonesCrsByPath'>, load: ZoneLoader = loadZones): Promise<void> {
  if (args.zones.length === 0) throw new TubanError('ZONES.NO_DISTRICTS', 'no zone files given: pass --zones with a district layer (kind district, or a DataV file)');
  // One file at a time, smallest first, stopping at the first that gives a district: the large
  // layers (farmland, forest) are then left to finalising, and a district file given after them
  // (`--zones farmland.geojson districts.geojson`) is found without reading them. Which file gives
  // the district does not matter, so the order changes nothing but the time.
  const zones: LoadZonesResult['zones'] = [];
  const rejected: LoadZonesResult['rejected'] = [];
  for (const path of await smallestFirst(args.zones)) {
    const loaded = await load([path], { zonesCrs: args.zonesCrs, crsByPath: args.zonesCrsByPath });
    if (loaded.zones.some((z) => z.kind === 'district')) return;
    zones.push(...loaded.zones);
    rejected.push(...loaded.rejected);
  }
  const perFile = args.zones.map((path) => {
    const own = rejected.filter((r) => r.subject === path || r.subject.startsWith(`${basename(path)}#`) || r.error.subject === path);
    const codes = [...new Set(own.map((r) => r.error.code))];
    const kinds = [...new Set(zones.filter((z) => z.source === path).map((z) => z.kind))];
    const what = codes.length ? `rejected (${codes.join(', ')}: ${own[0].error.message})` : kinds.length ? `only ${kinds.join(', ')}` : 'no usable features';
    return `${path}: ${what}`;
  });
  throw new TubanError(
    'ZONES.NO_DISTRICTS',
    `no district layer among the zone files, so no polygon could be given its district, code or lead bureau; add a file whose features have kind 'district' (or 区县) with a code (code/adcode/XZQDM), or a DataV district file. Zone files: ${perFile.join('; ')}`,
  );
}

/** The paths by file size, smallest first (ties and unreadable files keep their order; the latter are rejected when loaded). */
async function smallestFirst(paths: readonly string[]): Promise<string[]> {
  const sizes = await Promise.all(paths.map((p) => stat(p).then((s) => s.size, () => 0)));
  return paths.map((p, i) => ({ p, i })).sort((a, b) => sizes[a.i] - sizes[b.i] || a.i - b.i).map((x) => x.p);
}
