/**
 * The bureau workflow as data, after shared/domain/state_machine.yaml reduced to what one city's
 * bureaus do in Tuban: issued (下发) → accepted (签收, 核查中) → verified (已判定: 合法/违法/其他)
 * → rectifying (整改中, illegal only) → closed (已销号, pending review) → reviewed (审核通过).
 * A change that cannot be judged yet (推堆土, 在建而用途不明: 其他 with situation
 * continuous_monitoring) goes to monitoring (持续监测, CONTINUOUS_MONITORING) instead of verified: it
 * is not closed, runs to a re-check date, and its bureau gives the definitive verdict from there.
 * Reassignment goes through the lead bureau (request → reassign → issued to the new bureau), also of a
 * case under 持续监测. A case
 * whose polygon a batch re-run no longer finds is withdrawn (图形灭失, vanished). A polygon that
 * continues a site its bureau's case still has open is merged into that case (已并入往期); the lead
 * bureau separates it when it is another site after all (→ issued).
 */
import { SETTLED_STATUSES, workflowStatusSchema, type WorkflowStatus } from '../../schemas/workflow.js';

/** The states and their labels live in schemas/workflow.ts (one copy with the ledger and the page). */
export const STATUSES = workflowStatusSchema.options;
export type Status = WorkflowStatus;

/** `('reviewed', 'vanished', 'merged')`: for `status NOT IN …`, where a deadline can still run out. */
export const SETTLED_SQL = `(${SETTLED_STATUSES.map((s) => `'${s}'`).join(', ')})`;

/**
 * `(…settled, 'closed')`: for `status NOT IN …`, where the bureau handling a case can be late. A
 * closure awaiting review (closed) has been reported: the clock it runs (monthly_report, the 5th of
 * the next month) is the lead bureau's, as reviewer, so the case is neither overdue for the bureau,
 * nor escalated, nor 是否逾期 in the ledger (workflow-dispositions.ts); REVIEW_LATE_SQL tells the
 * lead bureau which of its reviews are late.
 */
export const NOT_LATE_SQL = `(${[...SETTLED_STATUSES, 'closed'].map((s) => `'${s}'`).join(', ')})`;
/** A closure whose review (the lead bureau's) is past its day. */
export const REVIEW_LATE_SQL = `(c.status = 'closed' AND c.due_date < $1::date)`;

/** Who may run an action: the polygon's lead bureau, a lead or co-handling bureau, or the lead role. */
export type Actor = 'lead_bureau' | 'contributor' | 'oversee';

export interface ActionSpec {
  from: readonly Status[];
  /** Target state; `null` keeps the current one (notes, evidence, split, escalate). Review decides its own. */
  to: Status | null;
  actor: Actor;
}

const OPEN: readonly Status[] = ['issued', 'accepted', 'verified', 'monitoring', 'rectifying', 'closed', 'reassignment_requested'];

export const ACTIONS = {
  accept: { from: ['issued'], to: 'accepted', actor: 'lead_bureau' },
  split: { from: ['accepted'], to: null, actor: 'lead_bureau' },
  /** To verified, or to monitoring for 其他 · continuous_monitoring (actions.ts recordVerdict); from monitoring, the definitive verdict. */
  verdict: { from: ['accepted', 'verified', 'monitoring'], to: 'verified', actor: 'lead_bureau' },
  /** 持续监测: the bureau handling the case moves its re-check date (actions.ts moveRecheck), as it gives the verdict. */
  recheck_date: { from: ['monitoring'], to: null, actor: 'lead_bureau' },
  rectification: { from: ['verified', 'rectifying'], to: 'rectifying', actor: 'lead_bureau' },
  close: { from: ['verified', 'rectifying'], to: 'closed', actor: 'lead_bureau' },
  /**
   * Also from monitoring: a case judged 持续监测 by the wrong bureau is handed on like one not judged
   * yet; reassigned, it is issued to the new bureau without the verdict (actions.ts reassign).
   */
  request_reassignment: { from: ['issued', 'accepted', 'monitoring'], to: 'reassignment_requested', actor: 'lead_bureau' },
  reassign: { from: ['issued', 'accepted', 'monitoring', 'reassignment_requested'], to: 'issued', actor: 'oversee' },
  review: { from: ['closed'], to: null, actor: 'oversee' },
  escalate: { from: OPEN, to: null, actor: 'oversee' },
  /** 移送 done: recorded by the lead bureau, also after the case is closed (an official's part is handed over on its own clock). */
  hand_over: { from: [...OPEN, 'reviewed'], to: null, actor: 'oversee' },
  /**
   * 督办: the lead bureau presses the bureau handling an open case (a dated, audited record). It
   * changes no state, clock or escalation level and starts no hand-over; a closure awaiting review
   * waits on the lead bureau itself, so it is not urged.
   */
  urge: { from: ['issued', 'accepted', 'verified', 'monitoring', 'rectifying', 'reassignment_requested'], to: null, actor: 'oversee' },
  note: { from: [...OPEN, 'reviewed', 'merged'], to: null, actor: 'contributor' },
  evidence: { from: OPEN, to: null, actor: 'contributor' },
  /** After a batch re-run changed the polygon's outline: the lead bureau checks the verdict still holds. */
  confirm_geometry: { from: [...OPEN, 'reviewed'], to: null, actor: 'oversee' },
  /** A case whose polygon a batch re-run no longer finds: the lead bureau withdraws it (图形灭失). */
  withdraw: { from: OPEN, to: 'vanished', actor: 'oversee' },
  /** A polygon merged into an earlier site's case that is another site after all: issued as its own case. */
  separate: { from: ['merged'], to: 'issued', actor: 'oversee' },
} as const satisfies Record<string, ActionSpec>;

export type ActionName = keyof typeof ACTIONS;

export function allowedFrom(action: ActionName, status: string): boolean {
  return (ACTIONS[action].from as readonly string[]).includes(status);
}
