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

export interface CodeMismatch {
  kind: 'township' | 'village';
  /** The unit and the one above it that its code should begin with, as a warning names them ('township 370113002 港沟街道'). */
  unit: string;
  parent: string;
  parentKind: 'district' | 'township';
}

const label = (kind: string, code: string, name: string | null) => `${kind} ${`${code} ${name ?? ''}`.trim()}`;

/**
 * The township's code against the district's; the village's against the township's nine digits or,
 * where the place has no township code (no township layer, outside it, a layer of names), the
 * district's six. Township first.
 */
export function codeMismatches(p: PlacedUnits): CodeMismatch[] {
  const out: CodeMismatch[] = [];
  const district = p.districtCode === null ? null : { prefix: p.districtCode, label: label('district', p.districtCode, p.districtName), kind: 'district' as const };
  const t = p.townshipCode;
  if (t && district && !t.startsWith(district.prefix)) out.push({ kind: 'township', unit: label('township', t, p.townshipName), parent: district.label, parentKind: 'district' });
  const v = p.villageCode;
  const parent = t ? { prefix: t.slice(0, 9), label: label('township', t, p.townshipName), kind: 'township' as const } : district;
  if (v && parent && !v.startsWith(parent.prefix)) out.push({ kind: 'village', unit: label('village', v, p.villageName), parent: parent.label, parentKind: parent.kind });
  return out;
}

/** The warning: `where` says what lies in the parent ("its 2 polygon(s) lie in (…)", "clue … lies in"). */
export function codeMismatchWarning(m: CodeMismatch, where: string): string {
  return `${m.unit} does not begin with the code of ${m.parent} ${where}: check the ${m.kind} and ${m.parentKind} layers`;
}
