import { useInfiniteQuery } from '@tanstack/react-query';
import { Button, Card, Empty, Flex, Table, Typography } from 'antd';
import { Link } from 'react-router';
import { client, unwrap } from '../../api/client';
import { keys } from '../../api/queries';
import type { Movement } from '../../api/types';
import { ErrorAlert, Loading, PageTitle } from '../../components/feedback';
import { Money } from '../../components/status';
import { formatSignedMoney } from '../../format';
import { useI18n } from '../../i18n/context';
import type { MessageKey } from '../../i18n/messages';

const KINDS = new Set<string>([
  'recharge',
  'purchase',
  'adjustment',
  'compensation',
  'refund.held',
  'refund.sent',
  'refund.settled',
  'refund.fallback',
  'refund.detected',
  'reversal',
]);

function refLink(ref: string | null) {
  if (!ref) return '—';
  if (ref.startsWith('rch_')) return <Link to={`/recharges/${ref}`}>{ref}</Link>;
  if (ref.startsWith('rfd_')) return <Link to={`/refunds/${ref}`}>{ref}</Link>;
  return ref;
}

/** 余额明细: every movement of the available balance, with the balance after it. */
export function StatementPage() {
  const { t, date } = useI18n();
  const list = useInfiniteQuery({
    queryKey: [...keys.transactions, 'list'],
    queryFn: ({ pageParam }) =>
      unwrap(client.GET('/v1/balance/transactions', { params: { query: { limit: 50, cursor: pageParam ?? undefined } } })),
    initialPageParam: null as string | null,
    getNextPageParam: (last) => last.next_cursor,
  });
  const rows = list.data?.pages.flatMap((p) => p.data) ?? [];
  return (
    <>
      <PageTitle>{t('statement.title')}</PageTitle>
      <Card>
        {list.isPending ? (
          <Loading />
        ) : list.error ? (
          <ErrorAlert error={list.error} onRetry={() => void list.refetch()} />
        ) : (
          <>
            <Table<Movement>
              rowKey={(m) => `${m.id}-${m.balance_after}`}
              dataSource={rows}
              pagination={false}
              scroll={{ x: true }}
              data-testid="statement-table"
              locale={{ emptyText: <Empty description={t('statement.empty')} /> }}
              columns={[
                { title: t('col.createdAt'), dataIndex: 'created_at', render: (v: string) => date(v) },
                { title: t('col.kind'), dataIndex: 'kind', render: (v: string) => (KINDS.has(v) ? t(`kind.${v}` as MessageKey) : v) },
                {
                  title: t('col.change'),
                  dataIndex: 'amount',
                  align: 'right',
                  render: (v: number) => <Typography.Text type={v < 0 ? 'danger' : 'success'}>{formatSignedMoney(v)}</Typography.Text>,
                },
                { title: t('col.balanceAfter'), dataIndex: 'balance_after', align: 'right', render: (v: number) => <Money fen={v} /> },
                { title: t('col.ref'), dataIndex: 'ref', render: (v: string | null) => refLink(v) },
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

export function TicketsPage() {
  const { t } = useI18n();
  return (
    <>
      <PageTitle>{t('tickets.title')}</PageTitle>
      <Card data-testid="tickets-coming">
        <Empty description={t('tickets.coming')}>
          <Link to="/recharges">
            <Button type="primary">{t('nav.recharges')}</Button>
          </Link>
        </Empty>
      </Card>
    </>
  );
}
