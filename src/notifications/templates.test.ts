import { describe, expect, it } from 'vitest';
import { CONTRACT_EVENTS, type EventType } from '../events/emit-event.js';
import { ALWAYS_SENT, render, TEMPLATES, templateParams } from './templates.js';

const SAMPLE: Record<string, unknown> = {
  refund_id: 'rfd_1',
  recharge_id: 'rch_1',
  ticket_id: 'tkt_1',
  subject: '充值未到账',
  amount: 123_456,
  available: 4_000,
  threshold: 5_000,
  method: 'bank_card',
  code: 'INSUFFICIENT_FUNDS',
  message: 'Please upload your bank statement',
  reason: 'payer account closed',
  destination: 'original',
  url: 'https://hooks.example.com/topup',
  sla_due_at: '2026-11-26T06:30:00.000Z',
};

describe('templates', () => {
  it('cover every contract event (and the service notice) in zh-CN and en, with title, body and ¥ amounts', () => {
    const types = Object.keys(TEMPLATES) as EventType[];
    expect(types.sort()).toEqual([...CONTRACT_EVENTS, 'webhook_endpoint.disabled'].sort());
    for (const type of types) {
      for (const language of ['zh-CN', 'en'] as const) {
        const { title, body } = render(type, SAMPLE, language);
        expect(title.length, `${type} ${language}`).toBeGreaterThan(3);
        expect(body.length, `${type} ${language}`).toBeGreaterThan(20);
        expect(`${title}${body}`).not.toMatch(/undefined|null|NaN|\[object/);
        if (language === 'en') expect(body, type).not.toMatch(/[的您请]/);
      }
    }
    expect(render('recharge.succeeded', SAMPLE, 'zh-CN').title).toBe('充值成功:¥1,234.56已到账');
    expect(render('balance.low', SAMPLE, 'en').body).toContain('¥40.00, below the reminder threshold of ¥50.00');
    expect(render('refund.submitted', SAMPLE, 'zh-CN').body).toContain('2026-11-26 14:30(北京时间)');
  });

  it('say what to do next: the failure’s customer message, where refunded money went', () => {
    expect(render('recharge.failed', SAMPLE, 'zh-CN').body).toContain('付款账户余额不足,请充值付款账户或更换支付方式。');
    expect(render('recharge.failed', SAMPLE, 'en').body).toContain('Top it up or use another payment method.');
    const fallback = render('refund.failed', { ...SAMPLE, fallback: 'balance' }, 'zh-CN');
    expect(fallback.title).toBe('退款已转入充值账户余额:¥1,234.56');
    expect(fallback.body).toContain('已转入您的 Topup 充值账户余额');
    expect(render('refund.failed', { ...SAMPLE, fallback: 'balance' }, 'en').body).toContain('went to your Topup balance instead');
    expect(render('refund.failed', SAMPLE, 'en').body).toContain('Customer service will handle it by hand');
    expect(render('refund.approved', { ...SAMPLE, automatic: true, reason: 'duplicate_charge' }, 'en').body).toContain('duplicate charge');
    expect(render('refund.info_requested', { ...SAMPLE, message: '请上传银行流水截图' }, 'zh-CN').body).toContain(
      '需要更多信息:请上传银行流水截图。请在「我的退款」中回复',
    );
    expect(render('refund.info_requested', SAMPLE, 'en').body).toContain(
      'refund: Please upload your bank statement. Reply under My refunds',
    );
  });

  it('survive missing data (events from other capabilities may carry less)', () => {
    for (const type of Object.keys(TEMPLATES) as EventType[]) {
      for (const language of ['zh-CN', 'en'] as const) {
        const { title, body } = render(type, {}, language);
        expect(`${title}${body}`, type).not.toMatch(/undefined|null|NaN/);
      }
    }
  });

  it('mark refund outcomes as always sent, SMS only where the contract says', () => {
    expect(ALWAYS_SENT.filter((t) => TEMPLATES[t].group !== null)).toEqual([
      'refund.approved',
      'refund.rejected',
      'refund.succeeded',
      'refund.failed',
    ]);
    const sms = (Object.keys(TEMPLATES) as EventType[]).filter((t) => TEMPLATES[t].sms).sort();
    expect(sms).toEqual(['balance.low', 'recharge.failed', 'refund.approved', 'refund.failed', 'refund.rejected', 'refund.succeeded']);
    expect(templateParams(SAMPLE)).toMatchObject({ amount: '¥1,234.56', available: '¥40.00', threshold: '¥50.00', refund_id: 'rfd_1' });
  });
});
