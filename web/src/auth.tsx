import { useQuery, useQueryClient } from '@tanstack/react-query';
import { createContext, type ReactNode, useContext, useEffect, useMemo, useSyncExternalStore } from 'react';
import { client, unwrap } from './api/client';
import type { Me, Role } from './api/types';
import { session } from './session';

/** What each role may also do, as the server's role rules say (admin ⊇ every staff role, supervisor ⊇ agent). */
const IMPLIED: Record<Role, Role[]> = {
  customer: ['customer'],
  cs_agent: ['cs_agent'],
  cs_supervisor: ['cs_supervisor', 'cs_agent'],
  finance: ['finance'],
  admin: ['admin', 'cs_supervisor', 'cs_agent', 'finance'],
};

export function hasRole(roles: readonly string[], allowed: readonly Role[]): boolean {
  return roles.some((role) => (IMPLIED[role as Role] ?? []).some((r) => allowed.includes(r)));
}

interface Auth {
  token: string | null;
  me: Me | null;
  loading: boolean;
  isStaff: boolean;
  can(allowed: readonly Role[]): boolean;
  signIn(token: string): void;
  signOut(): void;
}

const AuthContext = createContext<Auth | null>(null);

export function AuthProvider({ children }: { children: ReactNode }) {
  const queryClient = useQueryClient();
  const token = useSyncExternalStore(session.subscribe, session.token);
  const me = useQuery({
    queryKey: ['me', token],
    queryFn: () => unwrap(client.GET('/v1/me')),
    enabled: token !== null,
    staleTime: 60_000,
    retry: false,
  });
  // An expired or revoked token: back to the sign-in page.
  useEffect(() => {
    if (me.error) session.set(null);
  }, [me.error]);

  const value = useMemo<Auth>(() => {
    const roles = me.data?.roles ?? [];
    return {
      token,
      me: me.data ?? null,
      loading: token !== null && me.isPending,
      isStaff: roles.some((r) => r !== 'customer'),
      can: (allowed) => hasRole(roles, allowed),
      signIn(next) {
        queryClient.clear();
        session.set(next);
      },
      signOut() {
        session.set(null);
        queryClient.clear();
      },
    };
  }, [token, me.data, me.isPending, queryClient]);
  return <AuthContext.Provider value={value}>{children}</AuthContext.Provider>;
}

export function useAuth(): Auth {
  const value = useContext(AuthContext);
  if (!value) throw new Error('useAuth outside AuthProvider');
  return value;
}
