import { describe, expect, it } from 'vitest';
import { TubanError } from '../../schemas/errors.js';
import { dispositionCells, dispositionLabel, oneDispositionEach, undetermined, type LedgerDisposition } from './ledger-disposition.js';
import { closureOf } from './workflow-dispositions.js';

const judged = (code: string, over: Partial<LedgerDisposition>): LedgerDisposition => ({ ...undetermined(code), ...over });

describe('oneDispositionEach', () => {
  it('gives every code exactly one disposition, 未核查 where the workflow has none', () => {
    const codes = ['370102-202610-0001', '370102-202610-0002', '370103-202610-0001'];
    const out = oneDispositionEach(codes, [judged('370102-202610-0002', { verdict: 'legal', status: 'reviewed', closure: '已销号' })]);
    expect(out.map((d) => d.code)).toEqual(codes);
    expect(out.map(dispositionLabel)).toEqual(['未核查', '合法', '未核查']);
    expect(out.map((d) => d.closure)).toEqual(['未销号', '已销号', '未销号']);
  });

  it('refuses a disposition for a code the ledger does not hold, and two for one code', () => {
    const codes = ['a', 'b'];
    expect(() => oneDispositionEach(codes, [undetermined('c')])).toThrow(expect.objectContaining({ code: 'LEDGER.UNKNOWN_CODE', subject: 'c' }));
    expect(() => oneDispositionEach(codes, [undetermined('a'), judged('a', { verdict: 'other' })])).toThrow(TubanError);
    expect(() => oneDispositionEach(['a', 'a'], [])).toThrow(expect.objectContaining({ code: 'LEDGER.DUPLICATE_CODE' }));
  });
});

describe('dispositionCells', () => {
  it('fills the verification columns of an illegal, split, escalated polygon', () => {
    const c = dispositionCells(
      judged('370102-202610-0007', {
        status: 'rectifying', verdict: 'illegal', violationType: '非法占用土地（未批先建）', party: '某公司', rectificationMethod: '拆除复耕', rectified: false,
        closure: '县级已填报违法', overdue: true, escalations: 1, dueDate: '2026-11-20',
        parcels: [
          { idx: 1, areaM2: 2000, verdict: 'illegal', violationType: '非法占用土地', approvalDocNo: null, otherReason: null },
          { idx: 2, areaM2: 1000, verdict: 'legal', violationType: null, approvalDocNo: '济自然资批〔2026〕12号', otherReason: null },
        ],
      }),
    );
    expect(c.判定类型).toBe('违法');
    expect(c.违法类型).toBe('非法占用土地（未批先建）');
    expect(c.整改方式).toBe('拆除复耕');
    expect(c.是否整改到位).toBe('否');
    expect(c.销号状态).toBe('县级已填报违法');
    expect(c.办理状态).toBe('整改中');
    expect(c.是否逾期).toBe('是');
    // Escalated, so a hand-over is due; none is recorded as done.
    expect(c.是否移送纪委监委).toBe('否');
    expect(c.备注).toBe('拆分为2个地块：370102-202610-0007-1 违法 非法占用土地 3.00亩；370102-202610-0007-2 合法 1.50亩');
  });

  it('says 是否移送纪委监委 是 once a handover to the commission is recorded, and lists every handover in 备注', () => {
    const base = { status: 'rectifying', verdict: 'illegal', escalations: 1 } as const;
    const police = dispositionCells(judged('p', { ...base, caseFiled: true, penaltyDone: false, handovers: [{ to: 'police', on: '2026-11-25', reference: null }] }));
    expect([police.是否移送纪委监委, police.是否移送公安, police.备注]).toEqual(['否', '是', '移送公安机关 2026-11-25']);
    expect([police.是否立案, police.是否处罚到位]).toEqual(['是', '否']);
    const both = dispositionCells(
      judged('d', { ...base, handovers: [{ to: 'discipline', on: '2026-11-20', reference: '济自然资移〔2026〕3号' }, { to: 'police', on: '2026-11-25', reference: null }] }),
    );
    expect([both.是否移送纪委监委, both.备注]).toEqual(['是', '移送纪委监委 2026-11-20（济自然资移〔2026〕3号）；移送公安机关 2026-11-25']);
  });

  it('gives 不予立案说明 only with a decision not to file (是否立案 否)', () => {
    const base = { status: 'rectifying', verdict: 'illegal' } as const;
    const notFiled = dispositionCells(judged('n', { ...base, caseFiled: false, notFiledReason: '超过追诉时效' }));
    expect([notFiled.是否立案, notFiled.不予立案说明]).toEqual(['否', '超过追诉时效']);
    // A reason left over beside a filed case is not the ledger's: 立案 has no 不予立案说明.
    const filed = dispositionCells(judged('f', { ...base, caseFiled: true, notFiledReason: '超过追诉时效' }));
    expect([filed.是否立案, filed.不予立案说明]).toEqual(['是', '']);
  });

  it('gives the case columns (处罚决定时间, 整改期限, 结案时间, 移送纪委监委时间/理由) of a violation only, 结案时间 of a filed case only', () => {
    const record = {
      status: 'closed', caseFiled: true, penaltyDecidedOn: '2026-11-10', rectificationDue: '2026-11-24', closureReportedOn: '2026-11-20',
      handovers: [
        { to: 'police', on: '2026-11-18', reference: null, note: '涉嫌犯罪' },
        { to: 'discipline', on: '2026-11-19', reference: null, note: '当事人含村干部' },
        { to: 'discipline', on: '2026-11-25', reference: null, note: '案件材料' },
      ],
    } as const;
    const cols = (c: ReturnType<typeof dispositionCells>) => [c.处罚决定时间, c.整改期限, c.结案时间, c.移送纪委监委时间, c.移送纪委监委理由];
    // The commission's hand-overs only: the first one's day, every one's note.
    expect(cols(dispositionCells(judged('v', { ...record, verdict: 'illegal', handovers: [...record.handovers] })))).toEqual(['2026-11-10', '2026-11-24', '2026-11-20', '2026-11-19', '当事人含村干部；案件材料']);
    // 不予立案, or filing not said: no case to 结案.
    expect(dispositionCells(judged('n', { ...record, verdict: 'illegal', caseFiled: false, handovers: [] })).结案时间).toBe('');
    expect(dispositionCells(judged('u', { ...record, verdict: 'illegal', caseFiled: null, handovers: [] })).结案时间).toBe('');
    // A record left from an earlier verdict (judged again, 其他) is not this row's.
    expect(cols(dispositionCells(judged('o', { ...record, verdict: 'other', handovers: [] })))).toEqual(['', '', '', '', '']);
    expect(cols(dispositionCells(undetermined('x')))).toEqual(['', '', '', '', '']);
  });

  it('gives 立案时间, 罚没金额 and 是否申请法院强制执行 of a filed violation only, 拆除复耕面积 (亩 and m²) of any violation', () => {
    const facts = { status: 'rectifying', caseFiled: true, caseFiledOn: '2026-11-05', fineAmountYuan: 12345.6, restoredAreaM2: 1000, courtEnforcement: true } as const;
    const cols = (c: ReturnType<typeof dispositionCells>) => [c.立案时间, c['罚没金额(元)'], c['拆除复耕面积(亩)'], c['拆除复耕面积(平方米)'], c.是否申请法院强制执行];
    expect(cols(dispositionCells(judged('v', { ...facts, verdict: 'illegal' })))).toEqual(['2026-11-05', 12345.6, 1.5, 1000, '是']);
    // 不予立案 (or filing not said): the filed case's facts are not the row's; the restored area is.
    expect(cols(dispositionCells(judged('n', { ...facts, verdict: 'illegal', caseFiled: false })))).toEqual(['', null, 1.5, 1000, '']);
    expect(cols(dispositionCells(judged('u', { ...facts, verdict: 'illegal', caseFiled: null })))).toEqual(['', null, 1.5, 1000, '']);
    // Judged again, 其他: the rectification left from the violation is not this row's.
    expect(cols(dispositionCells(judged('o', { ...facts, verdict: 'other' })))).toEqual(['', null, null, null, '']);
    // Not recorded (a source without them: the fields are optional in LedgerDisposition).
    expect(cols(dispositionCells(judged('e', { status: 'rectifying', verdict: 'illegal', caseFiled: true })))).toEqual(['', null, null, null, '']);
    expect(cols(dispositionCells(undetermined('x')))).toEqual(['', null, null, null, '']);
  });

  it('gives 违法性质 of a violation only, 补办手续文号, 面积 (亩 and m²) and 其中耕地面积 (亩) only under 补办手续 or 拆补组合', () => {
    const facts = { status: 'rectifying', violationNature: '政府及部门违法', retroactiveDocNo: '济自然资补〔2026〕3号', retroactiveAreaM2: 2000, retroactiveFarmlandM2: 1500 } as const;
    const cols = (c: ReturnType<typeof dispositionCells>) => [c.违法性质, c.补办手续文号, c['补办手续面积(亩)'], c['补办手续面积(平方米)'], c['补办手续其中耕地面积(亩)']];
    expect(cols(dispositionCells(judged('r', { ...facts, verdict: 'illegal', rectificationMethod: '补办手续' })))).toEqual(['政府及部门违法', '济自然资补〔2026〕3号', 3, 2000, 2.25]);
    expect(cols(dispositionCells(judged('c', { ...facts, verdict: 'illegal', rectificationMethod: '拆补组合', retroactiveAreaM2: 1000.04, retroactiveFarmlandM2: 333.335 })))).toEqual(['政府及部门违法', '济自然资补〔2026〕3号', 1.5, 1000, 0.5]);
    // Demolition only (or no method yet): no approval is sought, so none is the row's.
    expect(cols(dispositionCells(judged('d', { ...facts, verdict: 'illegal', rectificationMethod: '拆除复耕' })))).toEqual(['政府及部门违法', '', null, null, null]);
    expect(cols(dispositionCells(judged('n', { ...facts, verdict: 'illegal', rectificationMethod: null })))).toEqual(['政府及部门违法', '', null, null, null]);
    // Judged again, 合法: who violated and the violation's rectification are not this row's.
    expect(cols(dispositionCells(judged('l', { ...facts, verdict: 'legal', rectificationMethod: '补办手续' })))).toEqual(['', '', null, null, null]);
    expect(cols(dispositionCells(undetermined('x')))).toEqual(['', '', null, null, null]);
  });

  it('carries 巡查首次发现时间 of a violation only', () => {
    expect(dispositionCells(judged('v', { verdict: 'illegal', patrolFoundOn: '2026-09-20' })).巡查首次发现时间).toBe('2026-09-20');
    expect(dispositionCells(judged('o', { verdict: 'other' })).巡查首次发现时间).toBe('');
  });

  it('leaves an unverified polygon 未核查 / 未销号 / 已下发 with no rectification', () => {
    const c = dispositionCells(undetermined('x'));
    expect([c.判定类型, c.销号状态, c.办理状态, c.整改方式, c.是否整改到位, c.是否逾期]).toEqual(['未核查', '未销号', '已下发', '', '', '否']);
  });

  it('maps workflow states to 销号状态', () => {
    expect(closureOf(null, null)).toBe('未销号');
    expect(closureOf('verified', 'illegal')).toBe('县级已填报违法');
    expect(closureOf('verified', 'legal')).toBe('未销号');
    // A closure awaiting the lead bureau's review is not yet 销号 (state_machine.yaml: CLOSED_CANCELLED by 审核).
    expect(closureOf('closed', 'other')).toBe('未销号');
    expect(closureOf('closed', 'illegal')).toBe('县级已填报违法');
    expect(closureOf('reviewed', 'illegal')).toBe('已销号');
  });
});
