import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { localizeNote } from './timeline-notes.js';

describe('timeline notes in the customer’s language', () => {
  it('renders every fixed system note in Chinese and leaves English as stored', () => {
    // Every literal note the refund code writes must have a Chinese rendering.
    const dir = path.dirname(new URL(import.meta.url).pathname);
    const sources = [
      'payout-refund.ts',
      'customer-actions.ts',
      'adopt-application.ts',
      'review-refund.ts',
      'refund-sla.ts',
      'create-automatic-refund.ts',
    ]
      .map((f) => fs.readFileSync(path.join(dir, f), 'utf8'))
      .join('\n');
    const literals = [...sources.matchAll(/note:\s*'([^']+)'/g), ...sources.matchAll(/\?\s*'([^']+)'\s*\n?\s*:\s*'([^']+)'/g)]
      .flatMap((m) => m.slice(1))
      .filter((s): s is string => typeof s === 'string' && /^[A-Z]/.test(s) && s.length > 20);
    expect(literals.length).toBeGreaterThanOrEqual(8);
    for (const note of literals) {
      const zh = localizeNote(note, 'zh-CN');
      expect(zh, note).not.toBe(note);
      expect(localizeNote(note, 'en')).toBe(note);
    }
  });

  it('renders notes with details', () => {
    expect(localizeNote('Duplicate charge detected by the system; refunding to the original payment method', 'zh-CN')).toContain(
      '重复扣款',
    );
    expect(localizeNote('Payment arrived after the order had failed; refunding to the original payment method', 'zh-CN')).toContain(
      '订单失败',
    );
    expect(
      localizeNote(
        'The original payment method refused the refund (payer account closed); the amount was credited to your Topup balance instead',
        'zh-CN',
      ),
    ).toContain('付款账户已注销');
    expect(localizeNote('Compensation of ¥20.00 credited to your balance: channel outage', 'zh-CN')).toBe(
      '补偿 ¥20.00 已充入您的账户余额:channel outage',
    );
    expect(localizeNote('Escalated to a supervisor: 金额较大', 'zh-CN')).toBe('已升级至主管处理:金额较大');
    expect(localizeNote('请提供支付截图', 'zh-CN')).toBe('请提供支付截图');
    expect(localizeNote(null, 'zh-CN')).toBeNull();
  });
});
