import { Button, Card, Flex, Form, Input, Typography } from 'antd';
import { useMutation } from '@tanstack/react-query';
import { Link, Navigate } from 'react-router';
import { client, unwrap } from '../api/client';
import { useAuth } from '../auth';
import { ErrorAlert } from '../components/feedback';
import { LanguageSwitch } from '../components/layout';
import { useI18n } from '../i18n/context';

function AuthFrame({ title, children }: { title: string; children: React.ReactNode }) {
  const { t } = useI18n();
  return (
    <Flex vertical align="center" justify="center" style={{ minHeight: '100vh', padding: 16, background: '#f5f7fa' }}>
      <Flex justify="flex-end" style={{ width: '100%', maxWidth: 400 }}>
        <LanguageSwitch />
      </Flex>
      <Card style={{ width: '100%', maxWidth: 400 }}>
        <Typography.Title level={3} style={{ marginTop: 0 }}>
          {t('app.name')}
        </Typography.Title>
        <Typography.Paragraph type="secondary">{t('app.tagline')}</Typography.Paragraph>
        <Typography.Title level={4}>{title}</Typography.Title>
        {children}
      </Card>
    </Flex>
  );
}

interface SignInValues {
  email: string;
  password: string;
}

export function SignInPage() {
  const { t } = useI18n();
  const auth = useAuth();
  const login = useMutation({
    mutationFn: (values: SignInValues) => unwrap(client.POST('/v1/auth/login', { body: values })),
    onSuccess: (result) => auth.signIn(result.token),
  });
  if (auth.token && auth.me) return <Navigate to={auth.isStaff ? '/staff' : '/'} replace />;
  return (
    <AuthFrame title={t('auth.signIn')}>
      <Form<SignInValues> layout="vertical" onFinish={(values) => login.mutate(values)} requiredMark={false}>
        <Form.Item name="email" label={t('auth.email')} rules={[{ required: true, message: t('validation.required') }]}>
          <Input autoComplete="email" data-testid="email" />
        </Form.Item>
        <Form.Item name="password" label={t('auth.password')} rules={[{ required: true, message: t('validation.required') }]}>
          <Input.Password autoComplete="current-password" data-testid="password" />
        </Form.Item>
        {login.error ? (
          <div style={{ marginBottom: 16 }}>
            <ErrorAlert error={login.error} />
          </div>
        ) : null}
        <Button type="primary" htmlType="submit" block loading={login.isPending} data-testid="submit">
          {t('auth.signIn')}
        </Button>
      </Form>
      <div style={{ marginTop: 16 }}>
        <Link to="/register">{t('auth.noAccount')}</Link>
      </div>
    </AuthFrame>
  );
}

interface SignUpValues {
  email: string;
  password: string;
  phone?: string;
  name?: string;
}

export function SignUpPage() {
  const { t, language } = useI18n();
  const auth = useAuth();
  const register = useMutation({
    mutationFn: (values: SignUpValues) =>
      unwrap(
        client.POST('/v1/auth/register', {
          body: {
            email: values.email,
            password: values.password,
            phone: values.phone ? values.phone : null,
            name: values.name ? values.name : null,
            locale: language,
          },
        }),
      ),
    onSuccess: (result) => auth.signIn(result.token),
  });
  if (auth.token && auth.me) return <Navigate to="/" replace />;
  return (
    <AuthFrame title={t('auth.signUp')}>
      <Form<SignUpValues> layout="vertical" onFinish={(values) => register.mutate(values)} requiredMark={false}>
        <Form.Item
          name="email"
          label={t('auth.email')}
          rules={[
            { required: true, message: t('validation.required') },
            { type: 'email', message: t('validation.email') },
          ]}
        >
          <Input autoComplete="email" data-testid="email" />
        </Form.Item>
        <Form.Item
          name="password"
          label={t('auth.password')}
          rules={[
            { required: true, message: t('validation.required') },
            { min: 8, message: t('validation.password') },
          ]}
        >
          <Input.Password autoComplete="new-password" data-testid="password" />
        </Form.Item>
        <Form.Item name="phone" label={t('auth.phone')} rules={[{ pattern: /^(\+[1-9]\d{6,14}|1[3-9]\d{9})$/, message: t('validation.phone') }]}>
          <Input autoComplete="tel" data-testid="phone" />
        </Form.Item>
        <Form.Item name="name" label={t('auth.name')}>
          <Input autoComplete="name" data-testid="name" />
        </Form.Item>
        {register.error ? (
          <div style={{ marginBottom: 16 }}>
            <ErrorAlert error={register.error} />
          </div>
        ) : null}
        <Button type="primary" htmlType="submit" block loading={register.isPending} data-testid="submit">
          {t('auth.signUp')}
        </Button>
      </Form>
      <div style={{ marginTop: 16 }}>
        <Link to="/login">{t('auth.haveAccount')}</Link>
      </div>
    </AuthFrame>
  );
}
