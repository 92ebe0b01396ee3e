import { Tag } from 'antd';
import type { RechargeStatus, RefundStatus } from '../api/types';
import { formatMoney } from '../format';
import { useI18n } from '../i18n/context';

const RECHARGE_COLORS: Record<RechargeStatus, string> = {
  pending: 'processing',
  succeeded: 'success',
  failed: 'error',
  closed: 'default',
};

export function RechargeStatusTag({ status }: { status: RechargeStatus }) {
  const { t } = useI18n();
  return (
    <Tag color={RECHARGE_COLORS[status]} data-status={status}>
      {t(`rstatus.${status}`)}
    </Tag>
  );
}

const REFUND_COLORS: Record<RefundStatus, string> = {
  submitted: 'blue',
  under_review: 'processing',
  info_requested: 'warning',
  approved: 'cyan',
  rejected: 'error',
  processing: 'processing',
  succeeded: 'success',
  failed: 'error',
  cancelled: 'default',
};

export function RefundStatusTag({ status }: { status: RefundStatus }) {
  const { t } = useI18n();
  return (
    <Tag color={REFUND_COLORS[status]} data-status={status}>
      {t(`fstatus.${status}`)}
    </Tag>
  );
}

export function Money({ fen, strong }: { fen: number; strong?: boolean }) {
  const text = formatMoney(fen);
  return <span style={{ fontVariantNumeric: 'tabular-nums', fontWeight: strong ? 600 : undefined }}>{text}</span>;
}
