import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { App, Button, Card, DatePicker, Empty, Form, Input, List, Modal, Space, Table, Tag, Typography } from 'antd';
import type { Dayjs } from 'dayjs';
import { useState } from 'react';
import { client, unwrap } from '../../api/client';
import { keys, useServiceStatus } from '../../api/queries';
import type { PaymentMethod, Provider } from '../../api/types';
import { useAuth } from '../../auth';
import { ErrorAlert, PageTitle, QueryView } from '../../components/feedback';
import { useI18n } from '../../i18n/context';

const STATE_COLORS: Record<Provider['state'], string> = { available: 'success', maintenance: 'warning', circuit_open: 'error' };

/** Providers with their state; admins start and end maintenance windows. Incidents and method status below. */
export function ProvidersPage() {
  const { t, date } = useI18n();
  const { can } = useAuth();
  const { message } = App.useApp();
  const queryClient = useQueryClient();
  const isAdmin = can(['admin']);
  const providers = useQuery({ queryKey: keys.providers, queryFn: () => unwrap(client.GET('/v1/admin/providers')), refetchInterval: 15_000 });
  const status = useServiceStatus();
  const [target, setTarget] = useState<string | null>(null);
  const [form] = Form.useForm<{ message: string; until?: Dayjs }>();
  const refresh = () => {
    void queryClient.invalidateQueries({ queryKey: keys.providers });
    void queryClient.invalidateQueries({ queryKey: keys.status });
  };
  const start = useMutation({
    mutationFn: (values: { message: string; until?: Dayjs }) =>
      unwrap(
        client.POST('/v1/admin/providers/{provider}/maintenance', {
          params: { path: { provider: target ?? '' } },
          body: { message: values.message, until: values.until ? values.until.toISOString() : null },
        }),
      ),
    onSuccess: () => {
      refresh();
      setTarget(null);
      form.resetFields();
      void message.success(t('common.done'));
    },
  });
  const end = useMutation({
    mutationFn: (provider: string) => unwrap(client.DELETE('/v1/admin/providers/{provider}/maintenance', { params: { path: { provider } } })),
    onSuccess: () => {
      refresh();
      void message.success(t('common.done'));
    },
  });

  return (
    <>
      <PageTitle>{t('providers.title')}</PageTitle>
      <Space orientation="vertical" size={16} style={{ width: '100%' }}>
        {end.error ? <ErrorAlert error={end.error} /> : null}
        <Card>
          <QueryView query={providers}>
            {(list) => (
              <Table<Provider>
                rowKey="provider"
                dataSource={list.data}
                pagination={false}
                scroll={{ x: true }}
                data-testid="providers-table"
                columns={[
                  { title: t('col.provider'), dataIndex: 'provider', render: (v: string) => <Typography.Text code>{v}</Typography.Text> },
                  {
                    title: t('col.methods'),
                    dataIndex: 'methods',
                    render: (v: PaymentMethod[]) => v.map((m) => <Tag key={m}>{t(`method.${m}`)}</Tag>),
                  },
                  {
                    title: t('col.state'),
                    dataIndex: 'state',
                    render: (v: Provider['state'], r) => (
                      <Space orientation="vertical" size={0}>
                        <Tag color={STATE_COLORS[v]} data-testid={`provider-state-${r.provider}`}>
                          {t(`pstate.${v}`)}
                        </Tag>
                        {r.maintenance?.message ? <Typography.Text type="secondary">{r.maintenance.message}</Typography.Text> : null}
                        {r.maintenance?.until ? <Typography.Text type="secondary">→ {date(r.maintenance.until)}</Typography.Text> : null}
                        {r.circuit_open_until ? (
                          <Typography.Text type="secondary">{t('providers.circuitUntil', { time: date(r.circuit_open_until) })}</Typography.Text>
                        ) : null}
                      </Space>
                    ),
                  },
                  ...(isAdmin
                    ? [
                        {
                          title: t('col.actions'),
                          key: 'actions',
                          render: (_v: unknown, r: Provider) =>
                            r.state === 'maintenance' ? (
                              <Button onClick={() => end.mutate(r.provider)} loading={end.isPending && end.variables === r.provider}>
                                {t('providers.end')}
                              </Button>
                            ) : (
                              <Button onClick={() => setTarget(r.provider)} data-testid={`start-maintenance-${r.provider}`}>
                                {t('providers.start')}
                              </Button>
                            ),
                        },
                      ]
                    : []),
                ]}
              />
            )}
          </QueryView>
        </Card>
        <Card title={t('providers.methodStatus')} size="small">
          <QueryView query={status}>
            {(s) => (
              <Space wrap>
                {s.methods.map((m) => (
                  <Tag key={m.method} color={m.state === 'operational' ? 'success' : m.state === 'degraded' ? 'warning' : 'error'}>
                    {t(`method.${m.method}`)} · {t(`mstate.${m.state}`)}
                  </Tag>
                ))}
              </Space>
            )}
          </QueryView>
        </Card>
        <Card title={t('providers.incidents')} size="small">
          <QueryView query={status}>
            {(s) =>
              s.incidents.length === 0 ? (
                <Empty description={t('providers.noIncidents')} />
              ) : (
                <List
                  dataSource={s.incidents}
                  renderItem={(incident) => (
                    <List.Item>
                      <Space wrap>
                        <Tag color={incident.kind === 'outage' ? 'error' : 'warning'}>{t(`incident.${incident.kind}`)}</Tag>
                        <Typography.Text code>{incident.provider}</Typography.Text>
                        <span>{incident.message}</span>
                        <Typography.Text type="secondary">
                          {date(incident.started_at)} → {incident.ends_at ? date(incident.ends_at) : '…'}
                        </Typography.Text>
                      </Space>
                    </List.Item>
                  )}
                />
              )
            }
          </QueryView>
        </Card>
      </Space>
      <Modal
        open={target !== null}
        title={`${t('providers.start')} · ${target ?? ''}`}
        okText={t('common.confirm')}
        cancelText={t('common.cancel')}
        confirmLoading={start.isPending}
        onOk={() => form.submit()}
        onCancel={() => setTarget(null)}
        destroyOnHidden
      >
        <Form form={form} layout="vertical" onFinish={(values) => start.mutate(values)} preserve={false}>
          <Form.Item name="message" label={t('providers.message')} rules={[{ required: true, message: t('validation.required') }]}>
            <Input.TextArea rows={2} />
          </Form.Item>
          <Form.Item name="until" label={t('providers.until')}>
            <DatePicker showTime style={{ width: '100%' }} />
          </Form.Item>
          {start.error ? <ErrorAlert error={start.error} /> : null}
        </Form>
      </Modal>
    </>
  );
}
