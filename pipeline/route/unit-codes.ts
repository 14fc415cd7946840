/**
 * Administrative codes nest: a 乡镇/街道's (nine digits, or twelve ending 000) begins with its
 * district's six (GB/T 2260 + 3), a 村/社区's (twelve) with its township's nine. A unit whose code does
 * not names the wrong layer (another county's file, a stale code). Where a place was placed — a batch's
 * polygon, a server's clue — both are kept as the layers say, and the mismatch is a warning.
 */

/** Where a place lies; `districtCode` null where it lies in no district (the batch's 未划定区县). */
export interface PlacedUnits {
  districtCode: string | null;
  districtName: string;
  townshipCode: string | null;
  townshipName: string | null;
  villageCode: string | null;
  villageName: string | null;
}

/** A unit as a mismatch names it: its layer's kind, its code, the layer's name (null where it has none). */
export interface NamedUnit {
  kind: 'district' | 'township' | 'village';
  code: string;
  name: string | null;
}

/** A unit whose code does not begin with the code of `parent`, the unit above it. */
export interface CodeMismatch {
  unit: NamedUnit & { kind: 'township' | 'village' };
  parent: NamedUnit & { kind: 'district' | 'township' };
}

/** The unit as a warning names it ('township 370113002 港沟街道'). */
export const unitLabel = (u: NamedUnit) => `${u.kind} ${`${u.code} ${u.name ?? ''}`.trim()}`;

/**
 * The township's code against the district's; the village's against the township's nine digits or,
 * where the place has no township code (no township layer, outside it, a layer of names), the
 * district's six. Township first.
 */
export function codeMismatches(p: PlacedUnits): CodeMismatch[] {
  const out: CodeMismatch[] = [];
  const district = p.districtCode === null ? null : { kind: 'district' as const, code: p.districtCode, name: p.districtName };
  const t = p.townshipCode;
  const township = t ? { kind: 'township' as const, code: t, name: p.townshipName } : null;
  if (township && district && !township.code.startsWith(district.code)) out.push({ unit: township, parent: district });
  const v = p.villageCode;
  const parent = township ?? district;
  // A township's code is nine digits, or twelve ending 000: its villages begin with the nine.
  if (v && parent && !v.startsWith(parent.kind === 'township' ? parent.code.slice(0, 9) : parent.code)) out.push({ unit: { kind: 'village', code: v, name: p.villageName }, parent });
  return out;
}

/** The warning: `where` says what lies in the parent ("its 2 polygon(s) lie in (…)", "clue … lies in"). */
export function codeMismatchWarning(m: CodeMismatch, where: string): string {
  return `${unitLabel(m.unit)} does not begin with the code of ${unitLabel(m.parent)} ${where}: check the ${m.unit.kind} and ${m.parent.kind} layers`;
}
