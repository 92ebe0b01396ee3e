import { useInfiniteQuery, useQuery } from '@tanstack/react-query';
import { Button, Card, Col, DatePicker, Descriptions, Empty, Flex, Row, Select, Space, Table, Typography } from 'antd';
import type { Dayjs } from 'dayjs';
import { useState } from 'react';
import { Link, useParams } from 'react-router';
import { client, unwrap } from '../../api/client';
import { keys } from '../../api/queries';
import type { Attempt, PaymentMethod, Recharge, RechargeQuery, RechargeStatus, Refund } from '../../api/types';
import { ErrorAlert, Loading, PageTitle, QueryView } from '../../components/feedback';
import { Money, RechargeStatusTag, RefundStatusTag } from '../../components/status';
import { useI18n } from '../../i18n/context';
import { METHODS } from './recharge';

const STATUSES: RechargeStatus[] = ['pending', 'succeeded', 'failed', 'closed'];

export function RechargesPage() {
  const { t, date } = useI18n();
  const [status, setStatus] = useState<RechargeStatus | undefined>();
  const [method, setMethod] = useState<PaymentMethod | undefined>();
  const [range, setRange] = useState<[Dayjs | null, Dayjs | null] | null>(null);
  // Whole days in the viewer's time zone, sent as instants.
  const from = range?.[0]?.startOf('day').toISOString();
  const to = range?.[1]?.add(1, 'day').startOf('day').toISOString();
  const filters: RechargeQuery = { status, method, from, to };
  const list = useInfiniteQuery({
    queryKey: [...keys.recharges, 'list', filters],
    queryFn: ({ pageParam }) =>
      unwrap(client.GET('/v1/recharges', { params: { query: { ...filters, limit: 20, cursor: pageParam ?? undefined } } })),
    initialPageParam: null as string | null,
    getNextPageParam: (last) => last.next_cursor,
  });
  const rows = list.data?.pages.flatMap((p) => p.data) ?? [];

  return (
    <>
      <PageTitle>{t('recharges.title')}</PageTitle>
      <Card>
        <Flex wrap gap={12} style={{ marginBottom: 16 }} data-testid="recharge-filters">
          <Select<RechargeStatus>
            allowClear
            placeholder={t('col.status')}
            style={{ minWidth: 140 }}
            value={status}
            onChange={setStatus}
            options={STATUSES.map((s) => ({ value: s, label: t(`rstatus.${s}`) }))}
            data-testid="filter-status"
          />
          <Select<PaymentMethod>
            allowClear
            placeholder={t('col.method')}
            style={{ minWidth: 140 }}
            value={method}
            onChange={setMethod}
            options={METHODS.map((m) => ({ value: m, label: t(`method.${m}`) }))}
            data-testid="filter-method"
          />
          <DatePicker.RangePicker value={range} onChange={(v) => setRange(v)} data-testid="filter-dates" />
        </Flex>
        {list.isPending ? (
          <Loading />
        ) : list.error ? (
          <ErrorAlert error={list.error} onRetry={() => void list.refetch()} />
        ) : (
          <>
            <Table<Recharge>
              rowKey="id"
              dataSource={rows}
              pagination={false}
              scroll={{ x: true }}
              data-testid="recharge-table"
              locale={{ emptyText: <Empty description={t('recharges.empty')} /> }}
              columns={[
                { title: t('col.createdAt'), dataIndex: 'created_at', render: (v: string) => date(v) },
                { title: t('col.id'), dataIndex: 'id', render: (v: string) => <Link to={`/recharges/${v}`}>{v}</Link> },
                { title: t('col.amount'), dataIndex: 'amount', align: 'right', render: (v: number) => <Money fen={v} /> },
                { title: t('col.method'), dataIndex: 'method', render: (v: PaymentMethod, r) => `${t(`method.${v}`)} ${r.payment_method.masked}` },
                {
                  title: t('col.status'),
                  dataIndex: 'status',
                  render: (v: RechargeStatus, r) => (
                    <Space orientation="vertical" size={0}>
                      <RechargeStatusTag status={v} />
                      {r.failure ? (
                        <Typography.Text type="secondary" style={{ fontSize: 12 }}>
                          {r.failure.code}
                        </Typography.Text>
                      ) : null}
                    </Space>
                  ),
                },
                {
                  title: t('col.refunded'),
                  dataIndex: 'refunded_amount',
                  align: 'right',
                  render: (v: number) => (v > 0 ? <Money fen={v} /> : '—'),
                },
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

export function RechargeDetailPage() {
  const { id = '' } = useParams();
  const { t, date } = useI18n();
  const detail = useQuery({
    queryKey: keys.recharge(id),
    queryFn: () => unwrap(client.GET('/v1/recharges/{id}', { params: { path: { id } } })),
    refetchInterval: (query) => (query.state.data?.status === 'pending' ? 3000 : false),
  });
  return (
    <QueryView query={detail}>
      {(r) => (
        <>
          <PageTitle
            extra={
              r.status !== 'pending' ? (
                <Link to={`/recharges/${r.id}/refund`}>
                  <Button type="primary" data-testid="apply-refund">
                    {t('detail.applyRefund')}
                  </Button>
                </Link>
              ) : null
            }
          >
            {t('detail.recharge')}
          </PageTitle>
          <Space orientation="vertical" size={16} style={{ width: '100%' }}>
            <Card data-testid="recharge-detail">
              <Descriptions column={{ xs: 1, md: 2 }} size="small">
                <Descriptions.Item label={t('col.id')}>{r.id}</Descriptions.Item>
                <Descriptions.Item label={t('col.status')}>
                  <RechargeStatusTag status={r.status} />
                </Descriptions.Item>
                <Descriptions.Item label={t('col.amount')}>
                  <Money fen={r.amount} strong />
                </Descriptions.Item>
                <Descriptions.Item label={t('col.method')}>{t(`method.${r.method}`)}</Descriptions.Item>
                <Descriptions.Item label={t('detail.payment')}>{r.payment_method.masked}</Descriptions.Item>
                <Descriptions.Item label={t('col.provider')}>{r.provider ?? '—'}</Descriptions.Item>
                <Descriptions.Item label={t('col.createdAt')}>{date(r.created_at)}</Descriptions.Item>
                <Descriptions.Item label={t('detail.succeededAt')}>{date(r.succeeded_at)}</Descriptions.Item>
                <Descriptions.Item label={t('col.refunded')}>
                  <Money fen={r.refunded_amount} />
                </Descriptions.Item>
                {r.auto_recharge ? <Descriptions.Item label={t('detail.auto')}>{t('common.yes')}</Descriptions.Item> : null}
              </Descriptions>
              {r.failure ? (
                <Typography.Paragraph type="danger" style={{ marginTop: 12, marginBottom: 0 }} data-testid="failure-message">
                  {t('detail.failure')}: {r.failure.message}
                </Typography.Paragraph>
              ) : null}
            </Card>
            <Row gutter={[16, 16]}>
              <Col xs={24} lg={12}>
                <Card title={t('detail.attempts')} size="small">
                  <Table<Attempt>
                    size="small"
                    rowKey="id"
                    pagination={false}
                    dataSource={r.attempts}
                    scroll={{ x: true }}
                    data-testid="attempts"
                    columns={[
                      { title: t('col.createdAt'), dataIndex: 'created_at', render: (v: string) => date(v) },
                      { title: t('col.provider'), dataIndex: 'provider' },
                      { title: t('col.status'), dataIndex: 'status', render: (v: Attempt['status']) => t(`attempt.${v}`) },
                      { title: t('detail.failure'), dataIndex: 'failure_code', render: (v: string | null) => v ?? '—' },
                    ]}
                  />
                </Card>
              </Col>
              <Col xs={24} lg={12}>
                <Card title={t('detail.refunds')} size="small">
                  <Table<Refund>
                    size="small"
                    rowKey="id"
                    pagination={false}
                    dataSource={r.refunds}
                    scroll={{ x: true }}
                    locale={{ emptyText: t('detail.noRefunds') }}
                    columns={[
                      { title: t('col.id'), dataIndex: 'id', render: (v: string) => <Link to={`/refunds/${v}`}>{v}</Link> },
                      { title: t('col.amount'), dataIndex: 'amount', render: (v: number) => <Money fen={v} /> },
                      { title: t('col.reason'), dataIndex: 'reason', render: (v: Refund['reason']) => t(`reason.${v}`) },
                      { title: t('col.status'), dataIndex: 'status', render: (v: Refund['status']) => <RefundStatusTag status={v} /> },
                    ]}
                  />
                </Card>
              </Col>
            </Row>
          </Space>
        </>
      )}
    </QueryView>
  );
}
