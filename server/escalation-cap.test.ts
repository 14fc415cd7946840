/**
 * The escalation level runs 1–5, as the lead bureau's 移交/升级 form takes it (schemas/api.ts Escalate)
 * and as Haikou's construction-stage ladder runs (seeds/004 第四条 (一)–(五): village group up to the
 * district's 责任倒查; no rung above). A case that stays late past the top is not raised further, by the
 * sweep or by an escalation by hand without a level, but each deadline it misses is still recorded: an
 * `overdue` escalation at the top level saying so, its history row, and the case stays overdue.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../pipeline/store/queryable.js';
import { addUsers, openTestDatabase, polygon, square, testApp, writeBatch, type TestApp } from './testing/fixtures.js';

const LATE = '370102-202610-0001';

let db: Database;
let t: TestApp;

async function ok(user: string, url: string, body?: unknown) {
  const r = await t.request(user, url, body);
  expect([url, r.statusCode], r.body).toEqual([url, 200]);
  return r;
}
const card = async () => (await ok('chief', `/api/polygons/${LATE}`)).json();

beforeAll(async () => {
  db = await openTestDatabase();
  // Issued 2 November: verified by the end of November (月清).
  await writeBatch(db, 'b-2026-10', '2026-10', [polygon(LATE, '2026-10', square(117.0, 36.6))], '2026-11-02');
  await addUsers(db, [['chief', 'lead'], ['nr', 'bureau', 'natural_resources']]);
  t = await testApp(db);
}, 120_000);

afterAll(async () => {
  await t?.app.close();
  await db?.close();
});

describe('an escalation at the top level (5)', () => {
  it('by hand without a level stays at 5 (the form takes 1–5), recorded', async () => {
    t.setToday('2026-11-03');
    expect((await ok('chief', `/api/polygons/${LATE}/escalate`, { reason: '性质恶劣', level: 5 })).json().case.escalation_level).toBe(5);
    const again = await ok('chief', `/api/polygons/${LATE}/escalate`, { reason: '仍未整改' });
    expect(again.json().case.escalation_level).toBe(5);
    expect(again.json().result).toMatchObject({ level: 5, handover_due: '2026-11-18' });
    expect((await card()).escalations.filter((e: { kind: string }) => e.kind === 'manual').map((e: { level: number }) => e.level)).toEqual([5, 5]);
  });

  it('by the sweep stays at 5, and each deadline missed is still recorded at 5, saying it is late at the top; the case stays overdue', async () => {
    // The hand-over (due 18 November) and the verification (30 November) both missed.
    t.setToday('2026-12-01');
    await ok('chief', '/api/sweep', {});
    await ok('chief', '/api/sweep', {});
    const c = await card();
    expect(c.case.escalation_level).toBe(5);
    expect(c.properties).toMatchObject({ overdue: true, days_overdue: 1 });
    const overdue = c.escalations.filter((e: { kind: string }) => e.kind === 'overdue').map((e: { rule: string; level: number; due_date: string; reason: string }) => [e.rule, e.level, e.due_date, e.reason]);
    expect(overdue.sort()).toEqual([
      ['handover', 5, '2026-11-18', '期限已过，截止 2026-11-18；已达最高级别（5 级），仍逾期'],
      ['verification', 5, '2026-11-30', '期限已过，截止 2026-11-30；已达最高级别（5 级），仍逾期'],
    ]);
    // The history says it: from 5 to 5, at the top.
    const steps = (await db.query<{ before: unknown; after: Record<string, unknown> }>(`SELECT before, after FROM audit_log WHERE code = $1 AND action = 'escalate.overdue' ORDER BY id`, [LATE])).rows;
    expect(steps.map((s) => [s.before, s.after.escalation_level, s.after.rule, s.after.at_top_level])).toEqual([
      [{ escalation_level: 5 }, 5, 'handover', true],
      [{ escalation_level: 5 }, 5, 'verification', true],
    ]);
    // In the overdue list of every month, and its badge.
    expect((await ok('nr', '/api/inbox/counts')).json().overdue).toBe(1);
    expect((await ok('nr', '/api/polygons?overdue=true')).json().features.map((f: { properties: { code: string } }) => f.properties.code)).toEqual([LATE]);
  });
});

describe('a case a sweep before the cap raised past 5', () => {
  it('is brought to 5 by the upgrade (migration 23), its escalations kept as given', async () => {
    const { migrate } = await import('../pipeline/store/migrations.js');
    await db.query('UPDATE cases SET escalation_level = 7 WHERE code = $1', [LATE]);
    const rows = async () => (await db.query<{ n: number }>('SELECT count(*)::int AS n FROM escalations WHERE code = $1', [LATE])).rows[0].n;
    const before = await rows();
    // As a database of the release before: migration 23 not applied yet.
    await db.query('DELETE FROM schema_migrations WHERE version = 23');
    expect(await migrate(db)).toEqual([23]);
    expect((await db.query<{ l: number }>('SELECT escalation_level AS l FROM cases WHERE code = $1', [LATE])).rows[0].l).toBe(5);
    expect(await rows()).toBe(before);
  });
});
