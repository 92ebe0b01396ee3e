import type { CallResult, HttpClient } from './http-client.js';

export const CARDS = {
  bank: '6222020000000007',
  visa: '4111111111111111',
  mastercard: '5555555555554444',
  jcb: '3530111333300000',
  amex: '378282246310005',
  badChecksum: '6222020000000001',
};

export function card(number: string, overrides: Partial<{ expiry: string; verification_code: string }> = {}) {
  return { card_number: number, expiry: '12/39', verification_code: '123', holder_name: '张三', ...overrides };
}

export type Method = 'bank_card' | 'credit_card' | 'alipay' | 'wechat_pay';

export async function recharge(
  http: HttpClient,
  token: string,
  amount: number,
  method: Method = 'bank_card',
  paymentMethod?: Record<string, unknown>,
  options: { key?: string | true; language?: string } = {},
): Promise<CallResult> {
  const pm =
    paymentMethod ??
    (method === 'bank_card' ? card(CARDS.bank) : method === 'credit_card' ? card(CARDS.visa) : { payer_account: 'buyer@example.com' });
  return http.post('/v1/recharges', { amount, currency: 'CNY', method, payment_method: pm }, { token, key: options.key ?? true, language: options.language });
}

/** Polls until `check` passes (async channel notifications travel over real HTTP). */
export async function eventually<T>(read: () => Promise<T>, check: (value: T) => boolean, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (check(value)) return value;
    if (Date.now() > deadline) throw new Error(`condition not met in ${timeoutMs} ms; last value: ${JSON.stringify(value)}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
