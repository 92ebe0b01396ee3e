import type { Executor } from '../store/database.js';
import type { UsersTable } from '../store/schema.js';

export function normalizeEmail(email: string): string {
  return email.trim().toLowerCase();
}

export async function findUserByEmail(db: Executor, email: string): Promise<UsersTable | undefined> {
  return db.selectFrom('users').selectAll().where('email', '=', normalizeEmail(email)).executeTakeFirst();
}

export async function findUserById(db: Executor, id: string): Promise<UsersTable | undefined> {
  return db.selectFrom('users').selectAll().where('id', '=', id).executeTakeFirst();
}

export interface UserView {
  id: string;
  email: string;
  phone: string | null;
  name: string | null;
  roles: string[];
  locale: string;
  created_at: string;
}

export function toUserView(user: UsersTable): UserView {
  return {
    id: user.id,
    email: user.email,
    phone: user.phone,
    name: user.name,
    roles: [user.role],
    locale: user.locale,
    created_at: user.created_at,
  };
}
