import { useInfiniteQuery, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { Alert, App, Button, Card, DatePicker, Descriptions, Empty, Flex, Form, Input, Popconfirm, Select, Space, Steps, Table, Timeline, Typography } from 'antd';
import type { Dayjs } from 'dayjs';
import { useCallback, useState } from 'react';
import { Link, useNavigate, useParams } from 'react-router';
import { client, unwrap } from '../../api/client';
import { keys } from '../../api/queries';
import type { Refund, RefundReason, RefundStatus } from '../../api/types';
import { EvidenceUpload } from '../../components/evidence-upload';
import { ErrorAlert, Loading, PageTitle, QueryView } from '../../components/feedback';
import { Money, RefundStatusTag } from '../../components/status';
import { fenToYuanText, formatMoney, parseYuan } from '../../format';
import { useI18n } from '../../i18n/context';
import type { MessageKey } from '../../i18n/messages';
import { newIdempotencyKey } from '../../session';

export const REASONS: RefundReason[] = ['not_credited', 'duplicate_charge', 'charged_but_failed', 'unused_balance', 'other'];

/** Who acted, in the customer's words: the system, customer service, or the customer. */
export function actorLabel(actor: string, t: (key: MessageKey) => string): string {
  if (actor === 'system') return t('actor.system');
  if (actor.startsWith('staff:')) return t('actor.staff');
  return t('actor.customer');
}

const STEP_ORDER: RefundStatus[] = ['submitted', 'under_review', 'approved', 'processing', 'succeeded'];

/** The refund's main path as steps, the current one highlighted (or marked failed where it stopped). */
export function RefundSteps({ refund, vertical }: { refund: Pick<Refund, 'status' | 'automatic' | 'timeline'>; vertical?: boolean }) {
  const { t } = useI18n();
  const path: RefundStatus[] = refund.automatic ? ['approved', 'processing', 'succeeded'] : STEP_ORDER;
  const reached = refund.timeline.map((e) => e.status);
  let current = 0;
  let status: 'wait' | 'process' | 'finish' | 'error' = 'process';
  const items = path.map((s) => ({ title: t(`fstatus.${s}`) as string, key: s }));
  if (refund.status === 'succeeded') {
    current = path.length - 1;
    status = 'finish';
  } else if (refund.status === 'info_requested') {
    current = path.indexOf('under_review');
    items[current] = { title: t('fstatus.info_requested'), key: 'info_requested' };
  } else if (refund.status === 'rejected' || refund.status === 'cancelled' || refund.status === 'failed') {
    const last = [...reached].reverse().find((s) => path.includes(s) && s !== refund.status);
    const lastIndex = last ? path.indexOf(last) : 0;
    current = Math.min(lastIndex + 1, path.length - 1);
    status = 'error';
    items[current] = { title: t(`fstatus.${refund.status}`), key: refund.status };
  } else {
    current = Math.max(0, path.indexOf(refund.status));
  }
  return (
    <Steps
      current={current}
      status={status}
      items={items}
      orientation={vertical ? 'vertical' : 'horizontal'}
      size={vertical ? 'small' : 'default'}
      responsive
      data-testid="refund-steps"
      data-status={refund.status}
    />
  );
}

export function RefundTimeline({ refund }: { refund: Pick<Refund, 'timeline'> }) {
  const { t, date } = useI18n();
  const color = (s: RefundStatus) =>
    s === 'succeeded' ? 'green' : s === 'rejected' || s === 'failed' ? 'red' : s === 'info_requested' ? 'orange' : s === 'cancelled' ? 'gray' : 'blue';
  return (
    <Timeline
      data-testid="refund-timeline"
      items={refund.timeline.map((event, index) => ({
        key: `${event.at}-${index}`,
        color: color(event.status),
        title: date(event.at),
        content: (
          <div data-testid="timeline-event" data-status={event.status}>
            <Typography.Text strong>{t(`fstatus.${event.status}`)}</Typography.Text>
            <Typography.Text type="secondary"> · {actorLabel(event.actor, t)}</Typography.Text>
            {event.note ? <div>{event.note}</div> : null}
          </div>
        ),
      }))}
    />
  );
}

export function RefundsPage() {
  const { t, date } = useI18n();
  const list = useInfiniteQuery({
    queryKey: [...keys.refunds, 'list'],
    queryFn: ({ pageParam }) => unwrap(client.GET('/v1/refunds', { params: { query: { limit: 20, cursor: pageParam ?? undefined } } })),
    initialPageParam: null as string | null,
    getNextPageParam: (last) => last.next_cursor,
  });
  const rows = list.data?.pages.flatMap((p) => p.data) ?? [];
  return (
    <>
      <PageTitle>{t('refunds.title')}</PageTitle>
      <Card>
        {list.isPending ? (
          <Loading />
        ) : list.error ? (
          <ErrorAlert error={list.error} onRetry={() => void list.refetch()} />
        ) : (
          <>
            <Table<Refund>
              rowKey="id"
              dataSource={rows}
              pagination={false}
              scroll={{ x: true }}
              data-testid="refund-table"
              locale={{ emptyText: <Empty description={t('refunds.empty')} /> }}
              columns={[
                { title: t('col.createdAt'), dataIndex: 'created_at', render: (v: string) => date(v) },
                { title: t('col.id'), dataIndex: 'id', render: (v: string) => <Link to={`/refunds/${v}`}>{v}</Link> },
                { title: t('col.amount'), dataIndex: 'amount', align: 'right', render: (v: number) => <Money fen={v} /> },
                {
                  title: t('col.reason'),
                  dataIndex: 'reason',
                  render: (v: RefundReason, r) => (r.automatic ? `${t(`reason.${v}`)} · ${t('refund.automatic')}` : t(`reason.${v}`)),
                },
                { title: t('col.status'), dataIndex: 'status', render: (v: RefundStatus) => <RefundStatusTag status={v} /> },
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

interface ApplyValues {
  reason: RefundReason;
  amount: string;
  paid_at?: Dayjs;
  channel_txn_no?: string;
  description?: string;
}

export function RefundApplyPage() {
  const { id = '' } = useParams();
  const { t } = useI18n();
  const navigate = useNavigate();
  const { message } = App.useApp();
  const queryClient = useQueryClient();
  const [evidenceIds, setEvidenceIds] = useState<string[]>([]);
  const onEvidence = useCallback((ids: string[]) => setEvidenceIds(ids), []);
  const [key] = useState(newIdempotencyKey);
  const recharge = useQuery({
    queryKey: keys.recharge(id),
    queryFn: () => unwrap(client.GET('/v1/recharges/{id}', { params: { path: { id } } })),
  });
  const apply = useMutation({
    mutationFn: (values: ApplyValues) =>
      unwrap(
        client.POST('/v1/refunds', {
          params: { header: { 'idempotency-key': key } },
          body: {
            recharge_id: id,
            amount: parseYuan(values.amount) ?? 0,
            reason: values.reason,
            description: values.description || null,
            paid_at: values.paid_at ? values.paid_at.toISOString() : null,
            channel_txn_no: values.channel_txn_no || null,
            evidence_ids: evidenceIds,
          },
        }),
      ),
    onSuccess: (refund) => {
      void queryClient.invalidateQueries({ queryKey: keys.refunds });
      void queryClient.invalidateQueries({ queryKey: keys.recharges });
      void queryClient.invalidateQueries({ queryKey: keys.balance });
      void message.success(t('refundApply.submitted'));
      void navigate(`/refunds/${refund.id}`);
    },
  });
  return (
    <QueryView query={recharge}>
      {(r) => {
        const refundable = Math.max(0, r.amount - r.refunded_amount);
        return (
          <>
            <PageTitle>{t('refundApply.title')}</PageTitle>
            <Card style={{ maxWidth: 720 }}>
              <Typography.Paragraph type="secondary">
                {t('refundApply.forRecharge', { id: r.id, amount: formatMoney(r.amount) })}
              </Typography.Paragraph>
              <Form<ApplyValues>
                layout="vertical"
                requiredMark={false}
                initialValues={{ reason: r.status === 'succeeded' ? 'unused_balance' : 'not_credited', amount: fenToYuanText(refundable) }}
                onFinish={(values) => apply.mutate(values)}
                data-testid="refund-form"
              >
                <Form.Item name="reason" label={t('refundApply.reason')} rules={[{ required: true, message: t('validation.required') }]}>
                  <Select data-testid="refund-reason" options={REASONS.map((reason) => ({ value: reason, label: t(`reason.${reason}`) }))} />
                </Form.Item>
                <Form.Item
                  name="amount"
                  label={t('refundApply.amount')}
                  rules={[
                    { required: true, message: t('validation.required') },
                    {
                      validator: async (_rule, value: string) => {
                        if (!value) return;
                        const fen = parseYuan(value);
                        if (fen === null || fen <= 0) throw new Error(t('recharge.amountInvalid'));
                        if (fen > refundable) throw new Error(t('refundApply.amountMax', { amount: formatMoney(refundable) }));
                      },
                    },
                  ]}
                >
                  <Input prefix="¥" inputMode="decimal" data-testid="refund-amount" />
                </Form.Item>
                <Flex gap={12} wrap>
                  <Form.Item name="paid_at" label={t('refundApply.paidAt')} style={{ flex: '1 1 220px' }}>
                    <DatePicker showTime style={{ width: '100%' }} data-testid="refund-paid-at" />
                  </Form.Item>
                  <Form.Item name="channel_txn_no" label={t('refundApply.txnNo')} extra={t('refundApply.txnNoHelp')} style={{ flex: '1 1 220px' }}>
                    <Input maxLength={100} data-testid="refund-txn" />
                  </Form.Item>
                </Flex>
                <Form.Item name="description" label={t('refundApply.description')}>
                  <Input.TextArea rows={3} maxLength={2000} showCount data-testid="refund-description" />
                </Form.Item>
                <Form.Item label={t('refundApply.evidence')} extra={t('refundApply.evidenceHelp')}>
                  <EvidenceUpload onChange={onEvidence} />
                </Form.Item>
                {apply.error ? (
                  <div style={{ marginBottom: 16 }}>
                    <ErrorAlert error={apply.error} />
                  </div>
                ) : null}
                <Space>
                  <Button type="primary" htmlType="submit" loading={apply.isPending} data-testid="refund-submit">
                    {t('refundApply.submit')}
                  </Button>
                  <Button onClick={() => void navigate(-1)}>{t('common.back')}</Button>
                </Space>
              </Form>
            </Card>
          </>
        );
      }}
    </QueryView>
  );
}

function ReplyForm({ refund }: { refund: Refund }) {
  const { t } = useI18n();
  const { message } = App.useApp();
  const queryClient = useQueryClient();
  const [evidenceIds, setEvidenceIds] = useState<string[]>([]);
  const onEvidence = useCallback((ids: string[]) => setEvidenceIds(ids), []);
  const request = [...refund.timeline].reverse().find((e) => e.status === 'info_requested');
  const reply = useMutation({
    mutationFn: (values: { message: string }) =>
      unwrap(
        client.POST('/v1/refunds/{id}/replies', {
          params: { path: { id: refund.id } },
          body: { message: values.message, evidence_ids: evidenceIds },
        }),
      ),
    onSuccess: (updated) => {
      queryClient.setQueryData(keys.refund(refund.id), updated);
      void queryClient.invalidateQueries({ queryKey: keys.refunds });
      void message.success(t('refund.replied'));
    },
  });
  return (
    <Alert
      type="warning"
      showIcon
      data-testid="info-request"
      title={t('refund.infoRequested')}
      description={
        <>
          {request?.note ? <Typography.Paragraph data-testid="info-request-note">{request.note}</Typography.Paragraph> : null}
          <Form layout="vertical" onFinish={(values: { message: string }) => reply.mutate(values)}>
            <Form.Item name="message" label={t('refund.reply')} rules={[{ required: true, message: t('validation.required') }]}>
              <Input.TextArea rows={3} maxLength={2000} data-testid="reply-message" />
            </Form.Item>
            <Form.Item>
              <EvidenceUpload onChange={onEvidence} />
            </Form.Item>
            {reply.error ? <ErrorAlert error={reply.error} /> : null}
            <Button type="primary" htmlType="submit" loading={reply.isPending} data-testid="reply-submit">
              {t('refund.sendReply')}
            </Button>
          </Form>
        </>
      }
    />
  );
}

export function RefundDetailPage() {
  const { id = '' } = useParams();
  const { t, date } = useI18n();
  const queryClient = useQueryClient();
  const detail = useQuery({
    queryKey: keys.refund(id),
    queryFn: () => unwrap(client.GET('/v1/refunds/{id}', { params: { path: { id } } })),
    refetchInterval: (query) => (query.state.data && ['approved', 'processing'].includes(query.state.data.status) ? 5000 : false),
  });
  const cancel = useMutation({
    mutationFn: () => unwrap(client.POST('/v1/refunds/{id}/cancel', { params: { path: { id } } })),
    onSuccess: (updated) => {
      queryClient.setQueryData(keys.refund(id), updated);
      void queryClient.invalidateQueries({ queryKey: keys.refunds });
    },
  });
  return (
    <QueryView query={detail}>
      {(refund) => (
        <>
          <PageTitle
            extra={
              ['submitted', 'under_review', 'info_requested'].includes(refund.status) && !refund.automatic ? (
                <Popconfirm title={t('refund.cancelConfirm')} onConfirm={() => cancel.mutate()} okText={t('common.confirm')} cancelText={t('common.cancel')}>
                  <Button danger loading={cancel.isPending} data-testid="refund-cancel">
                    {t('refund.cancel')}
                  </Button>
                </Popconfirm>
              ) : null
            }
          >
            {t('refund.title')}
          </PageTitle>
          <Space orientation="vertical" size={16} style={{ width: '100%' }}>
            {cancel.error ? <ErrorAlert error={cancel.error} /> : null}
            {refund.status === 'info_requested' ? <ReplyForm refund={refund} /> : null}
            <Card>
              <RefundSteps refund={refund} />
            </Card>
            {refund.arrival_estimate ? (
              <Alert type="info" showIcon title={t('refund.arrival')} description={refund.arrival_estimate} data-testid="arrival-estimate" />
            ) : null}
            {refund.fallback === 'balance' ? <Alert type="warning" showIcon title={t('refund.fallback')} /> : null}
            <Card data-testid="refund-detail" data-status={refund.status}>
              <Descriptions column={{ xs: 1, md: 2 }} size="small">
                <Descriptions.Item label={t('col.id')}>{refund.id}</Descriptions.Item>
                <Descriptions.Item label={t('col.status')}>
                  <RefundStatusTag status={refund.status} />
                </Descriptions.Item>
                <Descriptions.Item label={t('col.amount')}>
                  <Money fen={refund.amount} strong />
                </Descriptions.Item>
                <Descriptions.Item label={t('col.reason')}>
                  {t(`reason.${refund.reason}`)}
                  {refund.automatic ? ` · ${t('refund.automatic')}` : ''}
                </Descriptions.Item>
                <Descriptions.Item label={t('refund.destination')}>{t(`destination.${refund.destination}`)}</Descriptions.Item>
                <Descriptions.Item label={t('refund.recharge')}>
                  <Link to={`/recharges/${refund.recharge_id}`}>{refund.recharge_id}</Link>
                </Descriptions.Item>
                <Descriptions.Item label={t('col.createdAt')}>{date(refund.created_at)}</Descriptions.Item>
                {refund.succeeded_at ? <Descriptions.Item label={t('fstatus.succeeded')}>{date(refund.succeeded_at)}</Descriptions.Item> : null}
                {refund.failure_reason ? <Descriptions.Item label={t('refund.failureReason')}>{refund.failure_reason}</Descriptions.Item> : null}
                {refund.description ? <Descriptions.Item label={t('refundApply.description')}>{refund.description}</Descriptions.Item> : null}
                {refund.rejection_reason ? <Descriptions.Item label={t('refund.rejection')}>{refund.rejection_reason}</Descriptions.Item> : null}
              </Descriptions>
            </Card>
            <Card title={t('refund.timeline')}>
              <RefundTimeline refund={refund} />
            </Card>
          </Space>
        </>
      )}
    </QueryView>
  );
}
