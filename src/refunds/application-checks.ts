import type { ChannelRouter } from '../channels/router.js';
import type { Context } from '../context.js';
import type { RechargesTable, UsersTable } from '../store/schema.js';

export interface Check {
  name: string;
  ok: boolean;
  detail: string;
}

export interface ChannelFindings {
  /** Every collection the channel reports for the recharge's attempts. */
  collections: {
    provider: string;
    attemptId: string;
    channelTxnId: string;
    amount: number;
    paidAt: Date;
    credentialToken: string | null;
  }[];
  /** False when the channel could not be asked (busy, timeout). */
  reachable: boolean;
}

/** Asks the channel what it collected for each attempt of the recharge (no state is changed here). */
export async function askChannel(ctx: Context, router: ChannelRouter, rechargeId: string): Promise<ChannelFindings> {
  const attempts = await ctx.store.db
    .selectFrom('recharge_attempts')
    .select(['id', 'provider'])
    .where('recharge_id', '=', rechargeId)
    .execute();
  const findings: ChannelFindings = { collections: [], reachable: true };
  for (const attempt of attempts) {
    const channel = router.channel(attempt.provider);
    if (!channel) continue;
    try {
      const status = await channel.query(attempt.id);
      for (const c of status.collections) {
        findings.collections.push({
          provider: attempt.provider,
          attemptId: attempt.id,
          channelTxnId: c.channelTxnId,
          amount: c.amount,
          paidAt: c.paidAt,
          credentialToken: status.credentialToken,
        });
      }
    } catch (error) {
      ctx.log.warn({ err: error, attemptId: attempt.id }, 'channel query for refund checks failed');
      findings.reachable = false;
    }
  }
  return findings;
}

/** What the system verified at submission, shown to staff beside the application. */
export async function buildChecks(
  ctx: Context,
  input: { recharge: RechargesTable; customer: UsersTable; amount: number; refundable: number; findings: ChannelFindings },
): Promise<Check[]> {
  const { recharge, findings } = input;
  const collected = findings.collections.reduce((sum, c) => sum + c.amount, 0);
  const recorded = await ctx.store.db
    .selectFrom('channel_transactions')
    .select(['channel_txn_id', 'disposition', 'amount'])
    .where('recharge_id', '=', recharge.id)
    .execute();
  const credited = recorded.filter((r) => r.disposition === 'credited').reduce((s, r) => s + Number(r.amount), 0);
  const refundedByChannel = recorded.filter((r) => r.disposition === 'refund').reduce((s, r) => s + Number(r.amount), 0);
  const previous = await ctx.store.db
    .selectFrom('refunds')
    .select(['id', 'status'])
    .where('customer_id', '=', recharge.customer_id)
    .execute();
  return [
    { name: 'order_found_and_owned', ok: true, detail: `recharge ${recharge.id} (${recharge.status}) belongs to the applicant` },
    {
      name: 'channel_collected',
      ok: findings.reachable,
      detail: findings.reachable
        ? `channel reports ${findings.collections.length} collection(s) totalling ${collected} fen; ${credited} fen credited to the balance, ${refundedByChannel} fen refunded automatically`
        : 'the channel could not be reached; check again later',
    },
    {
      name: 'amount_refundable',
      ok: input.amount <= input.refundable,
      detail: `requested ${input.amount} fen, refundable ${input.refundable} fen`,
    },
    { name: 'account_status', ok: input.customer.status === 'active', detail: `account is ${input.customer.status}` },
    {
      name: 'previous_refunds',
      ok: true,
      detail: `${previous.length} earlier refund(s): ${previous.filter((p) => p.status === 'succeeded').length} succeeded, ${previous.filter((p) => p.status === 'rejected').length} rejected`,
    },
  ];
}
