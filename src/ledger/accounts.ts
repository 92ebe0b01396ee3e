/**
 * Ledger accounts of the design's money model. Ids are readable (`customer:usr_…:balance`)
 * so a posting explains itself in a query result or a log line.
 */
export type AccountKind = 'asset' | 'liability' | 'income' | 'expense' | 'equity';

export interface AccountRef {
  id: string;
  kind: AccountKind;
  /** Set for customer accounts: their balance is kept on the row and guarded non-negative. */
  customerId: string | null;
}

export const accounts = {
  customerBalance: (customerId: string): AccountRef => ({
    id: `customer:${customerId}:balance`,
    kind: 'liability',
    customerId,
  }),
  customerHeld: (customerId: string): AccountRef => ({
    id: `customer:${customerId}:held`,
    kind: 'liability',
    customerId,
  }),
  channelClearing: (provider: string): AccountRef => ({
    id: `channel:${provider}:clearing`,
    kind: 'asset',
    customerId: null,
  }),
  refundsInFlight: (): AccountRef => ({ id: 'refunds:in_flight', kind: 'liability', customerId: null }),
  apiRevenue: (): AccountRef => ({ id: 'platform:api_revenue', kind: 'income', customerId: null }),
  compensation: (): AccountRef => ({ id: 'platform:compensation', kind: 'expense', customerId: null }),
  suspense: (): AccountRef => ({ id: 'platform:suspense', kind: 'liability', customerId: null }),
  adjustments: (): AccountRef => ({ id: 'platform:adjustments', kind: 'equity', customerId: null }),
};

/**
 * Postings are stored debit-positive. An account's natural balance (what a person reads:
 * a customer's balance, the clearing money owed to us) flips the sign for credit-normal kinds.
 */
export function naturalSign(kind: AccountKind): 1 | -1 {
  return kind === 'asset' || kind === 'expense' ? 1 : -1;
}
