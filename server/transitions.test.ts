/**
 * Every workflow action from every state: allowed where state_machine.ts says so (the answer is
 * anything but CASE.BAD_STATE), refused with 409 CASE.BAD_STATE everywhere else, and a refusal
 * changes nothing (no audit row, same case version).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../pipeline/store/queryable.js';
import { replaceBatchPolygons } from '../pipeline/store/repository.js';
import { addUsers, jpegWithExif, openTestDatabase, polygon, square, testApp, writeBatch, type TestApp } from './testing/fixtures.js';
import { ACTIONS, STATUSES, allowedFrom, type ActionName } from './workflow/state-machine.js';

let db: Database;
let t: TestApp;
const CODE = '370102-202610-0001';
/** A case whose polygon a re-run dropped: what `withdraw` is for (a case still drawn is refused by its own check). */
const GONE = '370102-202610-0002';

beforeAll(async () => {
  db = await openTestDatabase();
  await writeBatch(db, 'b1', '2026-10', [polygon(CODE, '2026-10', square(117, 36.6)), polygon(GONE, '2026-10', square(117.01, 36.6))], '2026-11-02');
  await addUsers(db, [
    ['nr', 'bureau', 'natural_resources'],
    ['chief', 'lead'],
  ]);
  t = await testApp(db);
  await t.app.inject({ method: 'POST', url: '/api/sweep', headers: { authorization: `Bearer ${await t.token('chief')}` } });
  await replaceBatchPolygons(db, 'b1', [polygon(CODE, '2026-10', square(117, 36.6))]);
}, 120_000);

afterAll(async () => {
  await t?.app.close();
  await db?.close();
});

const URL_OF: Record<ActionName, string> = {
  accept: 'accept',
  split: 'split',
  verdict: 'verdict',
  recheck_date: 'recheck-date',
  rectification: 'rectification',
  close: 'close',
  request_reassignment: 'request-reassignment',
  reassign: 'reassign',
  review: 'review',
  escalate: 'escalate',
  hand_over: 'hand-over',
  urge: 'urge',
  note: 'notes',
  evidence: 'evidence',
  confirm_geometry: 'confirm-geometry',
  withdraw: 'withdraw',
  separate: 'separate',
};

const half = (w: number) => ({ type: 'Polygon', coordinates: [[[117 + w, 36.6], [117 + w + 0.0005, 36.6], [117 + w + 0.0005, 36.601], [117 + w, 36.601], [117 + w, 36.6]]] });
const BODY: Record<ActionName, unknown> = {
  accept: {},
  split: { parcels: [half(0), half(0.0005)] },
  verdict: { verdict: 'illegal', violation_type: 'illegal_occupation' },
  recheck_date: { recheck_on: '2026-12-15', reason: '待下期影像' },
  rectification: { method: 'demolish_restore', progress: 100 },
  close: { reason: '已整改' },
  request_reassignment: { reason: '非本部门' },
  reassign: { lead_bureau: 'natural_resources', reason: '仍由本局' },
  review: { approve: true },
  escalate: { reason: '逾期' },
  hand_over: { to: 'discipline', reference: '移〔2026〕1号' },
  urge: { comment: '请于本周内完成整改并报送' },
  note: { text: '记录' },
  evidence: null,
  confirm_geometry: {},
  withdraw: { reason: '复跑后不再提取' },
  separate: { reason: '相邻新建，非同一地块' },
};

describe('every action from every state', () => {
  for (const status of STATUSES) {
    for (const action of Object.keys(ACTIONS) as ActionName[]) {
      const allowed = allowedFrom(action, status);
      it(`${action} from ${status}: ${allowed ? 'allowed' : '409'}`, async () => {
        // Put the case in the state directly (setup, not under test): rectified, illegal verdict
        // (other for closing a verified case: an illegal one must be rectified first, tested in api.test.ts);
        // an outline a batch changed, for confirm_geometry (an unchanged one: triage-integrity.test.ts);
        // merged into the other case.
        const code = action === 'withdraw' ? GONE : CODE;
        await db.query(`DELETE FROM parcels WHERE code = $1`, [code]);
        await db.query(
          `UPDATE cases SET status = $2, verdict = $3, verdict_details = '{}'::jsonb, rectification = '{"progress": 100}'::jsonb, lead_bureau = 'natural_resources', geometry_changed = $4,
                  merged_into = CASE WHEN $2 = 'merged' THEN $5 END WHERE code = $1`,
          [code, status, action === 'close' && status === 'verified' ? 'other' : 'illegal', action === 'confirm_geometry', code === CODE ? GONE : CODE],
        );
        const before = (await db.query<{ version: number; n: number }>(`SELECT version, (SELECT count(*)::int FROM audit_log WHERE code = $1) AS n FROM cases WHERE code = $1`, [code])).rows[0];
        const user = ACTIONS[action].actor === 'oversee' ? 'chief' : 'nr';
        const headers: Record<string, string> = { authorization: `Bearer ${await t.token(user)}` };
        const r =
          action === 'evidence'
            ? await t.app.inject({ method: 'POST', url: `/api/polygons/${code}/evidence?name=p.jpg`, headers: { ...headers, 'content-type': 'image/jpeg' }, payload: jpegWithExif({ taken: '2026:11:05 10:00:00', lat: 36.6, lon: 117, azimuth: 0 }) })
            : await t.app.inject({ method: 'POST', url: `/api/polygons/${code}/${URL_OF[action]}`, headers, payload: BODY[action] as object });
        if (allowed) {
          expect(r.statusCode, r.body).toBe(200);
        } else {
          expect(r.statusCode, r.body).toBe(409);
          expect(r.json().code).toBe('CASE.BAD_STATE');
          const after = (await db.query<{ version: number; n: number }>(`SELECT version, (SELECT count(*)::int FROM audit_log WHERE code = $1) AS n FROM cases WHERE code = $1`, [code])).rows[0];
          expect(after).toEqual(before);
        }
      });
    }
  }
});
