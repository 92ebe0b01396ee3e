import { useMutation } from '@tanstack/react-query';
import { App, Button, Card, Form, Input, Select } from 'antd';
import { client, unwrap } from '../../api/client';
import type { StaffRole } from '../../api/types';
import { ErrorAlert, PageTitle } from '../../components/feedback';
import { useI18n } from '../../i18n/context';

const ROLES: StaffRole[] = ['cs_agent', 'cs_supervisor', 'finance', 'admin'];

interface Values {
  email: string;
  password: string;
  role: StaffRole;
}

/** Admins create staff accounts (`POST /v1/admin/staff`). */
export function AccountsPage() {
  const { t } = useI18n();
  const { message } = App.useApp();
  const [form] = Form.useForm<Values>();
  const create = useMutation({
    mutationFn: (values: Values) => unwrap(client.POST('/v1/admin/staff', { body: values })),
    onSuccess: (user) => {
      void message.success(t('accounts.created', { email: user.email }));
      form.resetFields();
    },
  });
  return (
    <>
      <PageTitle>{t('accounts.title')}</PageTitle>
      <Card title={t('accounts.create')} style={{ maxWidth: 520 }}>
        <Form<Values> form={form} layout="vertical" initialValues={{ role: 'cs_agent' }} onFinish={(values) => create.mutate(values)}>
          <Form.Item
            name="email"
            label={t('auth.email')}
            rules={[
              { required: true, message: t('validation.required') },
              { type: 'email', message: t('validation.email') },
            ]}
          >
            <Input />
          </Form.Item>
          <Form.Item
            name="password"
            label={t('auth.password')}
            rules={[
              { required: true, message: t('validation.required') },
              { min: 8, message: t('validation.password') },
            ]}
          >
            <Input.Password autoComplete="new-password" />
          </Form.Item>
          <Form.Item name="role" label={t('accounts.role')}>
            <Select options={ROLES.map((r) => ({ value: r, label: t(`role.${r}`) }))} />
          </Form.Item>
          {create.error ? (
            <div style={{ marginBottom: 16 }}>
              <ErrorAlert error={create.error} />
            </div>
          ) : null}
          <Button type="primary" htmlType="submit" loading={create.isPending}>
            {t('accounts.create')}
          </Button>
        </Form>
      </Card>
    </>
  );
}
