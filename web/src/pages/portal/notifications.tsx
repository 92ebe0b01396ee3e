import { useInfiniteQuery, useMutation, useQueryClient } from '@tanstack/react-query';
import { Badge, Button, Card, Empty, Flex, List, Segmented, Space, Tag, Typography } from 'antd';
import { useState } from 'react';
import { Link } from 'react-router';
import { client, unwrap } from '../../api/client';
import { keys } from '../../api/queries';
import type { Notification } from '../../api/types';
import { ErrorAlert, Loading, PageTitle } from '../../components/feedback';
import { useI18n } from '../../i18n/context';

type Channel = Notification['channel'];
const CHANNELS: Channel[] = ['in_app', 'email', 'sms'];

function subjectLink(id: string) {
  if (id.startsWith('rch_')) return `/recharges/${id}`;
  if (id.startsWith('rfd_')) return `/refunds/${id}`;
  return null;
}

/** 消息通知: what the customer was told, on every channel, with delivery state. */
export function NotificationsPage() {
  const { t, date } = useI18n();
  const queryClient = useQueryClient();
  const [channel, setChannel] = useState<Channel | 'all'>('in_app');
  const list = useInfiniteQuery({
    queryKey: [...keys.notifications, channel],
    queryFn: ({ pageParam }) =>
      unwrap(
        client.GET('/v1/notifications', {
          params: { query: { limit: 20, cursor: pageParam ?? undefined, channel: channel === 'all' ? undefined : channel } },
        }),
      ),
    initialPageParam: null as string | null,
    getNextPageParam: (last) => last.next_cursor,
    refetchInterval: 30_000,
  });
  const readAll = useMutation({
    mutationFn: () => unwrap(client.POST('/v1/notifications/read-all')),
    onSuccess: () => void queryClient.invalidateQueries({ queryKey: keys.notifications }),
  });
  const rows = list.data?.pages.flatMap((p) => p.data) ?? [];
  return (
    <>
      <PageTitle
        extra={
          <Button onClick={() => readAll.mutate()} loading={readAll.isPending} disabled={!rows.some((n) => !n.read_at)}>
            {t('notifications.readAll')}
          </Button>
        }
      >
        {t('notifications.title')}
      </PageTitle>
      <Card>
        <Segmented<Channel | 'all'>
          style={{ marginBottom: 16 }}
          value={channel}
          onChange={setChannel}
          options={[{ value: 'all', label: t('common.all') }, ...CHANNELS.map((c) => ({ value: c, label: t(`channel.${c}`) }))]}
        />
        {readAll.error ? <ErrorAlert error={readAll.error} /> : null}
        {list.isPending ? (
          <Loading />
        ) : list.error ? (
          <ErrorAlert error={list.error} onRetry={() => void list.refetch()} />
        ) : rows.length === 0 ? (
          <Empty description={t('notifications.empty')} data-testid="empty" />
        ) : (
          <>
            <List
              data-testid="notifications"
              dataSource={rows}
              renderItem={(n) => {
                const link = subjectLink(n.subject_id);
                return (
                  <List.Item data-testid="notification" data-event={n.event}>
                    <List.Item.Meta
                      title={
                        <Space wrap>
                          {n.read_at ? null : <Badge status="processing" />}
                          {link ? <Link to={link}>{n.title}</Link> : n.title}
                          <Tag>{t(`channel.${n.channel}`)}</Tag>
                        </Space>
                      }
                      description={
                        <>
                          <div style={{ whiteSpace: 'pre-wrap', color: 'rgba(0,0,0,0.75)' }}>{n.body}</div>
                          <Typography.Text type="secondary" style={{ fontSize: 12 }}>
                            {date(n.created_at)} · {n.delivered_at ? t('notifications.delivered') : t('notifications.notDelivered')}
                          </Typography.Text>
                        </>
                      }
                    />
                  </List.Item>
                );
              }}
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
