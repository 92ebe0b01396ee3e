import { Alert, Space } from 'antd';
import { useServiceStatus } from '../api/queries';
import { useI18n } from '../i18n/context';

/** Maintenance and incidents from `/v1/status`, shown above the portal while any method is not operational. */
export function StatusBanner() {
  const { t } = useI18n();
  const status = useServiceStatus();
  if (!status.data) return null;
  const troubled = status.data.methods.filter((m) => m.state !== 'operational');
  if (troubled.length === 0 && status.data.incidents.length === 0) return null;
  const lines = [...troubled.map((m) => m.message), ...status.data.incidents.map((i) => i.message)];
  const unique = [...new Set(lines)];
  return (
    <Alert
      data-testid="status-banner"
      type={troubled.some((m) => m.state === 'maintenance') ? 'warning' : 'info'}
      showIcon
      title={t('status.banner')}
      description={
        <Space orientation="vertical" size={2}>
          {unique.map((line) => (
            <span key={line}>{line}</span>
          ))}
        </Space>
      }
      style={{ marginBottom: 16 }}
    />
  );
}
