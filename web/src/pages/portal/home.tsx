import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { App, Button, Card, Col, Flex, Form, Input, Row, Select, Space, Statistic, Switch, Table, Typography } from 'antd';
import { Link, useNavigate } from 'react-router';
import { client, unwrap } from '../../api/client';
import { keys, useBalance } from '../../api/queries';
import type { AutoRecharge, Recharge, Reminder } from '../../api/types';
import { ErrorAlert, QueryView } from '../../components/feedback';
import { Money, RechargeStatusTag } from '../../components/status';
import { fenToYuanText, formatMoney, parseYuan } from '../../format';
import { useI18n } from '../../i18n/context';

const QUICK = [5000, 10000, 20000, 50000];

function yuanRule(t: ReturnType<typeof useI18n>['t'], required: boolean) {
  return {
    validator: async (_rule: unknown, value: string | undefined) => {
      if (!value) {
        if (required) throw new Error(t('validation.required'));
        return;
      }
      if (parseYuan(value) === null) throw new Error(t('recharge.amountInvalid'));
    },
  };
}

function ReminderCard({ reminder }: { reminder: Reminder }) {
  const { t } = useI18n();
  const { message } = App.useApp();
  const queryClient = useQueryClient();
  const save = useMutation({
    mutationFn: (threshold: number | null) => unwrap(client.PUT('/v1/balance/reminder', { body: { threshold } })),
    onSuccess: (data) => {
      queryClient.setQueryData(keys.reminder, data);
      void message.success(t('common.saved'));
    },
  });
  return (
    <Card title={t('home.reminder')} size="small" data-testid="reminder-card">
      <Form
        layout="vertical"
        initialValues={{ threshold: reminder.threshold === null ? '' : fenToYuanText(reminder.threshold) }}
        onFinish={(values: { threshold: string }) => save.mutate(values.threshold ? parseYuan(values.threshold) : null)}
      >
        <Form.Item name="threshold" label={t('home.reminderHelp')} rules={[yuanRule(t, false)]}>
          <Input prefix="¥" inputMode="decimal" data-testid="reminder-threshold" />
        </Form.Item>
        {save.error ? <ErrorAlert error={save.error} /> : null}
        <Button htmlType="submit" loading={save.isPending} data-testid="reminder-save">
          {t('common.save')}
        </Button>
      </Form>
    </Card>
  );
}

interface AutoValues {
  enabled: boolean;
  threshold?: string;
  amount?: string;
  from_recharge_id?: string;
}

function AutoRechargeCard({ settings, sources }: { settings: AutoRecharge; sources: Recharge[] }) {
  const { t } = useI18n();
  const { message } = App.useApp();
  const queryClient = useQueryClient();
  const [form] = Form.useForm<AutoValues>();
  const enabled = Form.useWatch('enabled', form) ?? settings.enabled;
  const save = useMutation({
    mutationFn: (values: AutoValues) =>
      unwrap(
        client.PUT('/v1/balance/auto-recharge', {
          body: {
            enabled: values.enabled,
            threshold: values.threshold ? parseYuan(values.threshold) : null,
            amount: values.amount ? parseYuan(values.amount) : null,
            from_recharge_id: values.from_recharge_id ?? null,
          },
        }),
      ),
    onSuccess: (data) => {
      queryClient.setQueryData(keys.autoRecharge, data);
      void message.success(t('common.saved'));
    },
  });
  return (
    <Card title={t('home.autoRecharge')} size="small" data-testid="auto-recharge-card">
      <Typography.Paragraph type="secondary">{t('home.autoHelp')}</Typography.Paragraph>
      <Form<AutoValues>
        form={form}
        layout="vertical"
        initialValues={{
          enabled: settings.enabled,
          threshold: settings.threshold === null ? '' : fenToYuanText(settings.threshold),
          amount: settings.amount === null ? '' : fenToYuanText(settings.amount),
          from_recharge_id: settings.from_recharge_id ?? sources[0]?.id,
        }}
        onFinish={(values) => save.mutate(values)}
      >
        <Form.Item name="enabled" label={t('home.enabled')} valuePropName="checked">
          <Switch data-testid="auto-enabled" />
        </Form.Item>
        {enabled ? (
          <>
            <Flex gap={12} wrap>
              <Form.Item name="threshold" label={t('home.threshold')} rules={[yuanRule(t, true)]} style={{ flex: '1 1 140px' }}>
                <Input prefix="¥" inputMode="decimal" />
              </Form.Item>
              <Form.Item name="amount" label={t('home.autoAmount')} rules={[yuanRule(t, true)]} style={{ flex: '1 1 140px' }}>
                <Input prefix="¥" inputMode="decimal" />
              </Form.Item>
            </Flex>
            <Form.Item
              name="from_recharge_id"
              label={t('home.fromRecharge')}
              rules={[{ required: true, message: t('home.noSource') }]}
              extra={sources.length === 0 ? t('home.noSource') : undefined}
            >
              <Select
                options={sources.map((r) => ({
                  value: r.id,
                  label: `${t(`method.${r.method}`)} ${r.payment_method.masked} · ${formatMoney(r.amount)}`,
                }))}
              />
            </Form.Item>
          </>
        ) : null}
        {settings.in_flight_recharge_id ? <Typography.Text type="warning">{t('home.inFlight')}</Typography.Text> : null}
        {save.error ? <ErrorAlert error={save.error} /> : null}
        <div>
          <Button htmlType="submit" loading={save.isPending} data-testid="auto-save">
            {t('common.save')}
          </Button>
        </div>
      </Form>
    </Card>
  );
}

export function HomePage() {
  const { t, date } = useI18n();
  const navigate = useNavigate();
  const balance = useBalance();
  const reminder = useQuery({ queryKey: keys.reminder, queryFn: () => unwrap(client.GET('/v1/balance/reminder')) });
  const auto = useQuery({ queryKey: keys.autoRecharge, queryFn: () => unwrap(client.GET('/v1/balance/auto-recharge')) });
  const recent = useQuery({
    queryKey: [...keys.recharges, 'recent'],
    queryFn: () => unwrap(client.GET('/v1/recharges', { params: { query: { limit: 5 } } })),
  });
  const sources = useQuery({
    queryKey: [...keys.recharges, 'succeeded'],
    queryFn: () => unwrap(client.GET('/v1/recharges', { params: { query: { status: 'succeeded', limit: 20 } } })),
  });

  return (
    <Space orientation="vertical" size={16} style={{ width: '100%' }}>
      <Card data-testid="balance-card">
        <QueryView query={balance}>
          {(b) => (
            <Row gutter={[16, 16]} align="middle">
              <Col xs={12} md={8}>
                <Statistic title={t('home.available')} value={formatMoney(b.available)} data-testid="balance-available" />
              </Col>
              <Col xs={12} md={8}>
                <Statistic title={t('home.held')} value={formatMoney(b.held)} data-testid="balance-held" />
              </Col>
              <Col xs={24} md={8}>
                <Typography.Text strong>{t('home.quickRecharge')}</Typography.Text>
                <Flex wrap gap={8} style={{ marginTop: 8 }}>
                  {QUICK.map((fen) => (
                    <Button key={fen} type="primary" ghost onClick={() => void navigate(`/recharge?amount=${fen}`)} data-testid={`quick-${fen}`}>
                      {formatMoney(fen)}
                    </Button>
                  ))}
                  <Button onClick={() => void navigate('/recharge')}>{t('home.otherAmount')}</Button>
                </Flex>
              </Col>
            </Row>
          )}
        </QueryView>
      </Card>
      <Row gutter={[16, 16]}>
        <Col xs={24} md={12}>
          <QueryView query={reminder}>{(r) => <ReminderCard reminder={r} />}</QueryView>
        </Col>
        <Col xs={24} md={12}>
          <QueryView query={auto}>{(a) => <AutoRechargeCard settings={a} sources={sources.data?.data ?? []} />}</QueryView>
        </Col>
      </Row>
      <Card title={t('home.recent')} size="small" extra={<Link to="/recharges">{t('home.viewAll')}</Link>}>
        <QueryView query={recent}>
          {(page) => (
            <Table
              size="small"
              rowKey="id"
              pagination={false}
              dataSource={page.data}
              scroll={{ x: true }}
              locale={{ emptyText: t('recharges.empty') }}
              columns={[
                { title: t('col.createdAt'), dataIndex: 'created_at', render: (v: string) => date(v) },
                { title: t('col.amount'), dataIndex: 'amount', render: (v: number) => <Money fen={v} /> },
                { title: t('col.method'), dataIndex: 'method', render: (v: Recharge['method']) => t(`method.${v}`) },
                { title: t('col.status'), dataIndex: 'status', render: (v: Recharge['status']) => <RechargeStatusTag status={v} /> },
                { title: '', key: 'go', render: (_v, r) => <Link to={`/recharges/${r.id}`}>{t('common.view')}</Link> },
              ]}
            />
          )}
        </QueryView>
      </Card>
    </Space>
  );
}
