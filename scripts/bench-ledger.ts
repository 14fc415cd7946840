/**
 * Ledger export speed and size: N synthetic rows (seeded; a third verified, some split or escalated,
 * one clue point in fifty) encoded in every format, no database involved.
 *   npm run build && node dist/scripts/bench-ledger.js [--rows 100000]
 * Prints seconds, megabytes and the process's peak RSS per format.
 */
import type { LedgerClue } from '../pipeline/outputs/ledger.js';
import { ledgerRows } from '../pipeline/outputs/ledger.js';
import { undetermined, type LedgerDisposition } from '../pipeline/outputs/ledger-disposition.js';
import { LEDGER_FORMATS } from '../schemas/api.js';
import { encodeLedger, type LedgerData } from '../pipeline/outputs/ledger-exports.js';
import { sampleBureauName, samplePolygon } from '../fixtures/sample-polygon.js';

const arg = process.argv.indexOf('--rows');
const n = arg > 0 ? Number(process.argv[arg + 1]) : 20_000;
let seed = 7;
const rnd = () => ((seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31);

const polys = Array.from({ length: n }, (_, i) => {
  const lon = 116.8 + (i % 400) * 0.002, lat = 36.5 + Math.floor(i / 400) * 0.002;
  const d = 0.0005 + rnd() * 0.001;
  return samplePolygon({
    code: `37010${1 + (i % 5)}-202610-${String(i + 1).padStart(5, '0')}`,
    geometry: { type: 'Polygon', coordinates: [[[lon, lat], [lon + d, lat], [lon + d, lat + d], [lon, lat + d], [lon, lat]]] },
    centroid: [lon + d / 2, lat + d / 2],
    areaM2: 300 + rnd() * 20_000,
  });
});
const clues: LedgerClue[] = Array.from({ length: Math.floor(n / 50) }, (_, i) => ({
  code: `370101-202610-X${String(i + 1).padStart(4, '0')}`, epoch: '2026-10', source: 'patrol', geometry: { type: 'Point', coordinates: [117 + i * 1e-4, 36.4] },
  areaM2: 0, districtCode: '370101', districtName: '历下区', leadBureau: 'natural_resources', coBureaus: [], description: '巡查发现堆土', reportedOn: '2026-10-12', centroid: [117 + i * 1e-4, 36.4],
}));
const dispositions: LedgerDisposition[] = polys.filter(() => rnd() < 0.33).map((p) => ({
  ...undetermined(p.code), status: 'rectifying', verdict: 'illegal', violationType: '非法占用土地（未批先建）', rectificationMethod: '拆除复耕', rectified: false,
  closure: '县级已填报违法', dueDate: '2026-11-20', overdue: true, escalations: rnd() < 0.1 ? 1 : 0,
}));
const rows = ledgerRows(polys, { bureauName: sampleBureauName, issuedOn: '2026-11-02' }, dispositions, clues);
const geometries = new Map<string, LedgerClue['geometry']>([...polys.map((p) => [p.code, p.geometry] as const), ...clues.map((c) => [c.code, c.geometry] as const)]);
const data: LedgerData = {
  epoch: '2026-10', issuedOn: '2026-11-02', rows, geometries, dispositions: [], polygons: polys, clues, workflow: true, bureauName: sampleBureauName,
};
console.log(`ledger export, ${rows.length} rows (${clues.length} clue points)`);
console.log('format     seconds      MB   peak RSS MB');
for (const f of LEDGER_FORMATS) {
  const t0 = performance.now();
  const e = await encodeLedger(data, f);
  const s = (performance.now() - t0) / 1000;
  const rss = (process.resourceUsage().maxRSS / 1024).toFixed(0);
  console.log(`${f.padEnd(9)} ${s.toFixed(2).padStart(8)} ${(e.bytes.length / 2 ** 20).toFixed(1).padStart(7)} ${rss.padStart(13)}`);
}
