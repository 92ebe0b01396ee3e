import type { PaymentMethod } from '../channels/payment-channel.js';
import { customerMessage, ERROR_CODES, type ErrorCode, type Language } from '../domain/errors.js';
import { formatFen } from '../domain/money.js';
import type { EventType } from '../events/emit-event.js';
import { methodName } from '../recharges/recharge.repo.js';

/** Preference groups: a customer turns email or SMS on or off per group (in-app is always on). */
export const EVENT_GROUPS = ['recharges', 'refunds', 'balance', 'tickets'] as const;
export type EventGroup = (typeof EVENT_GROUPS)[number];

export const CHANNELS = ['in_app', 'email', 'sms'] as const;
export type Channel = (typeof CHANNELS)[number];
/** The channels a preference can switch. */
export const OPTIONAL_CHANNELS = ['email', 'sms'] as const;
export type OptionalChannel = (typeof OPTIONAL_CHANNELS)[number];

export interface Rendered {
  title: string;
  body: string;
}

/** What a template reads from the event's `data`, tolerant of missing fields. */
export class EventData {
  constructor(private readonly data: Record<string, unknown>) {}

  text(key: string): string | null {
    const value = this.data[key];
    return typeof value === 'string' && value !== '' ? value : null;
  }

  /** Free text for the middle of a sentence: trailing punctuation dropped. */
  phrase(key: string): string | null {
    return this.text(key)?.replace(/[\s.。!!??]+$/u, '') ?? null;
  }

  /** An amount in fen, formatted the way customers read it (`¥1,234.56`). */
  money(key = 'amount'): string | null {
    const value = this.data[key];
    return typeof value === 'number' && Number.isSafeInteger(value) ? formatFen(value) : null;
  }

  /** A timestamp as customers in China read it: `2026-11-26 14:30` (Beijing time, UTC+8). */
  beijingTime(key: string): string | null {
    const value = this.text(key);
    const ms = value ? Date.parse(value) : Number.NaN;
    if (Number.isNaN(ms)) return null;
    return new Date(ms + 8 * 3600_000).toISOString().slice(0, 16).replace('T', ' ');
  }

  flag(key: string): boolean {
    return this.data[key] === true;
  }

  method(language: Language): string | null {
    const method = this.text('method');
    return method && ['bank_card', 'credit_card', 'alipay', 'wechat_pay'].includes(method)
      ? methodName(method as PaymentMethod, language)
      : null;
  }

  /** The taxonomy's customer message (with its next step) for the event's failure code. */
  failure(language: Language): string | null {
    const code = this.text('code');
    return code && (ERROR_CODES as readonly string[]).includes(code) ? customerMessage(code as ErrorCode, language) : null;
  }
}

export interface Template {
  /** The preference group; null for service notices nobody can turn off. */
  group: EventGroup | null;
  /** Goes by SMS too when a phone is on file (the contract: `recharge.failed`, refund outcomes, `balance.low`). */
  sms: boolean;
  /** Sent by email (and SMS) whatever the preferences say: refund outcomes. */
  alwaysSent: boolean;
  'zh-CN': (d: EventData) => Rendered;
  en: (d: EventData) => Rendered;
}

const amountOr = (d: EventData, zh: boolean) => d.money() ?? (zh ? '相应款项' : 'the amount');
const refundNo = (d: EventData, zh: boolean) => {
  const id = d.text('refund_id');
  return id ? (zh ? `退款单号 ${id}。` : ` Refund ${id}.`) : '';
};
const orderNo = (d: EventData, zh: boolean) => {
  const id = d.text('recharge_id');
  return id ? (zh ? `订单号 ${id}。` : ` Order ${id}.`) : '';
};
/** Free text from staff (a question, a reason) closed as a sentence in the message's language. */
const quoted = (text: string | null, zh: boolean) => {
  if (!text) return zh ? '。' : '.';
  const closed = /[.!?。!?]$/.test(text) ? text : `${text}${zh ? '。' : '.'}`;
  return zh ? `:${closed}` : `: ${closed}`;
};
const ticketName = (d: EventData, zh: boolean) => {
  const subject = d.text('subject');
  const id = d.text('ticket_id');
  if (subject) return zh ? `「${subject}」` : `"${subject}"`;
  return id ?? '';
};

/**
 * One entry per event: what the customer is told, in zh-CN and en, each saying what happened
 * and what to do next. Adding an event (refund review, tickets) is adding its entry here; the
 * Record type makes a missing entry a compile error.
 */
export const TEMPLATES: Record<EventType, Template> = {
  'recharge.succeeded': {
    group: 'recharges',
    sms: false,
    alwaysSent: false,
    'zh-CN': (d) => ({
      title: `充值成功:${amountOr(d, true)}已到账`,
      body: `您${d.method('zh-CN') ? `通过${d.method('zh-CN')}` : ''}充值的 ${amountOr(d, true)} 已到账充值账户余额,可立即用于 API 服务。可在「我的充值」查看记录。${orderNo(d, true)}`,
    }),
    en: (d) => ({
      title: `Recharge of ${amountOr(d, false)} succeeded`,
      body: `Your recharge of ${amountOr(d, false)}${d.method('en') ? ` by ${d.method('en')}` : ''} has been credited to your Topup balance and is ready to use. See My recharges for the record.${orderNo(d, false)}`,
    }),
  },
  'recharge.failed': {
    group: 'recharges',
    sms: true,
    alwaysSent: false,
    'zh-CN': (d) => ({
      title: `充值未成功:${amountOr(d, true)}`,
      body: `您${d.method('zh-CN') ? `通过${d.method('zh-CN')}` : ''}充值的 ${amountOr(d, true)} 未成功,余额未变动。${d.failure('zh-CN') ?? '请稍后重试或更换支付方式。'}如已扣款,款项将自动退回原支付方式,无需另行申请。${orderNo(d, true)}`,
    }),
    en: (d) => ({
      title: `Recharge of ${amountOr(d, false)} failed`,
      body: `Your recharge of ${amountOr(d, false)}${d.method('en') ? ` by ${d.method('en')}` : ''} did not go through and your balance is unchanged. ${d.failure('en') ?? 'Try again later or use another payment method.'} If you were charged, the money goes back to your payment method automatically; there is nothing to apply for.${orderNo(d, false)}`,
    }),
  },
  'refund.submitted': {
    group: 'refunds',
    sms: false,
    alwaysSent: false,
    'zh-CN': (d) => ({
      title: '退款申请已提交',
      body: `我们已收到您 ${amountOr(d, true)} 的退款申请,客服将${d.beijingTime('sla_due_at') ? `在 ${d.beijingTime('sla_due_at')}(北京时间)前` : '尽快'}完成审核,审核进度会及时通知您。可在「我的退款」查看进度。${refundNo(d, true)}`,
    }),
    en: (d) => ({
      title: 'Refund application received',
      body: `We received your application for a refund of ${amountOr(d, false)}. Customer service will decide ${d.beijingTime('sla_due_at') ? `by ${d.beijingTime('sla_due_at')} (Beijing time)` : 'shortly'} and we will tell you how it goes; follow it under My refunds.${refundNo(d, false)}`,
    }),
  },
  'refund.info_requested': {
    group: 'refunds',
    sms: false,
    alwaysSent: false,
    'zh-CN': (d) => ({
      title: '退款申请需要补充信息',
      body: `客服审核您的退款申请时需要更多信息${quoted(d.text('message'), true)}请在「我的退款」中回复并上传凭证,补充后我们会继续审核。${refundNo(d, true)}`,
    }),
    en: (d) => ({
      title: 'More information needed for your refund',
      body: `Customer service needs more information to review your refund${quoted(d.text('message'), false)} Reply under My refunds and attach your evidence; the review continues once you do.${refundNo(d, false)}`,
    }),
  },
  'refund.approved': {
    group: 'refunds',
    sms: true,
    alwaysSent: true,
    'zh-CN': (d) => {
      const where = d.text('destination') === 'balance' ? '充值账户余额' : '原支付方式';
      const why =
        d.text('reason') === 'duplicate_charge'
          ? '系统发现一笔重复扣款,'
          : d.text('reason') === 'charged_but_failed'
            ? '系统发现一笔订单失败后仍被扣款的款项,'
            : '';
      return {
        title: `退款已批准:${amountOr(d, true)}`,
        body: d.flag('automatic')
          ? `${why}${amountOr(d, true)} 将自动退回${where},无需您操作。到账后我们会再次通知您。${refundNo(d, true)}`
          : `您的退款申请已通过,${amountOr(d, true)} 将退回${where}。到账后我们会再次通知您。${refundNo(d, true)}`,
      };
    },
    en: (d) => {
      const where = d.text('destination') === 'balance' ? 'your Topup balance' : 'your original payment method';
      const why =
        d.text('reason') === 'duplicate_charge'
          ? 'We found a duplicate charge: '
          : d.text('reason') === 'charged_but_failed'
            ? 'We found money collected for an order that had failed: '
            : '';
      return {
        title: `Refund of ${amountOr(d, false)} approved`,
        body: d.flag('automatic')
          ? `${why}${amountOr(d, false)} is being returned to ${where} automatically; you need to do nothing. We will tell you when it arrives.${refundNo(d, false)}`
          : `Your refund application was approved: ${amountOr(d, false)} is being returned to ${where}. We will tell you when it arrives.${refundNo(d, false)}`,
      };
    },
  },
  'refund.rejected': {
    group: 'refunds',
    sms: true,
    alwaysSent: true,
    'zh-CN': (d) => ({
      title: '退款申请未通过',
      body: `很抱歉,您 ${amountOr(d, true)} 的退款申请未通过${d.text('reason') ? `,原因:${d.phrase('reason')}` : ''}。如有疑问,可提交工单说明情况,我们会再次核实。${refundNo(d, true)}`,
    }),
    en: (d) => ({
      title: 'Refund application declined',
      body: `We are sorry: your application for a refund of ${amountOr(d, false)} was declined${d.text('reason') ? ` (${d.phrase('reason')})` : ''}. If you disagree, open a ticket and we will look at it again.${refundNo(d, false)}`,
    }),
  },
  'refund.succeeded': {
    group: 'refunds',
    sms: true,
    alwaysSent: true,
    'zh-CN': (d) => ({
      title: `退款成功:${amountOr(d, true)}`,
      body: `${amountOr(d, true)} 已退回${d.text('destination') === 'balance' ? '您的充值账户余额' : '原支付方式,具体到账时间以银行或支付机构为准'},请注意查收。${refundNo(d, true)}`,
    }),
    en: (d) => ({
      title: `Refund of ${amountOr(d, false)} completed`,
      body: `${amountOr(d, false)} has been returned to ${d.text('destination') === 'balance' ? 'your Topup balance' : 'your original payment method (your bank or wallet may take a little while to show it)'}.${refundNo(d, false)}`,
    }),
  },
  'refund.failed': {
    group: 'refunds',
    sms: true,
    alwaysSent: true,
    'zh-CN': (d) =>
      d.text('fallback') === 'balance'
        ? {
            title: `退款已转入充值账户余额:${amountOr(d, true)}`,
            body: `原支付方式无法接收退款${d.text('reason') ? `(${d.phrase('reason')})` : ''},${amountOr(d, true)} 已转入您的 Topup 充值账户余额,可直接使用。如需退回其他账户,请提交工单。${refundNo(d, true)}`,
          }
        : {
            title: `退款未成功:${amountOr(d, true)}`,
            body: `${amountOr(d, true)} 退回原支付方式未成功${d.text('reason') ? `(${d.phrase('reason')})` : ''}。客服将人工处理并与您联系,款项不会丢失,无需重复申请。${refundNo(d, true)}`,
          },
    en: (d) =>
      d.text('fallback') === 'balance'
        ? {
            title: `Refund of ${amountOr(d, false)} credited to your Topup balance`,
            body: `Your original payment method could not take the refund${d.text('reason') ? ` (${d.phrase('reason')})` : ''}, so ${amountOr(d, false)} went to your Topup balance instead, ready to use. Open a ticket if you need it paid to another account.${refundNo(d, false)}`,
          }
        : {
            title: `Refund of ${amountOr(d, false)} failed`,
            body: `Returning ${amountOr(d, false)} to your original payment method failed${d.text('reason') ? ` (${d.phrase('reason')})` : ''}. Customer service will handle it by hand and contact you; the money is safe and you need not apply again.${refundNo(d, false)}`,
          },
  },
  'balance.low': {
    group: 'balance',
    sms: true,
    alwaysSent: false,
    'zh-CN': (d) => ({
      title: '余额不足提醒',
      body: `您的充值账户余额为 ${d.money('available') ?? '—'}${d.money('threshold') ? `,已低于您设置的提醒金额 ${d.money('threshold')}` : ''}。为免 API 服务中断,请及时充值,或开启自动充值。`,
    }),
    en: (d) => ({
      title: 'Your balance is running low',
      body: `Your Topup balance is ${d.money('available') ?? '—'}${d.money('threshold') ? `, below the reminder threshold of ${d.money('threshold')} you set` : ''}. Recharge soon, or turn on auto-recharge, so your API service is not interrupted.`,
    }),
  },
  'auto_recharge.failed': {
    group: 'balance',
    sms: false,
    alwaysSent: false,
    'zh-CN': (d) => ({
      title: '自动充值未成功',
      body: `自动充值${d.money() ? ` ${d.money()} ` : ''}未成功,余额未增加。${d.failure('zh-CN') ?? (d.text('reason') ? `原因:${d.phrase('reason')}。` : '')}请检查自动充值所用的支付方式,或手动充值,以免余额不足影响服务。`,
    }),
    en: (d) => ({
      title: 'Auto-recharge failed',
      body: `Your auto-recharge${d.money() ? ` of ${d.money()}` : ''} did not go through and your balance did not grow. ${d.failure('en') ?? (d.text('reason') ? `Reason: ${d.phrase('reason')}.` : '')} Check the payment method auto-recharge uses, or recharge by hand, so a low balance does not interrupt your service.`,
    }),
  },
  'ticket.replied': {
    group: 'tickets',
    sms: false,
    alwaysSent: false,
    'zh-CN': (d) => ({
      title: '您的工单有新回复',
      body: `客服已回复您的工单 ${ticketName(d, true)},请登录查看;如问题尚未解决,可直接在工单中继续回复。`,
    }),
    en: (d) => ({
      title: 'New reply to your ticket',
      body: `Customer service replied to your ticket ${ticketName(d, false)}. Sign in to read it; if the problem is not solved yet, reply in the ticket.`,
    }),
  },
  'ticket.resolved': {
    group: 'tickets',
    sms: false,
    alwaysSent: false,
    'zh-CN': (d) => ({
      title: '您的工单已解决',
      body: `您的工单 ${ticketName(d, true)} 已标记为解决。如仍有问题,可在工单中继续回复;也欢迎为本次服务评分。`,
    }),
    en: (d) => ({
      title: 'Your ticket was resolved',
      body: `Your ticket ${ticketName(d, false)} was marked resolved. If anything is still wrong, reply in the ticket; you can also rate the help you got.`,
    }),
  },
  'webhook_endpoint.disabled': {
    group: null,
    sms: false,
    alwaysSent: true,
    'zh-CN': (d) => ({
      title: 'Webhook 端点已停用',
      body: `您的 Webhook 端点 ${d.text('url') ?? ''} 因持续投递失败已被自动停用${d.text('reason') ? `(${d.phrase('reason')})` : ''}。请检查接收服务后,在开发者设置中重新启用;停用期间的事件不会补发。`,
    }),
    en: (d) => ({
      title: 'Webhook endpoint disabled',
      body: `Your webhook endpoint ${d.text('url') ?? ''} was disabled automatically after sustained delivery failures${d.text('reason') ? ` (${d.phrase('reason')})` : ''}. Fix the receiver, then enable it again in your developer settings; events from while it was off are not re-sent.`,
    }),
  },
};

export function languageOf(locale: string | null | undefined): Language {
  return locale === 'en' ? 'en' : 'zh-CN';
}

export function isKnownEvent(type: string): type is EventType {
  return Object.hasOwn(TEMPLATES, type);
}

/** Renders an event for a customer, at send time, in their language. */
export function render(type: EventType, data: Record<string, unknown>, language: Language): Rendered {
  return TEMPLATES[type][language](new EventData(data));
}

/** Events sent by email and SMS whatever the preferences say. */
export const ALWAYS_SENT: EventType[] = (Object.keys(TEMPLATES) as EventType[]).filter((t) => TEMPLATES[t].alwaysSent);

/** Template values a provider with pre-approved templates (Alibaba Cloud SMS) fills in. */
export function templateParams(data: Record<string, unknown>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const key of ['amount', 'available', 'threshold']) {
    const value = data[key];
    if (typeof value === 'number' && Number.isSafeInteger(value)) out[key] = formatFen(value);
  }
  for (const key of ['recharge_id', 'refund_id', 'ticket_id', 'code']) {
    const value = data[key];
    if (typeof value === 'string' && value !== '') out[key] = value;
  }
  return out;
}
