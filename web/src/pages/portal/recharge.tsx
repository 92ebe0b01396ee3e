import { AlipayOutlined, BankOutlined, CreditCardOutlined, WechatOutlined } from '@ant-design/icons';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { Alert, Button, Card, Col, Flex, Form, Input, Radio, Result, Row, Space, Tag, Typography } from 'antd';
import { type ReactNode, useState } from 'react';
import { Link, useSearchParams } from 'react-router';
import { client, unwrap } from '../../api/client';
import { ApiError } from '../../api/problem';
import { keys, useBalance, useServiceStatus } from '../../api/queries';
import type { PaymentMethod, Recharge, RechargeBody } from '../../api/types';
import { ErrorAlert, PageTitle } from '../../components/feedback';
import { expiryProblem, fenToYuanText, formatMoney, groupCardNumber, luhnValid, parseYuan } from '../../format';
import { useI18n } from '../../i18n/context';
import { newIdempotencyKey } from '../../session';

export const METHODS: PaymentMethod[] = ['bank_card', 'credit_card', 'alipay', 'wechat_pay'];
export const METHOD_ICONS: Record<PaymentMethod, ReactNode> = {
  bank_card: <BankOutlined />,
  credit_card: <CreditCardOutlined />,
  alipay: <AlipayOutlined />,
  wechat_pay: <WechatOutlined />,
};
const QUICK_AMOUNTS = [5000, 10000, 20000, 50000];
const isCard = (method: PaymentMethod) => method === 'bank_card' || method === 'credit_card';

interface Values {
  amount: string;
  method: PaymentMethod;
  card_number?: string;
  expiry?: string;
  verification_code?: string;
  holder_name?: string;
  payer_account?: string;
}

function toBody(values: Values): RechargeBody {
  const amount = parseYuan(values.amount) ?? 0;
  return {
    amount,
    currency: 'CNY',
    method: values.method,
    payment_method: isCard(values.method)
      ? {
          card_number: (values.card_number ?? '').replace(/\s+/g, ''),
          expiry: values.expiry ?? '',
          verification_code: values.verification_code ?? '',
          holder_name: values.holder_name ?? '',
        }
      : { payer_account: values.payer_account ?? '' },
  };
}

/** Next steps under a failure: retry, switch to a method that works now, or open a ticket. */
function NextSteps({
  retryable,
  alternatives,
  onRetry,
  onSwitch,
}: {
  retryable: boolean;
  alternatives: PaymentMethod[];
  onRetry: () => void;
  onSwitch: (method: PaymentMethod) => void;
}) {
  const { t } = useI18n();
  return (
    <Space wrap style={{ marginTop: 8 }} data-testid="next-steps">
      <Typography.Text type="secondary">{t('recharge.nextSteps')}</Typography.Text>
      {retryable ? (
        <Button size="small" type="primary" onClick={onRetry} data-testid="retry">
          {t('recharge.retry')}
        </Button>
      ) : null}
      {alternatives.map((method) => (
        <Button size="small" key={method} icon={METHOD_ICONS[method]} onClick={() => onSwitch(method)} data-testid={`use-${method}`}>
          {t('recharge.useOther', { method: t(`method.${method}`) })}
        </Button>
      ))}
      <Link to="/tickets" data-testid="open-ticket">
        <Button size="small">{t('recharge.openTicket')}</Button>
      </Link>
    </Space>
  );
}

function OrderOutcome({
  order,
  onRetry,
  onSwitch,
  onAgain,
}: {
  order: Recharge;
  onRetry: () => void;
  onSwitch: (method: PaymentMethod) => void;
  onAgain: () => void;
}) {
  const { t } = useI18n();
  const balance = useBalance();
  // A pending order (channel timeout) is resolved by the server: follow it until it settles.
  const live = useQuery({
    queryKey: keys.recharge(order.id),
    queryFn: () => unwrap(client.GET('/v1/recharges/{id}', { params: { path: { id: order.id } } })),
    initialData: order.status === 'pending' ? undefined : { ...order, attempts: [], refunds: [] },
    refetchInterval: (query) => (query.state.data?.status === 'pending' ? 3000 : false),
    enabled: order.status === 'pending',
  });
  const current: Recharge = live.data ?? order;
  const record = (
    <Link to={`/recharges/${current.id}`} key="record">
      <Button data-testid="view-record">{t('recharge.viewRecord')}</Button>
    </Link>
  );
  if (current.status === 'succeeded') {
    return (
      <Result
        status="success"
        data-testid="recharge-succeeded"
        title={t('recharge.succeeded')}
        subTitle={t('recharge.succeededDesc', {
          amount: formatMoney(current.amount),
          balance: balance.data ? formatMoney(balance.data.available) : '…',
        })}
        extra={[
          record,
          <Button type="primary" key="again" onClick={onAgain}>
            {t('recharge.again')}
          </Button>,
        ]}
      />
    );
  }
  if (current.status === 'pending') {
    return <Result status="info" data-testid="recharge-pending" title={t('recharge.pending')} subTitle={t('recharge.pendingDesc')} extra={[record]} />;
  }
  const failure = current.failure;
  return (
    <Alert
      type="error"
      showIcon
      data-testid="recharge-failed"
      data-code={failure?.code}
      title={`${t('recharge.failed')}${failure ? ` · ${failure.code}` : ''}`}
      description={
        <>
          <div data-testid="failure-message">{failure?.message ?? t('error.unexpected')}</div>
          <NextSteps retryable={failure?.retryable ?? false} alternatives={failure?.alternatives ?? []} onRetry={onRetry} onSwitch={onSwitch} />
          <div style={{ marginTop: 8 }}>{record}</div>
        </>
      }
    />
  );
}

export function RechargePage() {
  const { t } = useI18n();
  const [params] = useSearchParams();
  const queryClient = useQueryClient();
  const status = useServiceStatus();
  const [form] = Form.useForm<Values>();
  const initialAmount = Number(params.get('amount'));
  const initialMethod = (METHODS as string[]).includes(params.get('method') ?? '') ? (params.get('method') as PaymentMethod) : 'bank_card';
  const method = Form.useWatch('method', form) ?? initialMethod;
  const [order, setOrder] = useState<Recharge | null>(null);

  const submit = useMutation({
    mutationFn: (body: RechargeBody) =>
      unwrap(client.POST('/v1/recharges', { body, params: { header: { 'idempotency-key': newIdempotencyKey() } } })),
    onMutate: () => setOrder(null),
    onSuccess: (result) => {
      setOrder(result);
      void queryClient.invalidateQueries({ queryKey: keys.balance });
      void queryClient.invalidateQueries({ queryKey: keys.recharges });
    },
    onError: (error) => {
      // Field errors from the server land on their fields (payment_method.card_number → card_number).
      if (error instanceof ApiError && error.problem.errors) {
        form.setFields(
          error.problem.errors.map((e) => ({ name: (e.field.split('.').pop() ?? e.field) as keyof Values, errors: [e.message] })),
        );
      }
    },
  });

  const stateOf = (m: PaymentMethod) => status.data?.methods.find((s) => s.method === m)?.state ?? 'operational';
  const retry = () => submit.mutate(toBody(form.getFieldsValue(true)));
  const switchTo = (m: PaymentMethod) => {
    form.setFieldValue('method', m);
    setOrder(null);
    submit.reset();
  };
  const again = () => {
    setOrder(null);
    submit.reset();
    form.resetFields(['card_number', 'expiry', 'verification_code', 'payer_account']);
  };
  const problem = submit.error instanceof ApiError ? submit.error.problem : null;

  return (
    <>
      <PageTitle>{t('recharge.title')}</PageTitle>
      <Row gutter={[16, 16]}>
        <Col xs={24} lg={14}>
          <Card>
            <Form<Values>
              form={form}
              layout="vertical"
              requiredMark={false}
              initialValues={{ amount: initialAmount >= 100 ? fenToYuanText(initialAmount) : '100.00', method: initialMethod }}
              onFinish={(values) => submit.mutate(toBody(values))}
              data-testid="recharge-form"
            >
              <Form.Item
                name="amount"
                label={t('recharge.amount')}
                rules={[
                  { required: true, message: t('validation.required') },
                  {
                    validator: async (_rule, value: string) => {
                      if (!value) return;
                      const fen = parseYuan(value);
                      if (fen === null) throw new Error(t('recharge.amountInvalid'));
                      if (fen < 100) throw new Error(t('recharge.amountMin'));
                    },
                  },
                ]}
              >
                <Input prefix="¥" inputMode="decimal" data-testid="amount" />
              </Form.Item>
              <Space wrap style={{ marginTop: -12, marginBottom: 16 }}>
                {QUICK_AMOUNTS.map((fen) => (
                  <Button key={fen} size="small" onClick={() => form.setFieldValue('amount', fenToYuanText(fen))}>
                    {formatMoney(fen)}
                  </Button>
                ))}
              </Space>
              <Form.Item name="method" label={t('recharge.method')}>
                <Radio.Group optionType="button" buttonStyle="solid" data-testid="method">
                  {METHODS.map((m) => (
                    <Radio.Button key={m} value={m} data-testid={`method-${m}`}>
                      <Space size={4}>
                        {METHOD_ICONS[m]}
                        {t(`method.${m}`)}
                        {stateOf(m) !== 'operational' ? <Tag color="warning">{t(`mstate.${stateOf(m)}`)}</Tag> : null}
                      </Space>
                    </Radio.Button>
                  ))}
                </Radio.Group>
              </Form.Item>
              {isCard(method) ? (
                <>
                  <Form.Item
                    name="card_number"
                    label={t('recharge.cardNumber')}
                    normalize={(value: string) => groupCardNumber(value ?? '')}
                    rules={[
                      { required: true, message: t('validation.required') },
                      {
                        validator: async (_rule, value: string) => {
                          if (value && !luhnValid(value)) throw new Error(t('recharge.cardInvalid'));
                        },
                      },
                    ]}
                  >
                    <Input inputMode="numeric" autoComplete="cc-number" data-testid="card-number" placeholder="6222 0200 0000 0007" />
                  </Form.Item>
                  <Flex gap={12} wrap>
                    <Form.Item
                      name="expiry"
                      label={t('recharge.expiry')}
                      style={{ flex: '1 1 120px' }}
                      rules={[
                        { required: true, message: t('validation.required') },
                        {
                          validator: async (_rule, value: string) => {
                            if (!value) return;
                            const problemKind = expiryProblem(value);
                            if (problemKind === 'format') throw new Error(t('recharge.expiryInvalid'));
                            if (problemKind === 'expired') throw new Error(t('recharge.expired'));
                          },
                        },
                      ]}
                    >
                      <Input placeholder="MM/YY" autoComplete="cc-exp" maxLength={5} data-testid="expiry" />
                    </Form.Item>
                    <Form.Item
                      name="verification_code"
                      label={t('recharge.cvv')}
                      style={{ flex: '1 1 120px' }}
                      rules={[
                        { required: true, message: t('validation.required') },
                        { pattern: /^\d{3,4}$/, message: t('recharge.cvvInvalid') },
                      ]}
                    >
                      <Input.Password inputMode="numeric" autoComplete="cc-csc" maxLength={4} data-testid="cvv" />
                    </Form.Item>
                  </Flex>
                  <Form.Item name="holder_name" label={t('recharge.holder')} rules={[{ required: true, message: t('validation.required') }]}>
                    <Input autoComplete="cc-name" data-testid="holder" />
                  </Form.Item>
                </>
              ) : (
                <Form.Item
                  name="payer_account"
                  label={t('recharge.payer')}
                  extra={t('recharge.payerHelp')}
                  rules={[{ required: true, message: t('validation.required') }]}
                >
                  <Input data-testid="payer" />
                </Form.Item>
              )}
              <Button type="primary" htmlType="submit" size="large" block loading={submit.isPending} data-testid="recharge-submit">
                {t('recharge.submit')}
              </Button>
            </Form>
          </Card>
        </Col>
        <Col xs={24} lg={10}>
          {order ? <OrderOutcome order={order} onRetry={retry} onSwitch={switchTo} onAgain={again} /> : null}
          {problem ? (
            <Alert
              type="error"
              showIcon
              data-testid="recharge-refused"
              data-code={problem.code}
              title={t('recharge.refused')}
              description={
                <>
                  <div data-testid="failure-message">{problem.message}</div>
                  <NextSteps retryable={problem.retryable} alternatives={problem.alternatives ?? []} onRetry={retry} onSwitch={switchTo} />
                </>
              }
            />
          ) : submit.error ? (
            <ErrorAlert error={submit.error} />
          ) : null}
        </Col>
      </Row>
    </>
  );
}
