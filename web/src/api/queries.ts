import { useQuery } from '@tanstack/react-query';
import { client, unwrap } from './client';

/** Query keys in one place, so mutations invalidate exactly what they change. */
export const keys = {
  status: ['status'] as const,
  balance: ['balance'] as const,
  transactions: ['balance', 'transactions'] as const,
  reminder: ['balance', 'reminder'] as const,
  autoRecharge: ['balance', 'auto-recharge'] as const,
  recharges: ['recharges'] as const,
  recharge: (id: string) => ['recharges', id] as const,
  refunds: ['refunds'] as const,
  refund: (id: string) => ['refunds', id] as const,
  notifications: ['notifications'] as const,
  adminRefunds: ['admin', 'refunds'] as const,
  adminRefund: (id: string) => ['admin', 'refunds', id] as const,
  providers: ['admin', 'providers'] as const,
  dashboard: ['admin', 'dashboard'] as const,
  audit: ['admin', 'audit'] as const,
};

/** Which payment methods work right now (public); refreshed every minute. */
export function useServiceStatus() {
  return useQuery({
    queryKey: keys.status,
    queryFn: () => unwrap(client.GET('/v1/status')),
    refetchInterval: 60_000,
  });
}

export function useBalance() {
  return useQuery({ queryKey: keys.balance, queryFn: () => unwrap(client.GET('/v1/balance')) });
}
