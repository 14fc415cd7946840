/**
 * The caller's polygons as KML for a site visit (外业核查): the crew loads it into a phone map app
 * and walks to each pin. The same scope and filters as the inbox (`listPolygons`), every page of
 * them; the facts a crew needs on site in Chinese, coloured by where the case stands.
 */
import type { Feature, Geometry } from 'geojson';
import { writeKml, type KmlPlacemark, type KmlStyle } from '../../geo/vector/write-kml.js';
import type { Queryable } from '../../pipeline/store/queryable.js';
import { CHANGE_TYPE_ZH, PRIORITY_ZH } from '../../schemas/vocabulary.js';
import { CLUE_SOURCE_ZH, SETTLED_STATUSES, WORKFLOW_STATUS_ZH } from '../../schemas/workflow.js';
import type { User } from '../access/roles.js';
import type { Deadlines } from '../deadlines/rules.js';
import { ApiError } from '../errors.js';
import { listPolygons, type BureauNames, type PolygonFilter } from './polygon-queries.js';

/** More than a phone app draws usefully; a month's filter (status, overdue) cuts it. */
export const MAX_FIELD_PLACEMARKS = 20_000;

const STYLES: Record<string, KmlStyle> = {
  overdue: { line: '#d7301f', fillOpacity: 0.25 },
  todo: { line: '#f57c00', fillOpacity: 0.2 },
  working: { line: '#1f78b4', fillOpacity: 0.15 },
  settled: { line: '#7f7f7f', fillOpacity: 0.1 },
};

const TODO = new Set(['issued', 'accepted', 'reassignment_requested']);
const SETTLED = new Set<string>(SETTLED_STATUSES);

function styleOf(p: Record<string, unknown>): string {
  if (p.overdue) return 'overdue';
  if (TODO.has(String(p.status))) return 'todo';
  return SETTLED.has(String(p.status)) ? 'settled' : 'working';
}

const label = (table: Record<string, string>, id: unknown) => (typeof id === 'string' ? (table[id] ?? id) : '');

export function placemarkOf(f: Feature<Geometry>, bureauName: (id: string) => string, deadlines: Deadlines): KmlPlacemark {
  const p = f.properties as Record<string, unknown>;
  // How late, in the unit its deadline counts (working days on the holiday calendar, else days).
  const unit = deadlines.rules[p.due_rule as keyof Deadlines['rules']]?.kind === 'working_days' ? '个工作日' : '天';
  // A working-day clock that ran out on a Friday is overdue on Saturday, by no working day yet (as web/dom.js lateText says).
  const days = p.days_overdue == null ? '' : Number(p.days_overdue) > 0 ? ` ${p.days_overdue} ${unit}` : ` 不足 1 ${unit}`;
  const late = p.overdue ? `（逾期${days}）` : '';
  const lon = Number(p.centroid_lon);
  const lat = Number(p.centroid_lat);
  const pin = Number.isFinite(lon) && Number.isFinite(lat) && p.centroid_lon != null ? ([lon, lat] as const) : null;
  const co = (Array.isArray(p.co_bureaus) ? p.co_bureaus : []).map((b) => bureauName(String(b)));
  const facts: [string, string][] = [
    ['图斑编号', String(p.code)],
    ['监测期', String(p.epoch ?? '')],
    ['区县', [p.district_name, p.district_code].filter(Boolean).join(' ')],
    // 属地: which 乡镇/街道 sends its people (blank, and left out, without a township layer).
    ['乡镇/街道', [p.township_name, p.township_code].filter(Boolean).join(' ')],
    // And the 村/社区 within it (left out likewise without a village layer).
    ['村', [p.village_name, p.village_code].filter(Boolean).join(' ')],
    // A clue (巡查, 举报, 热线) has a source, not a detected change.
    p.source === 'satellite' ? ['变化类型', label(CHANGE_TYPE_ZH, p.change_type)] : ['线索来源', label(CLUE_SOURCE_ZH, p.source)],
    ['面积', p.area_mu == null ? '' : `${p.area_mu} 亩（${p.area_m2} 平方米）`],
    ['牵头单位', String(p.lead_bureau_name ?? p.lead_bureau ?? '')],
    ['协办单位', co.join('、')],
    ['办理状态', `${label(WORKFLOW_STATUS_ZH, p.status)}${late}`],
    ['办理期限', String(p.due_date ?? '')],
    ['优先级', label(PRIORITY_ZH, p.priority)],
    ['前时相', String(p.before_date ?? '')],
    ['后时相', String(p.after_date ?? '')],
    ['中心点经纬度', pin ? `${lon.toFixed(6)}, ${lat.toFixed(6)}` : ''],
    ['说明', String(p.description ?? '')],
  ];
  return { name: String(p.code), facts: facts.filter(([, v]) => v !== ''), geometry: f.geometry, pin, style: styleOf(p) };
}

/** Every polygon of `filter` in `user`'s scope (all pages, by code) as one KML document. */
export async function fieldKml(
  q: Queryable,
  user: User,
  filter: Omit<PolygonFilter, 'limit' | 'cursor' | 'sort'>,
  today: string,
  names: BureauNames,
  deadlines: Deadlines,
  title: string,
): Promise<{ kml: string; count: number }> {
  const placemarks: KmlPlacemark[] = [];
  const bureauName = (id: string) => names[id] ?? id;
  let cursor: string | undefined;
  do {
    // The full view whatever was asked: the list view has no outline or centre to put on a map.
    const page = await listPolygons(q, user, { ...filter, view: 'full', limit: 5000, ...(cursor ? { cursor } : {}) }, today, names, deadlines);
    for (const f of page.features) placemarks.push(placemarkOf(f as Feature<Geometry>, bureauName, deadlines));
    if (placemarks.length > MAX_FIELD_PLACEMARKS) throw new ApiError('EXPORT.TOO_LARGE');
    cursor = page.next_cursor ?? undefined;
  } while (cursor);
  return { kml: writeKml({ name: title, styles: STYLES, placemarks }), count: placemarks.length };
}
