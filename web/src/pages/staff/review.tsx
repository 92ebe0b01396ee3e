import { CheckCircleFilled, CloseCircleFilled, FilePdfOutlined } from '@ant-design/icons';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { App, Button, Card, Col, Descriptions, Empty, Form, Image, Input, List, Modal, Radio, Row, Space, Table, Tag, Typography } from 'antd';
import { useEffect, useState } from 'react';
import { Link, useParams } from 'react-router';
import { authHeaders, client, unwrap } from '../../api/client';
import { keys } from '../../api/queries';
import type { AdminRefundDetail, Check, Recharge } from '../../api/types';
import { ErrorAlert, PageTitle, QueryView } from '../../components/feedback';
import { Money, RechargeStatusTag, RefundStatusTag } from '../../components/status';
import { formatMoney, parseYuan } from '../../format';
import { useI18n } from '../../i18n/context';
import type { MessageKey } from '../../i18n/messages';
import { newIdempotencyKey } from '../../session';
import { RefundSteps, RefundTimeline } from '../portal/refunds';
import { SlaCountdown } from './queue';

type EvidenceItem = AdminRefundDetail['evidence'][number];

/** Evidence files need the bearer token, so they are fetched and shown from a blob URL. */
function EvidenceThumb({ item }: { item: EvidenceItem }) {
  const { t } = useI18n();
  const [url, setUrl] = useState<string | null>(null);
  const [failed, setFailed] = useState(false);
  useEffect(() => {
    let revoked = false;
    let objectUrl: string | null = null;
    fetch(`/v1/evidence/${encodeURIComponent(item.id)}/content`, { headers: authHeaders() })
      .then(async (res) => {
        if (!res.ok) throw new Error(String(res.status));
        const blob = await res.blob();
        if (revoked) return;
        objectUrl = URL.createObjectURL(blob);
        setUrl(objectUrl);
      })
      .catch(() => setFailed(true));
    return () => {
      revoked = true;
      if (objectUrl) URL.revokeObjectURL(objectUrl);
    };
  }, [item.id]);
  const caption = (
    <Typography.Text type="secondary" style={{ fontSize: 12 }} ellipsis>
      {item.filename} · {(item.size / 1024).toFixed(0)} KB
    </Typography.Text>
  );
  if (failed) return <Tag color="error">{item.filename}</Tag>;
  if (item.content_type.startsWith('image/')) {
    return (
      <Space orientation="vertical" size={4} style={{ width: 140 }} data-testid="evidence-item">
        {url ? <Image src={url} width={140} height={140} style={{ objectFit: 'cover' }} alt={item.filename} /> : <Card loading style={{ width: 140, height: 140 }} />}
        {caption}
      </Space>
    );
  }
  return (
    <Space orientation="vertical" size={4} style={{ width: 140 }} data-testid="evidence-item">
      <Button icon={<FilePdfOutlined />} href={url ?? undefined} target="_blank" disabled={!url} style={{ width: 140, height: 140 }}>
        {t('review.openFile')}
      </Button>
      {caption}
    </Space>
  );
}

function ChecksList({ checks }: { checks: Check[] }) {
  const { t } = useI18n();
  if (checks.length === 0) return <Empty description={t('review.noChecks')} />;
  return (
    <List
      size="small"
      data-testid="checks"
      dataSource={checks}
      renderItem={(check) => (
        <List.Item data-testid="check" data-ok={String(check.ok)}>
          <Space align="start">
            {check.ok ? <CheckCircleFilled style={{ color: '#52c41a' }} /> : <CloseCircleFilled style={{ color: '#ff4d4f' }} />}
            <div>
              <Typography.Text strong>{check.name}</Typography.Text>
              <div>
                <Typography.Text type="secondary">{check.detail}</Typography.Text>
              </div>
            </div>
          </Space>
        </List.Item>
      )}
    />
  );
}

type Action = 'requestInfo' | 'approve' | 'reject' | 'escalate' | 'compensate';

interface ActionValues {
  message?: string;
  note?: string;
  reason?: string;
  destination?: 'original' | 'balance';
  amount?: string;
}

const OPEN: AdminRefundDetail['status'][] = ['submitted', 'under_review', 'info_requested'];

function Actions({ refund }: { refund: AdminRefundDetail }) {
  const { t } = useI18n();
  const { message } = App.useApp();
  const queryClient = useQueryClient();
  const [action, setAction] = useState<Action | null>(null);
  const [form] = Form.useForm<ActionValues>();
  const id = refund.id;
  const path = { params: { path: { id } } };
  const done = () => {
    void queryClient.invalidateQueries({ queryKey: keys.adminRefunds });
    void message.success(t('common.done'));
    setAction(null);
    form.resetFields();
  };
  const claim = useMutation({ mutationFn: () => unwrap(client.POST('/v1/admin/refunds/{id}/claim', path)), onSuccess: done });
  const act = useMutation({
    mutationFn: async (values: ActionValues) => {
      switch (action) {
        case 'requestInfo':
          return unwrap(client.POST('/v1/admin/refunds/{id}/request-info', { ...path, body: { message: values.message ?? '' } }));
        case 'approve':
          return unwrap(
            client.POST('/v1/admin/refunds/{id}/approve', { ...path, body: { destination: values.destination, note: values.note || null } }),
          );
        case 'reject':
          return unwrap(client.POST('/v1/admin/refunds/{id}/reject', { ...path, body: { reason: values.reason ?? '' } }));
        case 'escalate':
          return unwrap(client.POST('/v1/admin/refunds/{id}/escalate', { ...path, body: { note: values.note ?? '' } }));
        case 'compensate':
          return unwrap(
            client.POST('/v1/admin/compensations', {
              params: { header: { 'idempotency-key': newIdempotencyKey() } },
              body: { user_id: refund.customer_id, amount: parseYuan(values.amount ?? '') ?? 0, reason: values.reason ?? '', refund_id: id },
            }),
          );
        default:
          return null;
      }
    },
    onSuccess: done,
  });
  const open = OPEN.includes(refund.status);
  const buttons: { key: Action | 'claim'; label: MessageKey; enabled: boolean; danger?: boolean; primary?: boolean }[] = [
    { key: 'claim', label: 'action.claim', enabled: refund.status === 'submitted' || (open && !refund.assignee_id), primary: refund.status === 'submitted' },
    { key: 'requestInfo', label: 'action.requestInfo', enabled: refund.status === 'under_review' },
    { key: 'approve', label: 'action.approve', enabled: refund.status === 'under_review', primary: refund.status === 'under_review' },
    { key: 'reject', label: 'action.reject', enabled: refund.status === 'under_review' || refund.status === 'info_requested', danger: true },
    { key: 'escalate', label: 'action.escalate', enabled: open },
    { key: 'compensate', label: 'action.compensate', enabled: true },
  ];
  const titles: Record<Action, MessageKey> = {
    requestInfo: 'action.requestInfo',
    approve: 'action.approve',
    reject: 'action.reject',
    escalate: 'action.escalate',
    compensate: 'action.compensate',
  };
  const required = { required: true, message: t('validation.required') };
  return (
    <Card title={t('review.actions')} size="small">
      <Space wrap>
        {buttons.map((b) => (
          <Button
            key={b.key}
            data-testid={`action-${b.key}`}
            disabled={!b.enabled}
            danger={b.danger}
            type={b.primary ? 'primary' : 'default'}
            loading={b.key === 'claim' && claim.isPending}
            onClick={() => (b.key === 'claim' ? claim.mutate() : setAction(b.key))}
          >
            {t(b.label)}
          </Button>
        ))}
      </Space>
      {claim.error ? (
        <div style={{ marginTop: 12 }}>
          <ErrorAlert error={claim.error} />
        </div>
      ) : null}
      <Modal
        open={action !== null}
        title={action ? t(titles[action]) : ''}
        okText={t('common.confirm')}
        cancelText={t('common.cancel')}
        confirmLoading={act.isPending}
        onOk={() => form.submit()}
        onCancel={() => {
          setAction(null);
          act.reset();
        }}
        destroyOnHidden
        okButtonProps={{ 'data-testid': 'action-confirm' } as Record<string, string>}
      >
        <Form<ActionValues> form={form} layout="vertical" onFinish={(values) => act.mutate(values)} initialValues={{ destination: 'original' }} preserve={false}>
          {action === 'requestInfo' ? (
            <Form.Item name="message" label={t('field.message')} rules={[required]}>
              <Input.TextArea rows={3} data-testid="action-message" />
            </Form.Item>
          ) : null}
          {action === 'approve' ? (
            <>
              <Form.Item name="destination" label={t('field.destination')}>
                <Radio.Group>
                  <Radio value="original">{t('destination.original')}</Radio>
                  <Radio value="balance">{t('destination.balance')}</Radio>
                </Radio.Group>
              </Form.Item>
              <Form.Item name="note" label={t('field.note')}>
                <Input.TextArea rows={2} data-testid="action-note" />
              </Form.Item>
            </>
          ) : null}
          {action === 'reject' ? (
            <Form.Item name="reason" label={t('field.rejectReason')} rules={[required]}>
              <Input.TextArea rows={3} data-testid="action-reason" />
            </Form.Item>
          ) : null}
          {action === 'escalate' ? (
            <Form.Item name="note" label={t('field.note')} rules={[required]}>
              <Input.TextArea rows={3} data-testid="action-note" />
            </Form.Item>
          ) : null}
          {action === 'compensate' ? (
            <>
              <Form.Item
                name="amount"
                label={t('field.compAmount')}
                rules={[
                  required,
                  {
                    validator: async (_rule, value: string) => {
                      if (value && !parseYuan(value)) throw new Error(t('recharge.amountInvalid'));
                    },
                  },
                ]}
              >
                <Input prefix="¥" inputMode="decimal" data-testid="action-amount" />
              </Form.Item>
              <Form.Item name="reason" label={t('field.compReason')} rules={[required]}>
                <Input.TextArea rows={2} data-testid="action-reason" />
              </Form.Item>
            </>
          ) : null}
          {act.error ? <ErrorAlert error={act.error} /> : null}
        </Form>
      </Modal>
    </Card>
  );
}

/** The customer's latest recharges (`GET /v1/admin/customers/{id}`), beside the application. */
function CustomerRecharges({ customerId }: { customerId: string }) {
  const { t, date } = useI18n();
  const history = useQuery({
    queryKey: ['admin', 'customers', customerId],
    queryFn: () => unwrap(client.GET('/v1/admin/customers/{id}', { params: { path: { id: customerId } } })),
  });
  return (
    <div style={{ marginBottom: 12 }}>
      <Typography.Text strong>{t('nav.recharges')}</Typography.Text>
      <QueryView query={history}>
        {(h) => (
          <Table
            size="small"
            rowKey="id"
            pagination={false}
            dataSource={h.recharges}
            scroll={{ x: true }}
            columns={[
              { title: t('col.createdAt'), dataIndex: 'created_at', render: (v: string) => date(v) },
              { title: t('col.amount'), dataIndex: 'amount', render: (v: number) => <Money fen={v} /> },
              { title: t('col.method'), dataIndex: 'method', render: (v: Recharge['method']) => t(`method.${v}`) },
              { title: t('col.status'), dataIndex: 'status', render: (v: Recharge['status']) => <RechargeStatusTag status={v} /> },
              { title: t('detail.failure'), key: 'failure', render: (_v, r) => r.failure?.code ?? '—' },
            ]}
          />
        )}
      </QueryView>
    </div>
  );
}

export function ReviewPage() {
  const { id = '' } = useParams();
  const { t, date } = useI18n();
  const detail = useQuery({
    queryKey: keys.adminRefund(id),
    queryFn: () => unwrap(client.GET('/v1/admin/refunds/{id}', { params: { path: { id } } })),
  });
  return (
    <QueryView query={detail}>
      {(refund) => (
        <>
          <PageTitle extra={<Link to="/staff/refunds">{t('common.back')}</Link>}>
            {t('review.title')} <RefundStatusTag status={refund.status} />
          </PageTitle>
          <Row gutter={[16, 16]}>
            <Col xs={24} xl={16}>
              <Space orientation="vertical" size={16} style={{ width: '100%' }}>
                <Card data-testid="review-detail" data-status={refund.status}>
                  <Descriptions column={{ xs: 1, md: 2 }} size="small">
                    <Descriptions.Item label={t('col.id')}>{refund.id}</Descriptions.Item>
                    <Descriptions.Item label={t('col.amount')}>
                      <Money fen={refund.amount} strong />
                    </Descriptions.Item>
                    <Descriptions.Item label={t('col.reason')}>{t(`reason.${refund.reason}`)}</Descriptions.Item>
                    <Descriptions.Item label={t('review.slaDue')}>
                      {date(refund.sla_due_at)} {OPEN.includes(refund.status) ? <SlaCountdown due={refund.sla_due_at} breached={refund.sla_breached} /> : null}
                    </Descriptions.Item>
                    <Descriptions.Item label={t('review.paidAt')}>{date(refund.paid_at)}</Descriptions.Item>
                    <Descriptions.Item label={t('review.txnNo')}>{refund.channel_txn_no ?? '—'}</Descriptions.Item>
                    <Descriptions.Item label={t('review.escalation')}>L{refund.escalation_level}</Descriptions.Item>
                    <Descriptions.Item label={t('col.assignee')}>{refund.assignee_id ?? t('queue.unassigned')}</Descriptions.Item>
                    <Descriptions.Item label={t('refund.destination')}>{t(`destination.${refund.destination}`)}</Descriptions.Item>
                    {refund.recharge ? (
                      <Descriptions.Item label={t('refund.recharge')}>
                        {refund.recharge.id} · {formatMoney(refund.recharge.amount)} · {refund.recharge.method} · {refund.recharge.status}
                      </Descriptions.Item>
                    ) : null}
                    {refund.rejection_reason ? <Descriptions.Item label={t('refund.rejection')}>{refund.rejection_reason}</Descriptions.Item> : null}
                  </Descriptions>
                  {refund.description ? (
                    <Typography.Paragraph style={{ marginTop: 12 }}>
                      <Typography.Text type="secondary">{t('review.description')}: </Typography.Text>
                      {refund.description}
                    </Typography.Paragraph>
                  ) : null}
                </Card>
                <Actions refund={refund} />
                <Card title={t('review.checks')} size="small">
                  <ChecksList checks={refund.checks} />
                </Card>
                <Card title={t('review.evidence')} size="small">
                  {refund.evidence.length === 0 ? (
                    <Empty description={t('review.noEvidence')} />
                  ) : (
                    <Image.PreviewGroup>
                      <Space wrap size={12}>
                        {refund.evidence.map((item) => (
                          <EvidenceThumb key={item.id} item={item} />
                        ))}
                      </Space>
                    </Image.PreviewGroup>
                  )}
                </Card>
              </Space>
            </Col>
            <Col xs={24} xl={8}>
              <Space orientation="vertical" size={16} style={{ width: '100%' }}>
                <Card size="small">
                  <RefundSteps refund={refund} vertical />
                </Card>
                <Card title={t('refund.timeline')} size="small">
                  <RefundTimeline refund={refund} />
                </Card>
                <Card title={t('review.history')} size="small" data-testid="customer-history">
                  <Descriptions column={1} size="small">
                    <Descriptions.Item label={t('col.customer')}>{refund.customer.email}</Descriptions.Item>
                    <Descriptions.Item label={t('review.balance')}>
                      <Money fen={refund.customer.available} /> / <Money fen={refund.customer.held} />
                    </Descriptions.Item>
                  </Descriptions>
                  <CustomerRecharges customerId={refund.customer_id} />
                  <Typography.Text strong>{t('detail.refunds')}</Typography.Text>
                  <Table
                    size="small"
                    rowKey="id"
                    pagination={false}
                    dataSource={refund.history}
                    scroll={{ x: true }}
                    columns={[
                      { title: t('col.createdAt'), dataIndex: 'created_at', render: (v: string) => date(v) },
                      { title: t('col.amount'), dataIndex: 'amount', render: (v: number) => <Money fen={v} /> },
                      { title: t('col.status'), dataIndex: 'status' },
                    ]}
                  />
                </Card>
              </Space>
            </Col>
          </Row>
        </>
      )}
    </QueryView>
  );
}
