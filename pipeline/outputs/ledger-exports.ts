/**
 * The month's ledger from the database, in the five formats bureaus exchange: xlsx and csv (Chinese
 * headers), GeoPackage and GeoJSON (the same Chinese names as attributes), and a zipped Shapefile
 * (short pinyin field names, ledger-shapefile-fields.ts). `exportLedger` is what `tuban ledger`
 * writes and what the server's `GET /api/ledger/{epoch}.{format}` sends.
 *
 * Rows: every polygon of the epoch that starts a new site (a polygon continuing an earlier site is
 * progression, as in the batch's own ledger.xlsx) and every clue of the month, each with its one
 * disposition from the workflow (workflow-dispositions.ts). Geometry: lon/lat EPSG:4326.
 */
import type { Feature, FeatureCollection, MultiPolygon, Point, Polygon } from 'geojson';
import { encodeGeoPackage, type ColumnType } from '../../geo/vector/write-gpkg.js';
import { shapefileZip } from '../../geo/vector/write-shapefile-zip.js';
import { ruleTablesOfPlans } from '../route/batch-rule-tables.js';
import { TubanError } from '../../schemas/errors.js';
import type { BureauId } from '../../schemas/vocabulary.js';
import type { MonitoringPolygon } from '../../schemas/polygon.js';
import { loadGonePolygons, loadPolygons } from '../store/repository.js';
import type { Queryable } from '../store/queryable.js';
import { LEDGER_COLUMNS, ledgerCsvBytes, ledgerRows, type LedgerClue, type LedgerRow } from './ledger.js';
import { ledgerXlsxBytes } from './ledger-xlsx.js';
import { oneDispositionEach, type LedgerDisposition } from './ledger-disposition.js';
import { LEDGER_SHP_FIELDS } from './ledger-shapefile-fields.js';
import { loadWorkflowLedger, type WorkflowLedger } from './workflow-dispositions.js';
import { LEDGER_FORMATS, type LedgerFormat } from '../../schemas/api.js';
import { chinaDate, chinaDateSql, endOfMonth } from '../iso-date.js';


/** The ledger's GeoPackage columns, typed from the shapefile's field table (N with decimals: REAL). */
const LEDGER_GPKG_COLUMNS: Record<string, ColumnType> = Object.fromEntries(
  LEDGER_SHP_FIELDS.map((f) => [f.column, f.type === 'N' ? ((f.decimals ?? 0) > 0 ? 'REAL' : 'INTEGER') : 'TEXT']),
);

export const LEDGER_CONTENT_TYPES: Record<LedgerFormat, string> = {
  xlsx: 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
  csv: 'text/csv; charset=utf-8',
  gpkg: 'application/geopackage+sqlite3',
  'shp.zip': 'application/zip',
  geojson: 'application/geo+json',
};

export interface LedgerData {
  epoch: string;
  /** The latest day the epoch's batches were issued, yyyy-mm-dd (each row's 下发时间 is its own: its case's issued_on). */
  issuedOn: string;
  rows: LedgerRow[];
  /** Geometry per row code (polygon or clue), lon/lat. */
  geometries: Map<string, Polygon | MultiPolygon | Point>;
  /** One per row, in row order. */
  dispositions: LedgerDisposition[];
  /** Every polygon of the epoch, new sites and continuing ones (the report counts both; a row's code is a new site's), with the bureaus handling it now. */
  polygons: MonitoringPolygon[];
  clues: LedgerClue[];
  /** False where the database has no workflow tables: every row is 未核查. */
  workflow: boolean;
  /** Chinese name of a bureau id, after the rule tables the batches used. */
  bureauName: (id: BureauId) => string;
}

export interface LedgerExport {
  bytes: Uint8Array;
  contentType: string;
  filename: string;
}

export interface LoadLedgerOptions {
  /** Day the ledger is compiled, yyyy-mm-dd (decides what is overdue); today in China (UTC+8) by default, as the server's. */
  asOf?: string;
  /**
   * The seam: dispositions and clues from somewhere other than the workflow tables (tests, an import
   * from a provincial system). Default: `loadWorkflowLedger`.
   */
  source?: (db: Queryable, epoch: string, codes: readonly string[], asOf: string) => Promise<WorkflowLedger>;
}

export function checkEpoch(epoch: string): string {
  if (!/^\d{4}-(0[1-9]|1[0-2])$/.test(epoch)) throw new TubanError('LEDGER.BAD_REQUEST', `epoch must be YYYY-MM, got '${epoch}'`, epoch);
  return epoch;
}

/** The rule tables the epoch's batches routed with (for the bureaus' Chinese names), else the default. */
async function bureauNamer(plans: unknown[]): Promise<(id: BureauId) => string> {
  const tables = await ruleTablesOfPlans(plans);
  return (id) => tables.find((t) => t.bureaus[id]?.name_zh)?.bureaus[id]?.name_zh ?? id;
}

/** Read everything the month's ledger needs from the database. */
export async function loadLedger(db: Queryable, epoch: string, opts: LoadLedgerOptions = {}): Promise<LedgerData> {
  checkEpoch(epoch);
  const asOf = opts.asOf ?? chinaDate(new Date());
  // Issue day in China, as the server's cases have it, whatever time zone the database session runs in.
  // The batches that issued a dropped polygon count too: a re-run that found nothing leaves its rows.
  const batches = await db.query<{ id: string; plan: unknown; issued_on: string }>(
    `SELECT b.id, b.plan, ${chinaDateSql('COALESCE(b.finished_at, b.created_at)')}::text AS issued_on FROM batches b
     WHERE b.id IN (SELECT batch_id FROM polygons WHERE epoch = $1 UNION SELECT batch_id FROM polygons_gone WHERE epoch = $1) ORDER BY b.id`,
    [epoch],
  );
  const routed: MonitoringPolygon[] = [];
  // The day each polygon was issued with its batch (a month may have several): its 下发时间, which is
  // batch metadata (XFSJ), also where a separation or a re-issue later gave its case another issued_on.
  const batchIssued = new Map<string, string>();
  for (const b of batches.rows) {
    const ps = await loadPolygons(db, b.id);
    for (const p of ps) batchIssued.set(p.code, b.issued_on);
    routed.push(...ps);
  }
  // Issued, then dropped by a re-run: still the month's items (图形灭失 once withdrawn), as issued.
  const gone = await loadGonePolygons(db, epoch);
  routed.push(...gone);
  if (gone.length > 0) {
    const batchDay = new Map(batches.rows.map((b) => [b.id, b.issued_on]));
    const r = await db.query<{ code: string; batch_id: string }>('SELECT code, batch_id FROM polygons_gone WHERE epoch = $1 AND code = ANY($2::text[])', [epoch, gone.map((p) => p.code)]);
    for (const g of r.rows) if (!batchIssued.has(g.code) && batchDay.has(g.batch_id)) batchIssued.set(g.code, batchDay.get(g.batch_id)!);
  }
  const source = opts.source ?? loadWorkflowLedger;
  const wf = await source(db, epoch, routed.map((p) => p.code), asOf);
  // Rows: new sites, and continuing polygons the workflow issued to be verified on their own (not
  // merged into their site's open case: that case's progression).
  const own = new Set(wf.newSites ?? []);
  const allCodes = [...routed.map((p) => p.code), ...wf.clues.map((c) => c.code)];
  const issuedOn = batches.rows.map((b) => b.issued_on).sort().at(-1) ?? asOf;
  // A clue has no batch: its 下发时间 is its case's issued_on (the day it was registered), or, while no
  // case holds it, the day the triage server will issue it (case-store.ts ISSUED_ON), its reported_on.
  const clueIssue = new Map(wf.clues.map((c) => [c.code, c.reportedOn]));
  // An item no case holds yet (no triage server has opened the month) runs on the default clock its
  // row shows as 办理期限 (月清), and is overdue past it like any other.
  const every = oneDispositionEach(allCodes, wf.dispositions).map((d) => {
    const issued = batchIssued.get(d.code) ?? d.issuedOn ?? clueIssue.get(d.code) ?? issuedOn;
    if (d.status !== null || d.dueDate !== null) return { ...d, issuedOn: issued };
    const due = endOfMonth(issued);
    return { ...d, issuedOn: issued, dueDate: due, overdue: due < asOf };
  });
  const byCode = new Map(every.map((d) => [d.code, d]));
  // The bureaus handling each item now: a reassignment (改派) moves the site, and a polygon merged
  // into a reassigned site's case with it; the batch's routing stands where there is no case.
  const handled = <T extends { code: string; leadBureau: BureauId; coBureaus: BureauId[] }>(x: T): T => {
    const d = byCode.get(x.code)!;
    return { ...x, leadBureau: d.leadBureau ?? x.leadBureau, coBureaus: d.coBureaus ?? x.coBureaus };
  };
  // A dropped sighting of a continuing site that was not issued on its own (it had joined the site's
  // open case) is neither a row nor, the re-run having retracted it, the site's progression.
  const retracted = new Set(gone.filter((p) => p.previousCode !== null && !own.has(p.code)).map((p) => p.code));
  const polygons = routed.filter((p) => !retracted.has(p.code)).map(handled);
  const clues = wf.clues.map(handled);
  const fresh = polygons.filter((p) => p.previousCode === null || own.has(p.code));
  // Dispositions of continuing sites stay with the report; the ledger rows take the new sites' and the clues'.
  const rowCodes = new Set([...fresh.map((p) => p.code), ...clues.map((c) => c.code)]);
  const bureauName = await bureauNamer(batches.rows.map((b) => b.plan));
  const rows = ledgerRows(fresh, { bureauName, issuedOn }, every.filter((d) => rowCodes.has(d.code)), clues);
  const geometries = new Map<string, Polygon | MultiPolygon | Point>();
  for (const p of fresh) geometries.set(p.code, p.geometry);
  for (const c of clues) geometries.set(c.code, c.geometry);
  return {
    epoch, issuedOn, rows, geometries, polygons, clues, workflow: wf.workflow, bureauName,
    dispositions: rows.map((r) => byCode.get(String(r.图斑编号))!),
  };
}

type Props = Record<string, string | number | null>;
const props = (r: LedgerRow): Props => Object.fromEntries(LEDGER_COLUMNS.map((c) => [c, r[c]]));

/** RFC 7946 FeatureCollection, Chinese attribute names as in the xlsx. */
export function ledgerGeoJson(data: LedgerData): FeatureCollection<Polygon | MultiPolygon | Point, Props> {
  return {
    type: 'FeatureCollection',
    features: data.rows.map((r): Feature<Polygon | MultiPolygon | Point, Props> => ({ type: 'Feature', geometry: data.geometries.get(String(r.图斑编号))!, properties: props(r) })),
  };
}

/** Shapefile layers: `ledger` (polygons) and, when a clue is a point, `ledger_point`. */
function shapefileBytes(data: LedgerData): Buffer {
  const poly: LedgerRow[] = [];
  const point: LedgerRow[] = [];
  for (const r of data.rows) (data.geometries.get(String(r.图斑编号))!.type === 'Point' ? point : poly).push(r);
  const layer = (name: string, rows: LedgerRow[]) => {
    // Text fields as wide as their longest value (a DBF pads every record to the declared width).
    const fields = LEDGER_SHP_FIELDS.map((f) =>
      f.type === 'C' ? { ...f, width: Math.min(f.width, Math.max(1, ...rows.map((r) => Buffer.byteLength(String(r[f.column] ?? ''), 'utf8')))) } : f,
    );
    return {
      name,
      fields,
      features: rows.map((r) => ({
        geometry: data.geometries.get(String(r.图斑编号))!,
        properties: Object.fromEntries(fields.map((f) => [f.name, r[f.column]])),
      })),
    };
  };
  return shapefileZip([layer('ledger', poly), ...(point.length > 0 ? [layer('ledger_point', point)] : [])]);
}

/** Encode loaded ledger data in one format. */
export async function encodeLedger(data: LedgerData, format: LedgerFormat): Promise<LedgerExport> {
  const base = `ledger-${data.epoch}`;
  const out = (bytes: Uint8Array): LedgerExport => ({ bytes, contentType: LEDGER_CONTENT_TYPES[format], filename: `${base}.${format}` });
  switch (format) {
    case 'xlsx':
      return out(await ledgerXlsxBytes(data.rows, { title: `${data.epoch} 新增违法违规问题台账`, epoch: data.epoch }));
    case 'csv':
      return out(ledgerCsvBytes(data.rows));
    case 'geojson':
      return out(Buffer.from(JSON.stringify(ledgerGeoJson(data)) + '\n', 'utf8'));
    case 'gpkg':
      return out(await encodeGeoPackage([{ name: 'ledger', columns: LEDGER_GPKG_COLUMNS, features: ledgerGeoJson(data).features.map((f) => ({ geometry: f.geometry, properties: f.properties })) }]));
    case 'shp.zip':
      return out(shapefileBytes(data));
    default:
      throw new TubanError('LEDGER.BAD_REQUEST', `unknown ledger format '${String(format)}' (one of ${LEDGER_FORMATS.join(', ')})`);
  }
}

export function parseLedgerFormat(s: string): LedgerFormat {
  if ((LEDGER_FORMATS as readonly string[]).includes(s)) return s as LedgerFormat;
  throw new TubanError('LEDGER.BAD_REQUEST', `unknown ledger format '${s}' (one of ${LEDGER_FORMATS.join(', ')})`);
}

/** The month's ledger as one file: what `GET /api/ledger/{epoch}.{format}` sends. */
export async function exportLedger(db: Queryable, epoch: string, format: LedgerFormat, opts: LoadLedgerOptions = {}): Promise<LedgerExport> {
  parseLedgerFormat(format);
  return encodeLedger(await loadLedger(db, epoch, opts), format);
}
