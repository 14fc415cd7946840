/**
 * Roles and what each may do. A permission nobody granted is denied (immich's `default:` case);
 * which polygons a user sees is decided in SQL by `scopePredicate`, never by filtering afterwards.
 */
export const ROLES = ['analyst', 'bureau', 'district', 'lead', 'admin'] as const;
export type Role = (typeof ROLES)[number];

export interface User {
  name: string;
  role: Role;
  /** Bureau id (`natural_resources`, `forestry`, …) for role `bureau`. */
  bureau: string | null;
  /** District (区县) code for role `district`. */
  district: string | null;
  /**
   * 乡镇/街道 code (9 digits, or 12 ending 000) of a `township` bureau user limited to its own
   * township; null (or absent): the whole city's, as every other bureau.
   */
  township?: string | null;
}

export type Permission =
  | 'polygons.read' // list, card, GeoJSON, counts (within scope)
  | 'case.handle' // the workflow actions of the lead bureau of a polygon (accept, verdict, split, rectify, close, request reassignment)
  | 'case.contribute' // notes and evidence (lead or co-handling bureau, lead role)
  | 'clue.add' // clues from patrol, public reports, hotline
  | 'case.oversee' // reassign, review, escalate, ledger (the lead bureau 自然资源和规划局)
  | 'users.manage';

const GRANTS: Record<Role, readonly Permission[]> = {
  analyst: ['polygons.read'],
  bureau: ['polygons.read', 'case.handle', 'case.contribute', 'clue.add'],
  district: ['polygons.read', 'clue.add'],
  lead: ['polygons.read', 'case.contribute', 'case.oversee'],
  admin: ['users.manage'],
};

export function can(user: User, permission: Permission): boolean {
  // A township's own account adds clues in its own township only (workflow/clue-township.ts), where
  // the clue is placed by the stored township outlines: the place is checked when the clue is added.
  return GRANTS[user.role]?.includes(permission) ?? false;
}

/** The first nine digits: a township's code in 三调/行政区划 data, and its 统计用区划代码 without the trailing 000. */
export const townshipKey = (code: string): string => code.slice(0, 9);

/** What decides a user's scope, as one string: caches and ETags keyed by it never cross scopes. */
export const scopeKey = (u: User): string => `${u.role}|${u.bureau ?? ''}|${u.district ?? ''}|${u.township ?? ''}`;

/**
 * The SQL predicate limiting rows of `cases` (alias `alias`) to what `user` may see, with its values
 * appended to `params` as bind parameters. Bureau: the polygons it leads or co-handles — for a
 * township's own account, only those of its township (the rule table decides the duty, the
 * polygon's township_code whose it is; a case without one, a clue, is the district's and the city
 * township office's); district: its district's; lead and analyst: all; anyone else: none.
 * Every alias it is given has the columns of `cases` that it names.
 */
export function scopePredicate(user: User, params: unknown[], alias = 'c'): string {
  switch (user.role) {
    case 'lead':
    case 'analyst':
      return 'TRUE';
    case 'bureau': {
      params.push(user.bureau);
      const n = params.length;
      const duty = `(${alias}.lead_bureau = $${n}::text OR ${alias}.co_bureaus @> jsonb_build_array($${n}::text))`;
      if (!user.township) return duty;
      params.push(townshipKey(user.township));
      return `(${duty} AND left(${alias}.township_code, 9) = $${params.length}::text)`;
    }
    case 'district':
      params.push(user.district);
      return `${alias}.district_code = $${params.length}::text`;
    default:
      return 'FALSE';
  }
}
