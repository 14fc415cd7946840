/**
 * Request schemas of the API, in zod: validated in the handlers and turned into the OpenAPI
 * document (z.toJSONSchema), so the document cannot drift from what the server accepts.
 */
import { z } from 'zod';
import { calendarProblem } from './calendar-date.js';
import { BUREAU_IDS, PRIORITIES } from './vocabulary.js';
import {
  clueSourceSchema,
  handoverRecipientSchema,
  otherSituationSchema,
  rectificationMethodSchema,
  violationNatureSchema,
  violationSubtypeSchema,
  violationTypeSchema,
  workflowStatusSchema,
} from './workflow.js';

/** The ledger's download formats (`GET /api/ledger/{epoch}.{format}`, `tuban ledger --format`). */
export const LEDGER_FORMATS = ['xlsx', 'csv', 'gpkg', 'shp.zip', 'geojson'] as const;
export type LedgerFormat = (typeof LEDGER_FORMATS)[number];

const bureau = z.enum(BUREAU_IDS);

const text = (max: number) => z.string().trim().min(1).max(max);
/** A calendar day that exists: 2026-02-30 matches the pattern but is refused here, not by the database. */
const day = z
  .string()
  .regex(/^\d{4}-\d{2}-\d{2}$/, 'a date YYYY-MM-DD')
  .refine((s) => calendarProblem(s, 'day') === null, 'not a calendar date');
/** Yuan to the fen: 12345.6 and 0.29 are (the double nearest a two-decimal number), 100.005 is not. */
const hasFen = (v: number) => Number(v.toFixed(2)) === v;
export const CODE_RE = /^[A-Za-z0-9-]{1,64}$/;

export const Session = z.object({ name: z.string().min(1).max(64), password: z.string().min(1).max(1024) }).strict();

export const CodeParams = z.object({ code: z.string().regex(CODE_RE, 'a polygon code') });
/** 签收 of many polygons at once (a bureau's month can be hundreds): each accepted on its own, as one would be. */
export const AcceptMany = z.object({ codes: z.array(z.string().regex(CODE_RE, 'a polygon code')).min(1).max(500) }).strict();

/** An account name, as the users table's CHECK allows. */
export const UserParams = z.object({ name: z.string().regex(/^[A-Za-z0-9_.@-]{1,64}$/, 'a user name') });

export const PolygonQuery = z.object({
  epoch: z.string().regex(/^\d{4}-\d{2}$/).optional(),
  status: workflowStatusSchema.optional(),
  priority: z.enum(PRIORITIES).optional(),
  overdue: z.enum(['true', 'false']).optional(),
  district: z.string().regex(/^[0-9A-Za-z]{1,12}$/).optional(),
  /** Only what this bureau leads (within the caller's scope): a bureau's own work apart from what it co-handles. */
  lead_bureau: bureau.optional(),
  bbox: z
    .string()
    .regex(/^-?[\d.]+,-?[\d.]+,-?[\d.]+,-?[\d.]+$/, 'bbox=west,south,east,north in degrees')
    .optional(),
  limit: z.coerce.number().int().min(1).max(10_000).default(1000),
  cursor: z.string().max(200).optional(),
  /** `code` (default): keyset on code. `confidence`: most confident first (ties by code), so a bureau can work its inbox from the top. */
  sort: z.enum(['code', 'confidence', 'due']).optional(),
  /** `list`: what an inbox item shows (no outline, overlaps, reasons or detector); the card and the map have the rest. */
  view: z.enum(['full', 'list']).optional(),
});

/** The field file (GET /api/polygons.kml): the inbox's filters, every page. */
export const FieldKmlQuery = PolygonQuery.omit({ limit: true, cursor: true, sort: true, view: true });
/** The map asks for a whole bounding box at once. */
export const MapQuery = PolygonQuery.extend({ limit: z.coerce.number().int().min(1).max(10_000).default(10_000) });
/** The map's polygon layer (server/map-routes.ts): vector tiles or GeoJSON by bounding box, scope and epoch only. */
export const MapLayerQuery = z.object({ epoch: z.string().regex(/^\d{4}-\d{2}$/).optional() });
export const MapTileParams = z.object({
  z: z.coerce.number().int().min(0).max(22),
  x: z.coerce.number().int().min(0),
  file: z.string().regex(/^\d{1,8}\.pbf$/, 'tile file is {y}.pbf'),
});
export const MapBboxQuery = MapLayerQuery.extend({
  bbox: z.string().regex(/^-?[\d.]+,-?[\d.]+,-?[\d.]+,-?[\d.]+$/, 'bbox=west,south,east,north in degrees'),
  zoom: z.coerce.number().int().min(0).max(24).optional(),
  limit: z.coerce.number().int().min(1).max(10_000).default(10_000),
});

const parcelIndex = z.number().int().min(1).max(1000).optional().describe('set the verdict of this parcel (after a split)');
const violationNature = violationNatureSchema.describe('违法性质 (主体分类): who violated — individual 个人违法, organisation 单位违法, government 政府及部门违法');
/** 违法性质 says who violated: a legal or "other" verdict has no violator (refused by name, not as an unknown key). */
const violationNatureRefused = z.never({ error: 'violation_nature (违法性质) goes with verdict illegal: a legal or other verdict has no violator' }).optional();
/** A 持续监测 re-check date: only that verdict sets one (refused by name with the others). */
const recheckRefused = z.never({ error: 'recheck_on (复查期限) goes with verdict other and situation continuous_monitoring' }).optional();
const recheckOn = day.describe('复查期限 of 持续监测: the day the site is re-checked by (the case\'s due date); not before today, at most recheck_max_months (--deadlines, default 2) past the monitoring rule\'s date; default the rule\'s');
export const Verdict = z.discriminatedUnion('verdict', [
  z.object({ verdict: z.literal('legal'), approval_doc_no: text(100).describe('批准文号'), actual_use: text(200).optional(), note: text(2000).optional(), parcel: parcelIndex, violation_nature: violationNatureRefused, recheck_on: recheckRefused }).strict(),
  z
    .object({
      verdict: z.literal('illegal'),
      violation_type: violationTypeSchema,
      violation_subtype: violationSubtypeSchema.optional(),
      actual_use: text(200).optional(),
      party: text(200).optional().describe('当事人'),
      violation_nature: violationNature.optional(),
      patrol_found_on: day.optional().describe('巡查首次发现时间: the day the local patrol first found it, if it did (卫片先于巡查发现 is 发现不及时); not after today'),
      note: text(2000).optional(),
      parcel: parcelIndex,
      recheck_on: recheckRefused,
    })
    .strict(),
  z
    .object({
      verdict: z.literal('other'),
      situation: otherSituationSchema,
      reason: text(2000),
      watch: text(500).optional().describe('持续监测: what the re-check against later imagery looks for (用途, 是否建房…); required with situation continuous_monitoring'),
      recheck_on: recheckOn.optional(),
      parcel: parcelIndex,
      violation_nature: violationNatureRefused,
    })
    .strict()
    .refine((b) => (b.situation === 'continuous_monitoring') === (b.watch !== undefined), {
      message: 'watch (持续监测关注事项) goes with situation continuous_monitoring, and that situation needs it',
      path: ['watch'],
    })
    .refine((b) => b.recheck_on === undefined || b.situation === 'continuous_monitoring', {
      message: 'recheck_on (复查期限) goes with situation continuous_monitoring',
      path: ['recheck_on'],
    }),
]);
export type VerdictBody = z.infer<typeof Verdict>;

const Ring = z
  .array(z.tuple([z.number().min(-180).max(180), z.number().min(-90).max(90)]))
  .min(4)
  .max(10_000)
  .refine((r) => r[0][0] === r[r.length - 1][0] && r[0][1] === r[r.length - 1][1], 'a ring ends where it starts');
export const GeoPolygon = z.object({ type: z.literal('Polygon'), coordinates: z.array(Ring).min(1).max(100) }).strict();
export const GeoPoint = z.object({ type: z.literal('Point'), coordinates: z.tuple([z.number().min(-180).max(180), z.number().min(-90).max(90)]) }).strict();

export const Split = z.object({ parcels: z.array(GeoPolygon).min(2).max(50) }).strict();

const Line = z.object({ type: z.literal('LineString'), coordinates: z.array(z.tuple([z.number().min(-180).max(180), z.number().min(-90).max(90)])).min(2).max(1000) }).strict();
/**
 * A split drawn on the map, before it is sent to `split`: cut lines across the polygon, or parcels
 * drawn roughly (clipped to the polygon, earlier ones first; the rest becomes one more parcel).
 */
export const SplitPreview = z
  .object({ lines: z.array(Line).min(1).max(20).optional(), parcels: z.array(GeoPolygon).min(1).max(49).optional() })
  .strict()
  .refine((b) => (b.lines === undefined) !== (b.parcels === undefined), 'give either lines or parcels');

/** The rectification's facts that only a filed case (立案) has: dropped when the decision becomes 不予立案. */
export const FILED_CASE_FACTS = ['case_filed_on', 'fine_amount_yuan', 'court_enforcement'] as const;
/** The rectification's facts of a retroactive approval (补办手续): dropped when the method becomes one without it. */
export const RETROACTIVE_FACTS = ['retroactive_doc_no', 'retroactive_area_m2', 'retroactive_farmland_m2'] as const;
/** 整改方式 that include 补办手续: 补办手续 itself and 拆补组合 (part demolished, part approved). */
export const RETROACTIVE_METHODS: readonly string[] = ['retroactive_approval', 'combined'];

/**
 * A report of rectification progress: what it gives is added to what the case records; a field given
 * as null is cleared (a figure reported by mistake, a 违法性质 no longer settled), one left out is kept.
 */
export const Rectification = z
  .object({
    method: rectificationMethodSchema,
    progress: z.number().int().min(0).max(100).describe('percent done'),
    case_filed: z.boolean().optional().describe('立案 (true) or not filed (false)'),
    not_filed_reason: text(500).optional().describe('不予立案说明, with case_filed false: why no case is filed (超过追诉时效, 不属本部门管辖, 违法事实不成立…)'),
    party_official: z.boolean().optional().describe('当事人含党员干部、公职人员: their case files go to the discipline commission within 30 days of the penalty decision (seeds/000 item 9)'),
    penalty_decided_on: day.nullable().optional().describe('处罚决定日期: with party_official, starts the 30-day clock for the case files; not before case_filed_on'),
    case_filed_on: day.nullable().optional().describe('立案时间, with case_filed true: the day the case was filed; not after today, not before the polygon was issued (or the patrol first found it, or a clue was reported)'),
    fine_amount_yuan: z
      .number()
      .min(0)
      .max(10_000_000_000)
      .refine(hasFen, 'fine_amount_yuan is yuan with at most two decimals (fen)')
      .nullable()
      .optional()
      .describe('罚没金额 (元), with case_filed true: fines and confiscated gains of the penalty decision'),
    restored_area_m2: z
      .number()
      .min(0)
      .max(10_000_000)
      .nullable()
      .optional()
      .describe("拆除复耕面积 (m², not 亩): the area demolished and restored to its former use; at most 1.5 × the site's monitored area"),
    court_enforcement: z.boolean().optional().describe('是否申请法院强制执行, with case_filed true: the penalty decision was sent to the people’s court for enforcement'),
    retroactive_doc_no: text(100).nullable().optional().describe('补办手续批准文号, with method retroactive_approval or combined: the approval issued after the fact'),
    retroactive_area_m2: z
      .number()
      .min(0)
      .max(10_000_000)
      .nullable()
      .optional()
      .describe("补办手续批准面积 (m², not 亩), with method retroactive_approval or combined: the area the retroactive approval covers; at most 1.5 × the site's monitored area"),
    retroactive_farmland_m2: z
      .number()
      .min(0)
      .max(10_000_000)
      .nullable()
      .optional()
      .describe('补办手续其中耕地面积 (m², not 亩), with method retroactive_approval or combined: of the approved area, the cultivated land (耕地); at most retroactive_area_m2'),
    violation_nature: violationNature
      .nullable()
      .optional()
      .describe('违法性质 (主体分类) found while the case is handled: stored with the verdict (as if sent with it), the ledger’s 违法性质'),
    note: text(2000).optional(),
    files_clock_correction: text(500)
      .optional()
      .describe('更正原因: why a 纪委 case-file clock already passed with no handover recorded (files_due) is dropped — party_official ticked or penalty_decided_on given by mistake; required with such a report, refused otherwise; kept in the history, not on the case'),
  })
  .strict()
  .refine((b) => b.not_filed_reason === undefined || b.case_filed === false, { message: 'not_filed_reason (不予立案说明) goes with case_filed false', path: ['not_filed_reason'] })
  .superRefine((b, ctx) => {
    // 立案时间, 罚没金额 and 申请法院强制执行 are facts of a filed case: stated with it, as 不予立案说明 is with its decision.
    for (const key of FILED_CASE_FACTS) {
      if (b[key] != null && b.case_filed !== true) ctx.addIssue({ code: 'custom', message: `${key} goes with case_filed true (立案)`, path: [key] });
    }
    // 补办手续文号 and 面积 are an approval's: only a method that seeks one has them.
    for (const key of RETROACTIVE_FACTS) {
      if (b[key] != null && !RETROACTIVE_METHODS.includes(b.method)) {
        ctx.addIssue({ code: 'custom', message: `${key} goes with method retroactive_approval (补办手续) or combined (拆补组合), not ${b.method}`, path: [key] });
      }
    }
  });

export const Close = z.object({ reason: text(2000), rectified: z.boolean().optional(), penalty_done: z.boolean().optional() }).strict();
export const RequestReassignment = z.object({ reason: text(2000), suggested_bureau: bureau.optional() }).strict();
export const Reassign = z.object({ lead_bureau: bureau, co_bureaus: z.array(bureau).max(9).optional(), reason: text(2000) }).strict();
export const Review = z.object({ approve: z.boolean(), comment: text(2000).optional() }).strict();
/**
 * The top escalation level: the 移交/升级 form's 1–5, and Haikou's construction-stage ladder (seeds/004
 * 第四条 (一)–(五), village group up to the district's 责任倒查), which has no rung above. A case late
 * again at the top stays there, each missed deadline still recorded (case-store.ts escalateOverdue).
 */
export const MAX_ESCALATION_LEVEL = 5;
export const Escalate = z.object({ reason: text(2000), level: z.number().int().min(1).max(MAX_ESCALATION_LEVEL).optional() }).strict();
export const HandOver = z
  .object({
    to: handoverRecipientSchema.describe('discipline (纪委监委) or police (公安机关)'),
    handed_on: day.optional().describe('移送日期 (default: today; not after it)'),
    reference: text(200).optional().describe('移送文号 / 函号'),
    note: text(2000).optional(),
  })
  .strict();
export const Note = z.object({ text: text(4000) }).strict();
/** 督办: the lead bureau presses the bureau to act (seeds/000 审核、督导; seeds/004 第四条(十一) 督促), optionally by a day. */
export const Urge = z.object({ comment: text(2000), respond_by: day.optional().describe('限期: the day the bureau is asked to act or answer by (not before today)') }).strict();
export const ConfirmGeometry = z.object({ comment: text(2000).optional() }).strict();
/** 持续监测: the bureau handling the case moves its re-check (a site that needs the imagery of a later month, or an earlier look). */
export const RecheckDate = z.object({ recheck_on: recheckOn, reason: text(2000).describe('why the re-check moves (地基已浇筑，待下期影像…)') }).strict();
export const Withdraw = z.object({ reason: text(2000) }).strict();
export const Separate = z.object({ reason: text(2000) }).strict();

export const EvidenceQuery = z.object({ name: z.string().min(1).max(400), note: z.string().max(2000).optional() });
export const EvidenceParams = z.object({ code: CodeParams.shape.code, id: z.coerce.number().int().min(1) });

export const Clue = z
  .object({
    source: clueSourceSchema,
    district_code: z.string().regex(/^[0-9]{6}$/),
    district_name: text(50).optional(),
    geometry: z.union([GeoPoint, GeoPolygon]),
    description: text(2000),
    lead_bureau: bureau.optional(),
    reported_on: day.optional(),
  })
  .strict();


export const ChipFile = z.enum(['before.png', 'after.png']);

/** `2026-10.xlsx`: a month and one of the ledger's formats. */
export const LEDGER_FILE = new RegExp(`^(\\d{4}-(?:0[1-9]|1[0-2]))\\.(${LEDGER_FORMATS.map((f) => f.replace('.', '\\.')).join('|')})$`);
export const LedgerParams = z.object({ file: z.string().regex(LEDGER_FILE, '{YYYY-MM}.xlsx|csv|gpkg|shp.zip|geojson') });
/** `2026Q4.xlsx` or `.csv`: the quarterly report's file. */
export const REPORT_FILE = /^(\d{4}Q[1-4])\.(xlsx|csv)$/;
export const ReportParams = z.object({ file: z.string().regex(REPORT_FILE, '{YYYY}Q{1-4}.xlsx|csv') });
