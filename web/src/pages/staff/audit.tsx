import { useInfiniteQuery } from '@tanstack/react-query';
import { Button, Card, Empty, Flex, Form, Input, Table, Typography } from 'antd';
import { useState } from 'react';
import { client, unwrap } from '../../api/client';
import { keys } from '../../api/queries';
import type { AuditEntry, AuditQuery } from '../../api/types';
import { ErrorAlert, Loading, PageTitle } from '../../components/feedback';
import { useI18n } from '../../i18n/context';

/** The audit trail: who (customer, staff, system) changed what, when and why. */
export function AuditPage() {
  const { t, date } = useI18n();
  const [filters, setFilters] = useState<AuditQuery>({});
  const list = useInfiniteQuery({
    queryKey: [...keys.audit, filters],
    queryFn: ({ pageParam }) => unwrap(client.GET('/v1/admin/audit', { params: { query: { ...filters, limit: 50, cursor: pageParam ?? undefined } } })),
    initialPageParam: null as string | null,
    getNextPageParam: (last) => last.next_cursor,
  });
  const rows = list.data?.pages.flatMap((p) => p.data) ?? [];
  return (
    <>
      <PageTitle>{t('audit.title')}</PageTitle>
      <Card>
        <Form
          layout="inline"
          style={{ marginBottom: 16, rowGap: 8 }}
          onFinish={(values: { actor?: string; action?: string; target_id?: string }) =>
            setFilters({ actor: values.actor || undefined, action: values.action || undefined, target_id: values.target_id || undefined })
          }
        >
          <Form.Item name="actor">
            <Input placeholder={t('audit.filterActor')} allowClear />
          </Form.Item>
          <Form.Item name="action">
            <Input placeholder={t('audit.filterAction')} allowClear />
          </Form.Item>
          <Form.Item name="target_id">
            <Input placeholder={t('audit.filterTarget')} allowClear />
          </Form.Item>
          <Button htmlType="submit" type="primary">
            {t('audit.search')}
          </Button>
        </Form>
        {list.isPending ? (
          <Loading />
        ) : list.error ? (
          <ErrorAlert error={list.error} onRetry={() => void list.refetch()} />
        ) : (
          <>
            <Table<AuditEntry>
              rowKey="id"
              dataSource={rows}
              pagination={false}
              scroll={{ x: true }}
              data-testid="audit-table"
              locale={{ emptyText: <Empty description={t('audit.empty')} /> }}
              columns={[
                { title: t('col.createdAt'), dataIndex: 'created_at', render: (v: string) => date(v) },
                { title: t('col.actor'), dataIndex: 'actor', render: (v: string) => <Typography.Text code>{v}</Typography.Text> },
                { title: t('col.action'), dataIndex: 'action' },
                { title: t('col.target'), key: 'target', render: (_v, r) => `${r.target_type} ${r.target_id}` },
                {
                  title: t('col.data'),
                  dataIndex: 'data',
                  render: (v: AuditEntry['data']) => (
                    <Typography.Text type="secondary" style={{ fontSize: 12 }} ellipsis={{ tooltip: JSON.stringify(v) }}>
                      {Object.keys(v).length ? JSON.stringify(v) : '—'}
                    </Typography.Text>
                  ),
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
