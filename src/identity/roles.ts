export const STAFF_ROLES = ['cs_agent', 'cs_supervisor', 'finance', 'admin'] as const;
export const ROLES = ['customer', ...STAFF_ROLES] as const;
export type StaffRole = (typeof STAFF_ROLES)[number];
export type Role = (typeof ROLES)[number];

export interface Actor {
  id: string;
  email: string;
  role: Role;
  locale: string;
}

export function isStaff(role: Role): boolean {
  return role !== 'customer';
}

/**
 * Who may do what a role-gated route allows. Admin may do everything staff may; a supervisor
 * everything an agent may. Finance is its own line (money corrections, reconciliation).
 */
const IMPLIED: Record<Role, Role[]> = {
  customer: ['customer'],
  cs_agent: ['cs_agent'],
  cs_supervisor: ['cs_supervisor', 'cs_agent'],
  finance: ['finance'],
  admin: ['admin', 'cs_supervisor', 'cs_agent', 'finance'],
};

export function hasRole(actual: Role, allowed: readonly Role[]): boolean {
  return IMPLIED[actual].some((r) => allowed.includes(r));
}

/** The ledger/audit actor string for a user. */
export function actorRef(actor: Pick<Actor, 'id' | 'role'>): string {
  return `${actor.role === 'customer' ? 'user' : 'staff'}:${actor.id}`;
}
