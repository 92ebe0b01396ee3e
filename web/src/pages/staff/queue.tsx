import { useInfiniteQuery } from '@tanstack/react-query';
import { Button, Card, Empty, Flex, Segmented, Select, Table, Tag, Typography } from 'antd';
import { useState } from 'react';
import { Link } from 'react-router';
import { client, unwrap } from '../../api/client';
import { keys } from '../../api/queries';
import type { AdminRefund, AdminRefundQuery, RefundReason, RefundStatus } from '../../api/types';
import { useAuth } from '../../auth';
import { ErrorAlert, Loading, PageTitle } from '../../components/feedback';
import { Money, RefundStatusTag } from '../../components/status';
import { useNow } from '../../hooks';
import { useI18n } from '../../i18n/context';

const ALL_STATUSES: RefundStatus[] = [
  'submitted',
  'under_review',
  'info_requested',
  'approved',
  'rejected',
  'processing',
  'succeeded',
  'failed',
  'cancelled',
];

/** Time left before the SLA is due, or how long ago it was breached (red). */
export function SlaCountdown({ due, breached }: { due: string | null; breached: boolean }) {
  const { t, duration } = useI18n();
  const now = useNow();
  if (!due) return <>—</>;
  const left = Date.parse(due) - now;
  if (left <= 0 || breached) {
    return (
      <Tag color="error" data-testid="sla-breached">
        {t('sla.breached', { time: duration(Math.min(0, left)) })}
      </Tag>
    );
  }
  const urgent = left < 2 * 3600_000;
  return (
    <Tag color={urgent ? 'warning' : 'default'} data-testid="sla-left">
      {t('sla.left', { time: duration(left) })}
    </Tag>
  );
}

type View = 'open' | 'mine' | 'status';

/** The review queue: open applications, most urgent SLA first (the server's order; kept here too). */
export function QueuePage() {
  const { t, date } = useI18n();
  const { me } = useAuth();
  const [view, setView] = useState<View>('open');
  const [status, setStatus] = useState<RefundStatus>('succeeded');
  const query: AdminRefundQuery = view === 'mine' ? { assignee_id: me?.id } : view === 'status' ? { status } : {};
  const list = useInfiniteQuery({
    queryKey: [...keys.adminRefunds, 'list', query],
    queryFn: ({ pageParam }) =>
      unwrap(client.GET('/v1/admin/refunds', { params: { query: { ...query, limit: 50, cursor: pageParam ?? undefined } } })),
    initialPageParam: null as string | null,
    getNextPageParam: (last) => last.next_cursor,
    refetchInterval: 30_000,
  });
  const rows = (list.data?.pages.flatMap((p) => p.data) ?? []).slice();
  if (view !== 'status') rows.sort((a, b) => (a.sla_due_at ?? '9999').localeCompare(b.sla_due_at ?? '9999'));
  return (
    <>
      <PageTitle>{t('queue.title')}</PageTitle>
      <Card>
        <Flex wrap gap={12} style={{ marginBottom: 16 }}>
          <Segmented<View>
            value={view}
            onChange={setView}
            options={[
              { value: 'open', label: t('queue.open') },
              { value: 'mine', label: t('queue.mine') },
              { value: 'status', label: t('col.status') },
            ]}
          />
          {view === 'status' ? (
            <Select<RefundStatus>
              value={status}
              onChange={setStatus}
              style={{ minWidth: 160 }}
              options={ALL_STATUSES.map((s) => ({ value: s, label: t(`fstatus.${s}`) }))}
            />
          ) : null}
        </Flex>
        {list.isPending ? (
          <Loading />
        ) : list.error ? (
          <ErrorAlert error={list.error} onRetry={() => void list.refetch()} />
        ) : (
          <>
            <Table<AdminRefund>
              rowKey="id"
              dataSource={rows}
              pagination={false}
              scroll={{ x: true }}
              data-testid="queue-table"
              rowClassName={(r) => (r.sla_breached || (r.sla_due_at && Date.parse(r.sla_due_at) < Date.now()) ? 'row-breached' : '')}
              locale={{ emptyText: <Empty description={t('queue.empty')} /> }}
              columns={[
                {
                  title: t('col.sla'),
                  dataIndex: 'sla_due_at',
                  render: (v: string | null, r) =>
                    ['submitted', 'under_review', 'info_requested'].includes(r.status) ? <SlaCountdown due={v} breached={r.sla_breached} /> : '—',
                },
                {
                  title: t('col.id'),
                  dataIndex: 'id',
                  render: (v: string) => (
                    <Link to={`/staff/refunds/${v}`} data-testid="queue-link">
                      {v}
                    </Link>
                  ),
                },
                { title: t('col.status'), dataIndex: 'status', render: (v: RefundStatus) => <RefundStatusTag status={v} /> },
                { title: t('col.amount'), dataIndex: 'amount', align: 'right', render: (v: number) => <Money fen={v} /> },
                { title: t('col.reason'), dataIndex: 'reason', render: (v: RefundReason) => t(`reason.${v}`) },
                { title: t('col.customer'), dataIndex: 'customer_id', render: (v: string) => <Typography.Text code>{v}</Typography.Text> },
                {
                  title: t('col.assignee'),
                  dataIndex: 'assignee_id',
                  render: (v: string | null, r) => (
                    <>
                      {v ? (v === me?.id ? <Tag color="blue">{me?.email}</Tag> : <Typography.Text code>{v}</Typography.Text>) : t('queue.unassigned')}
                      {r.escalation_level > 1 ? <Tag color="purple">L{r.escalation_level}</Tag> : null}
                    </>
                  ),
                },
                { title: t('col.createdAt'), dataIndex: 'created_at', render: (v: string) => date(v) },
              ]}
            />
            {list.hasNextPage ? (
              <Flex justify="center" style={{ marginTop: 16 }}>
                <Button onClick={() => void list.fetchNextPage()} loading={list.isFetchingNextPage}>
                  {t('common.loadMore')}
                </Button>
              </Flex>
            ) : null}
          </>
        )}
      </Card>
    </>
  );
}
