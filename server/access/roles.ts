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
  return GRANTS[user.role]?.includes(permission) ?? false;
}

/**
 * The SQL predicate limiting rows of `cases` (alias `alias`) to what `user` may see, with its values
 * appended to `params` as bind parameters. Bureau: the polygons it leads or co-handles; district:
 * its district's; lead and analyst: all; anyone else: none.
 */
export function scopePredicate(user: User, params: unknown[], alias = 'c'): string {
  switch (user.role) {
    case 'lead':
    case 'analyst':
      return 'TRUE';
    case 'bureau': {
      params.push(user.bureau);
      const n = params.length;
      return `(${alias}.lead_bureau = $${n}::text OR ${alias}.co_bureaus @> jsonb_build_array($${n}::text))`;
    }
    case 'district':
      params.push(user.district);
      return `${alias}.district_code = $${params.length}::text`;
    default:
      return 'FALSE';
  }
}
