/**
 * Load zone layers (farmland, forest, water-source protection, districts...) and the optional
 * 三调 land-use baseline from vector files into lon/lat EPSG:4326 values. A bad file or feature
 * is reported by name (RejectedInput) and the rest still load: one broken layer must not stop a
 * month's batch, but it must show up in the batch report.
 */
import { basename } from 'node:path';
import type { Feature, MultiPolygon, Polygon } from 'geojson';
import { booleanPointInPolygon } from '@turf/boolean-point-in-polygon';
import { featureCollection } from '@turf/helpers';
import { kinks } from '@turf/kinks';
import { union } from '@turf/union';
import { LONLAT } from '../geo/crs.js';
import { ringsSimple } from '../geo/kernels/segments.js';
import { readVectorFile, type VectorFeature } from '../geo/vector/read-vector.js';
import { TubanError, asTubanError } from '../schemas/errors.js';
import { ZONE_KINDS, isZoneKind, type ZoneKind } from '../schemas/vocabulary.js';
import type { LandUseParcel, RejectedInput, Zone } from './model.js';

/**
 * Names people actually put in a kind column, mapped to Tuban's kinds. Keys are compared after
 * `normaliseKindName` (trimmed, lower-case, spaces and hyphens as underscores).
 */
export const ZONE_KIND_ALIASES: Readonly<Record<string, ZoneKind>> = {
  // English variants
  basic_farmland: 'permanent_basic_farmland',
  prime_farmland: 'permanent_basic_farmland',
  pbf: 'permanent_basic_farmland',
  cropland: 'farmland',
  arable_land: 'farmland',
  cultivated_land: 'farmland',
  forest_land: 'forest',
  woodland: 'forest',
  protected_area: 'nature_reserve',
  wetland: 'wetland_park',
  scenic_spot: 'scenic_area',
  // Not bare red_line/红线: a 道路红线 (road red line) is a planning line, not the ecological one.
  eco_redline: 'ecological_redline',
  eco_red_line: 'ecological_redline',
  ecological_red_line: 'ecological_redline',
  ecological_protection_redline: 'ecological_redline',
  ecological_protection_red_line: 'ecological_redline',
  stbhhx: 'ecological_redline', // pinyin initials, as 三区三线 layers are named (cf. the ledger's STBHHXMJ)
  water_source_protection: 'drinking_water_source',
  water_source: 'drinking_water_source',
  drinking_water: 'drinking_water_source',
  river: 'river_management',
  river_zone: 'river_management',
  dike: 'river_management',
  lake: 'lake_reservoir',
  reservoir: 'lake_reservoir',
  spring: 'spring_recharge',
  spring_protection: 'spring_recharge',
  urban_development_boundary: 'urban_construction',
  urban: 'urban_construction',
  town_construction: 'urban_construction',
  // 'village' is the kind of 村级行政区 (村/社区) layers; a village planning layer is village_planning (村庄规划).
  transport: 'transport_project',
  road_project: 'transport_project',
  mine: 'mining',
  mining_area: 'mining',
  approved: 'approved_construction',
  approved_land: 'approved_construction',
  key_patrol: 'key_patrol_area',
  county: 'district',
  admin_district: 'district',
  town: 'township',
  street: 'township',
  subdistrict: 'township',
  admin_village: 'village',
  community: 'village',
  cjq: 'village', // 村级区 (三调 村级调查区 CJDCQ)
  cjdcq: 'village',
  // Chinese layer names (国土空间规划 / 三区三线 / 卫片执法 usage)
  永久基本农田: 'permanent_basic_farmland',
  基本农田: 'permanent_basic_farmland',
  耕地: 'farmland',
  林地: 'forest',
  森林: 'forest',
  自然保护区: 'nature_reserve',
  自然保护地: 'nature_reserve',
  森林公园: 'forest_park',
  湿地公园: 'wetland_park',
  湿地: 'wetland_park',
  风景名胜区: 'scenic_area',
  地质公园: 'geopark',
  生态保护红线: 'ecological_redline',
  生态红线: 'ecological_redline',
  生态保护红线区: 'ecological_redline',
  生态保护红线范围: 'ecological_redline',
  饮用水水源保护区: 'drinking_water_source',
  饮用水水源地: 'drinking_water_source',
  水源保护区: 'drinking_water_source',
  河道管理范围: 'river_management',
  河道: 'river_management',
  堤防管理范围: 'river_management',
  湖泊管理范围: 'lake_reservoir',
  水库管理范围: 'lake_reservoir',
  湖泊水库: 'lake_reservoir',
  泉水重点渗漏带: 'spring_recharge',
  泉水直接补给区: 'spring_recharge',
  泉水补给区: 'spring_recharge',
  城镇开发边界: 'urban_construction',
  城镇建设用地: 'urban_construction',
  城市规划建设用地: 'urban_construction',
  村庄规划: 'village_planning',
  村庄建设用地: 'village_planning',
  交通项目: 'transport_project',
  交通建设项目: 'transport_project',
  矿区: 'mining',
  采矿区: 'mining',
  已批建设用地: 'approved_construction',
  批准建设用地: 'approved_construction',
  重点巡查区域: 'key_patrol_area',
  重点巡查区: 'key_patrol_area',
  区县: 'district',
  行政区: 'district',
  县级行政区: 'district',
  乡镇: 'township',
  街道: 'township',
  乡镇街道: 'township',
  乡镇_街道: 'township',
  '乡镇/街道': 'township',
  乡级行政区: 'township',
  村: 'village',
  社区: 'village',
  行政村: 'village',
  村社区: 'village',
  村居: 'village',
  '村/社区': 'village',
  村_社区: 'village',
  村级行政区: 'village',
  村级调查区: 'village',
};

const KIND_KEYS = ['kind', 'zone_kind', 'KIND', 'ZONE_KIND', 'type', 'TYPE'];
const CODE_KEYS = ['code', 'adcode', 'XZQDM', 'xzqdm', 'CODE'];
const NAME_KEYS = ['name', 'XZQMC', 'xzqmc', 'NAME'];
/** 乡镇/街道 layers also name their code and name columns XZDM/XZMC (乡镇代码/名称). */
const TOWNSHIP_CODE_KEYS = [...CODE_KEYS, 'XZDM', 'xzdm'];
const TOWNSHIP_NAME_KEYS = [...NAME_KEYS, 'XZMC', 'xzmc'];
/** 乡级 codes: the district's six digits and three more (三调 XZQDM), or twelve (统计用区划代码, ending 000). */
const TOWNSHIP_CODE = /^\d{9}(\d{3})?$/;
/** 村/社区 layers name theirs CJDM/CJMC (村级代码/名称). */
const VILLAGE_CODE_KEYS = [...CODE_KEYS, 'CJDM', 'cjdm'];
const VILLAGE_NAME_KEYS = [...NAME_KEYS, 'CJMC', 'cjmc'];
/**
 * 村级 codes (统计用区划代码): the township's nine digits and three more, not 000 (a twelve-digit
 * code ending in 000 is the township's own).
 */
const VILLAGE_CODE = /^\d{9}(?!000)\d{3}$/;
/** The level a code of a file without kinds names: 9 digits or 12 ending 000 a township, other 12 a village. */
const subDistrictKind = (code: string): 'township' | 'village' => (VILLAGE_CODE.test(code) ? 'village' : 'township');

function normaliseKindName(s: string): string {
  return s.trim().toLowerCase().replace(/[\s-]+/g, '_');
}

/** Tuban's kind for a user's kind label, or null when it is not one we know. */
export function resolveZoneKind(label: string): ZoneKind | null {
  const n = normaliseKindName(label);
  if (isZoneKind(n)) return n;
  return ZONE_KIND_ALIASES[n] ?? ZONE_KIND_ALIASES[label.trim()] ?? null;
}

function firstProp(p: Record<string, unknown>, keys: string[]): string | undefined {
  for (const k of keys) {
    const v = p[k];
    if (v !== undefined && v !== null && String(v).trim() !== '') return String(v).trim();
  }
  return undefined;
}

export interface LoadZonesOptions {
  /** CRS for every zone file, overriding what files declare: 'gcj02' or an EPSG string. */
  zonesCrs?: string;
  /** Per-file override (by the path as given), for mixed inputs such as one GCJ-02 district file. */
  crsByPath?: Record<string, string>;
  /**
   * Read a DataV-looking file given without a CRS as it declares instead of refusing it: for a stored
   * batch's files (the quarter report), which batches before the refusal read that way.
   */
  unstatedDataVAsDeclared?: boolean;
}

export interface LoadZonesResult {
  zones: Zone[];
  rejected: RejectedInput[];
  /** Features whose geometry was invalid but repaired and kept (reported, not counted as rejected). */
  repaired: RejectedInput[];
  warnings: string[];
}

/** Reads zone files as `loadZones` does (the embedded runner passes one that reads each file once per batch). */
export type ZoneLoader = (paths: string[], opts: LoadZonesOptions) => Promise<LoadZonesResult>;

/** Reads one zone file as `loadZones([path], { zonesCrs: crs })` does. */
export type ZoneFileReader = (path: string, crs: string | undefined) => Promise<LoadZonesResult>;

/** A ZoneLoader that keeps each file it reads; `prefetch` starts reading files ahead of the first ask. */
export type ZoneFileCache = ZoneLoader & { prefetch(paths: readonly string[], opts: LoadZonesOptions, read: ZoneFileReader): void };

const readHere: ZoneFileReader = (path, crs) => loadZones([path], crs === undefined ? {} : { zonesCrs: crs });

/**
 * A `loadZones` that reads each file once however often it is asked (planning's district check,
 * then finalising): the result for several paths is the files' own results one after another,
 * which is what `loadZones` gives, as nothing in it carries over from one file to the next.
 * Callers must not mutate the zones they get (none does: they copy the lists and index the zones).
 */
export function onceEachZoneFile(): ZoneFileCache {
  const files = new Map<string, Promise<LoadZonesResult>>();
  const file = (path: string, opts: LoadZonesOptions, read: ZoneFileReader): Promise<LoadZonesResult> => {
    const crs = opts.crsByPath?.[path] ?? opts.zonesCrs;
    const key = `${crs ?? ''}\0${path}`;
    let loaded = files.get(key);
    if (!loaded) {
      // Another reader (a thread) that fails is not the file's fault: read it here then.
      loaded = read === readHere ? readHere(path, crs) : read(path, crs).catch(() => readHere(path, crs));
      files.set(key, loaded);
    }
    return loaded;
  };
  const load: ZoneLoader = async (paths, opts) => {
    const parts = await Promise.all(paths.map((path) => file(path, opts, readHere)));
    return {
      zones: parts.flatMap((p) => p.zones),
      rejected: parts.flatMap((p) => p.rejected),
      repaired: parts.flatMap((p) => p.repaired),
      warnings: parts.flatMap((p) => p.warnings),
    };
  };
  return Object.assign(load, {
    prefetch(paths: readonly string[], opts: LoadZonesOptions, read: ZoneFileReader) {
      for (const path of paths) file(path, opts, read).catch(() => undefined); // a failure is met where the file is asked for
    },
  });
}

/** The codes of a zone file rejected whole (unreadable, empty, no CRS said), not one feature of it: its layer is missing. */
export const ZONE_FILE_REJECTED: ReadonlySet<string> = new Set(['ZONES.UNREADABLE', 'ZONES.EMPTY', 'ZONES.CRS_MISSING']);

/** Load zone layers from `paths`; every problem is a RejectedInput or a warning, never a silent drop. */
export async function loadZones(paths: string[], opts: LoadZonesOptions = {}): Promise<LoadZonesResult> {
  const zones: Zone[] = [];
  const rejected: RejectedInput[] = [];
  const repaired: RejectedInput[] = [];
  const warnings: string[] = [];
  for (const path of paths) {
    const file = basename(path);
    const crs = opts.crsByPath?.[path] ?? opts.zonesCrs;
    let read;
    try {
      read = await readVectorFile(path, { sourceCrs: crs });
    } catch (err) {
      rejected.push({ subject: path, error: asTubanError(err, path).toJSON() });
      continue;
    }
    // A DataV download is GCJ-02 whatever it declares, and one converted already looks the same:
    // read as WGS84 unasked, every polygon near a district border went to the wrong district (exit 0
    // with a warning). Which one it is, only the user knows: refused until the path says.
    if (crs === undefined && !opts.unstatedDataVAsDeclared && read.crs !== 'gcj02' && looksLikeDataV(read.features)) {
      rejected.push({ subject: path, error: new TubanError('ZONES.CRS_MISSING', dataVUnstated(path, read.crs), path).toJSON() });
      continue;
    }
    warnings.push(...read.warnings);
    if (read.crs === 'gcj02') warnings.push(`${file}: converted from GCJ-02 to WGS84`);

    // Files of districts (DataV, 行政区 exports) usually carry no kind column at all; nor do 乡级 and
    // 村级 行政区 exports, whose codes are nine or twelve digits, not six: each feature is then a
    // township or a village by its code (subDistrictKind).
    const unkindedCode = (f: VectorFeature) => firstProp(f.properties, ['adcode', 'XZQDM', 'xzqdm']);
    const unkinded = read.features.every((f) => firstProp(f.properties, KIND_KEYS) === undefined && unkindedCode(f) !== undefined);
    const subDistrict = unkinded && read.features.every((f) => TOWNSHIP_CODE.test(unkindedCode(f) ?? ''));
    const allDistricts = unkinded && !subDistrict;
    if (allDistricts) warnings.push(`${file}: no kind property but every feature has a district code; loaded as districts`);
    if (subDistrict) {
      const villages = read.features.filter((f) => subDistrictKind(unkindedCode(f)!) === 'village').length;
      const townships = read.features.length - villages;
      if (villages === 0) warnings.push(`${file}: no kind property but every feature has a 9- or 12-digit 乡镇/街道 code; loaded as townships`);
      else
        warnings.push(
          `${file}: no kind property but every feature has a 9- or 12-digit code; loaded as ${townships} township(s) (9 digits, or 12 ending in 000) and ${villages} village(s) (村/社区: other 12-digit codes)`,
        );
    }

    const unknown = new Map<string, number>();
    const kindless: VectorFeature[] = [];
    const usedIds = new Set<string>();
    // Inferred from codes alone, a city or province is no 区县: a DataV province-children file lists
    // prefecture-level cities (level 'city', 320100 南京市), which would take every polygon as a district.
    const above = allDistricts ? read.features.filter((f) => aboveDistrict(f.properties)) : [];
    const skip = new Set(above);
    if (above.length > 0) {
      const named = above.slice(0, 3).map((f) => `${firstProp(f.properties, CODE_KEYS)} ${firstProp(f.properties, NAME_KEYS) ?? ''}`.trim()).join(', ');
      const example = firstProp(above[0].properties, CODE_KEYS);
      rejected.push({
        subject: path,
        error: new TubanError(
          'ZONES.UNKNOWN_KIND',
          `${above.length} feature(s) are cities or provinces, not 区县 districts (${named}${above.length > 3 ? ' …' : ''}): polygons are routed to districts (six-digit codes not ending in 00); ` +
            `use each city's district file instead (DataV: ${example}_full.json, e.g. https://geo.datav.aliyun.com/areas_v3/bound/${example}_full.json), or give the features kind 'district' if they are really meant as such`,
          path,
        ).toJSON(),
      });
    }
    read.features.forEach((f, index) => {
      if (skip.has(f)) return;
      const label = allDistricts ? 'district' : subDistrict ? subDistrictKind(unkindedCode(f)!) : firstProp(f.properties, KIND_KEYS);
      const kind = label === undefined ? null : resolveZoneKind(label);
      if (!kind) {
        const key = label ?? '(no kind property)';
        unknown.set(key, (unknown.get(key) ?? 0) + 1);
        if (label === undefined) kindless.push(f);
        return;
      }
      // GeoJSON ids need not be unique; the index disambiguates so ids stay deterministic and distinct.
      const id = usedIds.has(`${file}#${f.id}`) ? `${file}#${f.id}~${index}` : `${file}#${f.id}`;
      usedIds.add(id);
      const geometry = checkGeometry(f, id, path, rejected, repaired);
      if (!geometry) return;
      const zone: Zone = { id, kind, geometry, source: path };
      if (kind === 'district') {
        const code = firstProp(f.properties, CODE_KEYS);
        if (!code) {
          warnings.push(`${file}: district feature ${f.id} has no code (code/adcode/XZQDM); skipped`);
          return;
        }
        zone.code = code;
        const name = firstProp(f.properties, NAME_KEYS);
        if (name) zone.name = name;
      }
      if (kind === 'township') {
        const code = firstProp(f.properties, TOWNSHIP_CODE_KEYS);
        const name = firstProp(f.properties, TOWNSHIP_NAME_KEYS);
        if (!code && !name) {
          warnings.push(`${file}: township feature ${f.id} has neither a code (code/adcode/XZQDM/XZDM) nor a name (name/XZQMC/XZMC); skipped`);
          return;
        }
        // Kept whatever the code looks like: the name is what the ledger's 乡镇/街道 column shows.
        if (code && !TOWNSHIP_CODE.test(code)) warnings.push(`${file}: township feature ${f.id} has code ${code}, not a 9-digit (三调) or 12-digit (统计用区划代码) 乡镇/街道 code`);
        if (code) zone.code = code;
        if (name) zone.name = name;
      }
      if (kind === 'village') {
        const code = firstProp(f.properties, VILLAGE_CODE_KEYS);
        const name = firstProp(f.properties, VILLAGE_NAME_KEYS);
        if (!code && !name) {
          warnings.push(`${file}: village feature ${f.id} has neither a code (code/adcode/XZQDM/CJDM) nor a name (name/XZQMC/CJMC); skipped (a village planning layer is kind village_planning, 村庄规划)`);
          return;
        }
        // Kept as the township's is: the name is what the ledger's 村 column shows.
        if (code && !VILLAGE_CODE.test(code)) warnings.push(`${file}: village feature ${f.id} has code ${code}, not a 12-digit 村/社区 code (the township's nine digits and three more, not 000)`);
        if (code) zone.code = code;
        if (name) zone.name = name;
      }
      zones.push(zone);
    });
    if (unknown.size > 0) {
      const list = [...unknown].map(([k, n]) => `'${k}' ×${n}${k === '(no kind property)' ? kindlessHint(kindless) : ''}`).join(', ');
      const total = [...unknown.values()].reduce((a, b) => a + b, 0);
      rejected.push({
        subject: path,
        error: new TubanError('ZONES.UNKNOWN_KIND', `${total} feature(s) with unknown zone kind: ${list}; known kinds: ${ZONE_KINDS.join(', ')} (plus the aliases in ZONE_KIND_ALIASES)`, path).toJSON(),
      });
    }
  }
  return { zones, rejected, repaired, warnings };
}

/**
 * What to do about features without a kind property: the columns read, the columns they have, and
 * the one whose values are zone kinds where there is one (a 类型 column holding 区县, from a file
 * with Chinese column names).
 */
function kindlessHint(features: VectorFeature[]): string {
  const or = (keys: string[]) => `${keys.slice(0, -1).join(', ')} or ${keys[keys.length - 1]}`;
  const columns = [...new Set(features.flatMap((f) => Object.keys(f.properties ?? {})))];
  const holdsKinds = columns.find((c) => features.every((f) => {
    const v = f.properties?.[c];
    return v !== undefined && v !== null && resolveZoneKind(String(v).trim()) !== null;
  }));
  const has = columns.length ? `these features have ${columns.slice(0, 8).join(', ')}${columns.length > 8 ? ' …' : ''}` : 'these features have no columns';
  const rename = holdsKinds
    ? `, and ${holdsKinds} holds zone kinds (${[...new Set(features.map((f) => String(f.properties[holdsKinds]).trim()))].slice(0, 3).join(', ')}): rename that column kind`
    : '';
  return `: a feature's kind is read from its column ${or(KIND_KEYS)}; ${has}${rename} (a district also needs its code in ${or(CODE_KEYS.filter((k) => k !== 'xzqdm' && k !== 'CODE'))} and its name in ${or(NAME_KEYS.filter((k) => k !== 'xzqmc' && k !== 'NAME'))})`;
}

/** A feature of a file without kinds that names a city or province: DataV's `level`, else a six-digit code ending in 00 (GB/T 2260). */
function aboveDistrict(properties: VectorFeature['properties']): boolean {
  const level = properties?.level;
  if (level === 'province' || level === 'city' || level === 'country') return true;
  if (level === 'district') return false;
  const code = firstProp(properties, CODE_KEYS);
  return code !== undefined && /^\d{4}00$/.test(code);
}

/**
 * Why a DataV-looking file given without a CRS is refused, and the two ways out. A converted copy is
 * named in the CRS it declares: a suffix overrides the file's own, so @wgs84 on Gauss-Krüger metres
 * would read them as degrees.
 */
function dataVUnstated(path: string, declared: string): string {
  const lonLat = declared === LONLAT || declared === 'EPSG:4490';
  const converted = lonLat
    ? `--zones ${path}@wgs84 if it was converted to WGS84 already`
    : /^EPSG:\d+$/.test(declared)
      ? `--zones ${path}@${declared} (the CRS it declares) if it was converted already`
      : `if it was converted already, reproject it to CGCS2000 (ogr2ogr -t_srs EPSG:4490 out.gpkg ${path}) and pass out.gpkg@cgcs2000`;
  return (
    `looks like an Aliyun DataV boundary file (adcode, level/centroid), which is in GCJ-02, 400–800 m off WGS84; read as it declares, every polygon near a district border would be routed to the wrong district. ` +
    `Say which it is: --zones ${path}@gcj02 for a DataV download (converted on reading), or ${converted}`
  );
}

function looksLikeDataV(features: VectorFeature[]): boolean {
  const p = features[0]?.properties ?? {};
  return 'adcode' in p && ('acroutes' in p || 'centroid' in p || 'level' in p);
}

/**
 * The feature's geometry when valid; a repaired geometry (plus a ZONES.INVALID_GEOMETRY note in
 * `repaired`) when it self-intersects or has a hole outside its shell and repair works; null (plus a
 * report in `rejected`) when it cannot be repaired. Overlay areas on a bowtie are meaningless, so an
 * unrepaired one never reaches routing.
 */
function checkGeometry(f: VectorFeature, id: string, path: string, rejected: RejectedInput[], repairedOut: RejectedInput[] = rejected): Polygon | MultiPolygon | null {
  const feature: Feature<Polygon | MultiPolygon> = { type: 'Feature', properties: {}, geometry: f.geometry };
  const report = (list: RejectedInput[], message: string) =>
    list.push({ subject: id, error: new TubanError('ZONES.INVALID_GEOMETRY', `feature ${f.id} ${message}`, `${path}#${f.id}`).toJSON() });
  const degenerate = (f.geometry.type === 'Polygon' ? [f.geometry.coordinates] : f.geometry.coordinates).some((p) => p.some((r) => r.length < 4));
  let crossings = 0;
  try {
    crossings = degenerate ? 0 : selfIntersections(f.geometry);
  } catch {
    crossings = 1;
  }
  if (!degenerate && crossings === 0) {
    const holes = strayHoles(f.geometry);
    if (holes.covering.length > 0) {
      report(rejected, `has hole ${holes.covering.join(', ')} that covers its shell (nothing is left); could not be repaired (dropped)`);
      return null;
    }
    if (holes.outside.length === 0) return f.geometry;
    // A hole outside the shell removes nothing from the area: dropping it is the faithful repair.
    // (Re-noding would instead turn it into a filled island the zone never had.)
    report(repairedOut, `hole ${holes.outside.join(', ')} lies outside its shell; repaired by dropping the hole (kept)`);
    return holes.fixed;
  }
  let repaired: Polygon | MultiPolygon | null = null;
  if (!degenerate) {
    try {
      // Union with itself: polyclip re-nodes the rings, splitting a bowtie into its two lobes.
      const u = union(featureCollection([feature, feature]));
      if (u && selfIntersections(u.geometry) === 0) repaired = u.geometry;
    } catch {
      repaired = null;
    }
  }
  const what = degenerate ? 'has a ring with fewer than 4 positions' : `self-intersects at ${crossings} point(s)`;
  report(repaired ? repairedOut : rejected, `${what}; ${repaired ? 'repaired by re-noding (kept)' : 'could not be repaired (dropped)'}`);
  return repaired;
}

/**
 * Holes (1-based within their part) that lie outside their shell, or cover it, in a geometry whose
 * rings do not cross (checked before). Without crossings a hole is wholly inside, wholly outside, or
 * wholly around its shell, so one vertex of each ring decides.
 */
function strayHoles(g: Polygon | MultiPolygon): { outside: number[]; covering: number[]; fixed: Polygon | MultiPolygon } {
  const parts = g.type === 'Polygon' ? [g.coordinates] : g.coordinates;
  const outside: number[] = [];
  const covering: number[] = [];
  const fixedParts = parts.map(([shell, ...holes]) => {
    const shellPoly: Polygon = { type: 'Polygon', coordinates: [shell] };
    const kept = holes.filter((hole, k) => {
      const holePoly: Polygon = { type: 'Polygon', coordinates: [hole] };
      const inside = hole.some((pt) => booleanPointInPolygon(pt, shellPoly, { ignoreBoundary: true }));
      if (inside) return true;
      if (shell.some((pt) => booleanPointInPolygon(pt, holePoly, { ignoreBoundary: true }))) covering.push(k + 1);
      else outside.push(k + 1);
      return false;
    });
    return [shell, ...kept];
  });
  const fixed: Polygon | MultiPolygon = g.type === 'Polygon' ? { type: 'Polygon', coordinates: fixedParts[0] } : { type: 'MultiPolygon', coordinates: fixedParts };
  return { outside, covering, fixed };
}

/**
 * Crossing points within each polygon part. Parts are checked one by one because parts of a
 * MultiPolygon may legally touch at a point (a repaired bowtie does), which turf `kinks` would count.
 */
function selfIntersections(g: Polygon | MultiPolygon): number {
  const parts = g.type === 'Polygon' ? [g.coordinates] : g.coordinates;
  let n = 0;
  // kinks tries every pair of edges (5 621 zones of ~50-170 vertices: 0.4 s); a part whose edges
  // certainly meet nowhere (ringsSimple: a sweep over x, margins far above kinks' rounding) has none.
  for (const coordinates of parts) n += ringsSimple(coordinates) ? 0 : kinks({ type: 'Polygon', coordinates }).features.length;
  return n;
}

/** DLBM (三调 land-class code) property names seen in 三调 / 变更调查 exports. */
const DLBM_KEYS = ['dlbm', 'DLBM', 'Dlbm'];

/** Load the 三调 land-use baseline; features without a DLBM are reported (one RejectedInput per file). */
export async function loadLandUse(path: string, opts: { crs?: string } = {}): Promise<{ parcels: LandUseParcel[]; rejected: RejectedInput[] }> {
  const rejected: RejectedInput[] = [];
  let read;
  try {
    read = await readVectorFile(path, { sourceCrs: opts.crs });
  } catch (err) {
    return { parcels: [], rejected: [{ subject: path, error: asTubanError(err, path).toJSON() }] };
  }
  const parcels: LandUseParcel[] = [];
  let missing = 0;
  for (const f of read.features) {
    const dlbm = firstProp(f.properties, DLBM_KEYS);
    if (!dlbm) { missing++; continue; }
    const geometry = checkGeometry(f, `${basename(path)}#${f.id}`, path, rejected);
    if (geometry) parcels.push({ dlbm, geometry });
  }
  if (missing > 0) {
    rejected.push({ subject: path, error: new TubanError('ZONES.UNKNOWN_KIND', `${missing} land-use feature(s) have no DLBM (dlbm/DLBM) and were skipped`, path).toJSON() });
  }
  if (parcels.length === 0 && missing === 0) {
    rejected.push({ subject: path, error: new TubanError('ZONES.EMPTY', 'no usable land-use parcels', path).toJSON() });
  }
  return { parcels, rejected };
}
