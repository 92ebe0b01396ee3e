import type { Language } from '../domain/errors.js';

/**
 * The system writes its timeline notes in English (the stored, audit-friendly form); customers
 * read them in their language. Each note the system writes has its Chinese rendering here;
 * staff-written notes are shown as written.
 */
const EXACT: Record<string, string> = {
  'Duplicate charge detected by the system; refunding to the original payment method': '系统检测到重复扣款,正在原路退回',
  'Payment arrived after the order had failed; refunding to the original payment method': '订单失败后渠道仍完成了扣款,正在原路退回',
  'The channel confirmed the refund': '支付渠道已确认退款,款项已退回',
  'Sent to the payment channel': '退款已提交至支付渠道',
  'Cancelled by the customer': '用户已撤销申请',
  'The channel confirmed your payment and the amount has now been credited to your balance; nothing needs refunding':
    '支付渠道确认已收款,金额现已充入您的账户余额,无需退款',
  'The channel confirmed it collected this payment without it reaching your balance; refunding automatically to the original payment method':
    '支付渠道确认已扣款但未到账,系统正在自动原路退回',
  'Customer service is reviewing your application': '客服正在审核您的申请',
  'Approved; the refund is being sent to your original payment method': '审核通过,退款正在退回原支付账户',
  'The review is taking longer than we promised; your application was escalated to a supervisor': '审核时间超过承诺时限,已升级至主管处理',
};

const PATTERNS: [RegExp, (m: RegExpExecArray) => string][] = [
  [
    /^The original payment method refused the refund \((.*)\); the amount was credited to your Topup balance instead$/,
    (m) => `原支付账户拒绝退款(${m[1] === 'payer account closed' ? '付款账户已注销' : m[1]}),金额已退回至您的充值账户余额`,
  ],
  [/^Escalated to a supervisor: (.*)$/s, (m) => `已升级至主管处理:${m[1]}`],
  [/^Escalated to management: (.*)$/s, (m) => `已升级至管理层处理:${m[1]}`],
  [/^Compensation of (¥[\d,.]+) credited to your balance: (.*)$/s, (m) => `补偿 ${m[1]} 已充入您的账户余额:${m[2]}`],
];

export function localizeNote(note: string | null, language: Language): string | null {
  if (note === null || language === 'en') return note;
  const exact = EXACT[note];
  if (exact) return exact;
  for (const [pattern, render] of PATTERNS) {
    const match = pattern.exec(note);
    if (match) return render(match);
  }
  return note;
}
