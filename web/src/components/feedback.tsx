import { Alert, Button, Empty, Flex, Spin, Typography } from 'antd';
import type { ReactNode } from 'react';
import { ApiError } from '../api/problem';
import { useI18n } from '../i18n/context';

/** An API error as the customer reads it: the localized `message`, and the request id for support. */
export function ErrorAlert({ error, onRetry, title }: { error: unknown; onRetry?: () => void; title?: string }) {
  const { t } = useI18n();
  const problem = error instanceof ApiError ? error.problem : null;
  const message = problem?.message ?? t('error.unexpected');
  return (
    <Alert
      type="error"
      showIcon
      role="alert"
      data-testid="error-alert"
      title={title ?? message}
      description={
        title || problem?.request_id ? (
          <>
            {title ? <div>{message}</div> : null}
            {problem?.request_id ? (
              <Typography.Text type="secondary" style={{ fontSize: 12 }}>
                {t('common.requestId')}: {problem.request_id}
              </Typography.Text>
            ) : null}
          </>
        ) : undefined
      }
      action={
        onRetry ? (
          <Button size="small" onClick={onRetry}>
            {t('common.retry')}
          </Button>
        ) : undefined
      }
    />
  );
}

export function Loading() {
  const { t } = useI18n();
  return (
    <Flex justify="center" align="center" style={{ padding: 48 }} data-testid="loading">
      <Spin description={t('common.loading')} />
    </Flex>
  );
}

/** Loading, error (with retry) or the content; `empty` when the data has nothing to show. */
export function QueryView<T>({
  query,
  children,
  isEmpty,
  empty,
}: {
  query: { data: T | undefined; error: unknown; isPending: boolean; refetch: () => unknown };
  children: (data: T) => ReactNode;
  isEmpty?: (data: T) => boolean;
  empty?: string;
}) {
  if (query.isPending) return <Loading />;
  if (query.error || query.data === undefined) return <ErrorAlert error={query.error} onRetry={() => void query.refetch()} />;
  if (isEmpty?.(query.data)) return <Empty description={empty} data-testid="empty" />;
  return <>{children(query.data)}</>;
}

export function PageTitle({ children, extra }: { children: ReactNode; extra?: ReactNode }) {
  return (
    <Flex justify="space-between" align="center" wrap gap={8} style={{ marginBottom: 16 }}>
      <Typography.Title level={3} style={{ margin: 0 }}>
        {children}
      </Typography.Title>
      {extra}
    </Flex>
  );
}
