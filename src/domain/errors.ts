/**
 * The failure taxonomy: one closed table. Every code has an HTTP status, a retryable flag,
 * a short English title and a customer message in zh-CN and en that says what to do next.
 * A code missing any of these does not compile. Channel adapters map their own errors onto
 * these codes; nothing else invents codes.
 */
export type ErrorCode =
  /** Malformed or out-of-range input; nothing was changed. */
  | 'VALIDATION_FAILED'
  /** An upload whose content is not PNG, JPEG or PDF. */
  | 'FILE_TYPE_NOT_ALLOWED'
  /** An upload or request body over its size limit. */
  | 'FILE_TOO_LARGE'
  /** A mutating call marked (I) came without an Idempotency-Key header. */
  | 'IDEMPOTENCY_KEY_REQUIRED'
  /** The key was used before with a different request body. */
  | 'IDEMPOTENCY_KEY_REUSED'
  /** The first request with this key is still running. */
  | 'IDEMPOTENCY_KEY_IN_USE'
  /** Missing, unknown or expired token. */
  | 'UNAUTHENTICATED'
  /** A staff action above the caller's role. */
  | 'FORBIDDEN'
  /** No such object for this caller (also: another customer's object). */
  | 'NOT_FOUND'
  /** The action is not allowed in the object's current status. */
  | 'INVALID_STATE'
  /** Risk control: too many requests in a short time. */
  | 'RATE_LIMITED'
  /** The channel or the platform failed internally (系统繁忙). */
  | 'SYSTEM_BUSY'
  /** The channel did not answer in time and, once resolved, had collected nothing. */
  | 'CHANNEL_TIMEOUT'
  /** The payment method is under maintenance or the bank is upgrading its systems. */
  | 'CHANNEL_MAINTENANCE'
  | 'CARD_NUMBER_INVALID'
  | 'CARD_EXPIRED'
  | 'CARD_NOT_SUPPORTED'
  | 'VERIFICATION_CODE_INVALID'
  | 'ACCOUNT_INFO_INVALID'
  | 'INSUFFICIENT_FUNDS'
  | 'LIMIT_EXCEEDED'
  /** A purchase, debit or refund exceeds the Topup balance. */
  | 'INSUFFICIENT_BALANCE'
  /** Refund rules forbid it; `detail` says which rule. */
  | 'REFUND_NOT_ALLOWED';

export interface FailureEntry {
  status: number;
  retryable: boolean;
  title: string;
  zh: string;
  en: string;
}

export const FAILURES: Record<ErrorCode, FailureEntry> = {
  VALIDATION_FAILED: {
    status: 400,
    retryable: false,
    title: 'Validation failed',
    zh: '提交的信息有误,请检查标注的字段后重新提交。',
    en: 'Some of the information is not valid. Check the highlighted fields and submit again.',
  },
  FILE_TYPE_NOT_ALLOWED: {
    status: 415,
    retryable: false,
    title: 'File type not allowed',
    zh: '仅支持 PNG、JPEG 图片或 PDF 文件,请转换格式后重新上传。',
    en: 'Only PNG or JPEG images and PDF files are accepted. Convert the file and upload it again.',
  },
  FILE_TOO_LARGE: {
    status: 413,
    retryable: false,
    title: 'Too large',
    zh: '文件或请求内容过大(上限 5 MB),请压缩后重新上传。',
    en: 'The file or request is too large (5 MB at most). Make it smaller and try again.',
  },
  IDEMPOTENCY_KEY_REQUIRED: {
    status: 400,
    retryable: false,
    title: 'Idempotency-Key required',
    zh: '请求缺少 Idempotency-Key 请求头,请为每个操作生成唯一的键后重试。',
    en: 'This request needs an Idempotency-Key header. Send a unique key for each operation.',
  },
  IDEMPOTENCY_KEY_REUSED: {
    status: 422,
    retryable: false,
    title: 'Idempotency-Key reused',
    zh: '该 Idempotency-Key 已用于另一个不同的请求,请为新操作使用新的键。',
    en: 'This Idempotency-Key was already used for a different request. Use a new key for a new operation.',
  },
  IDEMPOTENCY_KEY_IN_USE: {
    status: 409,
    retryable: true,
    title: 'Idempotency-Key in use',
    zh: '相同的请求正在处理中,请稍候再查询结果,不要重复提交。',
    en: 'The same request is still being processed. Wait a moment and check the result instead of submitting again.',
  },
  UNAUTHENTICATED: {
    status: 401,
    retryable: false,
    title: 'Unauthenticated',
    zh: '登录已失效或未登录,请重新登录。',
    en: 'You are not signed in or your session has expired. Please sign in again.',
  },
  FORBIDDEN: {
    status: 403,
    retryable: false,
    title: 'Forbidden',
    zh: '您的账号无权执行此操作,请联系主管处理。',
    en: 'Your account is not allowed to do this. Ask a supervisor.',
  },
  NOT_FOUND: {
    status: 404,
    retryable: false,
    title: 'Not found',
    zh: '未找到相关记录,请核对后再试。',
    en: 'Nothing was found. Check the details and try again.',
  },
  INVALID_STATE: {
    status: 409,
    retryable: false,
    title: 'Invalid state',
    zh: '当前状态下不能执行此操作,请刷新页面查看最新状态。',
    en: 'This action is not possible in the current status. Refresh to see the latest status.',
  },
  RATE_LIMITED: {
    status: 429,
    retryable: true,
    title: 'Rate limited',
    zh: '操作过于频繁,已触发安全保护,请稍后再试。',
    en: 'Too many attempts in a short time triggered our safety checks. Please try again later.',
  },
  /** Also every unexpected fault of ours: the answer carries only the request id; details go to the log. */
  SYSTEM_BUSY: {
    status: 503,
    retryable: true,
    title: 'System busy',
    zh: '系统繁忙,请稍候再试。若问题持续存在,请通过开放平台工单反馈处理。',
    en: 'The system is busy. Please try again shortly. If this keeps happening, open a support ticket.',
  },
  CHANNEL_TIMEOUT: {
    status: 504,
    retryable: true,
    title: 'Channel timeout',
    zh: '支付渠道响应超时,本次未扣款。请检查网络连接后重试;若网络正常仍失败,请联系客服。',
    en: 'The payment channel did not answer in time and nothing was charged. Check your network and try again; if it still fails, contact support.',
  },
  CHANNEL_MAINTENANCE: {
    status: 503,
    retryable: true,
    title: 'Channel under maintenance',
    zh: '该支付方式正在维护或银行系统升级中,请稍后再试或改用其他支付方式。',
    en: 'This payment method is under maintenance or the bank is upgrading its systems. Try later or use another payment method.',
  },
  CARD_NUMBER_INVALID: {
    status: 422,
    retryable: false,
    title: 'Card number invalid',
    zh: '卡号有误,请核对银行卡号后重新输入。',
    en: 'The card number is not valid. Check the number and enter it again.',
  },
  CARD_EXPIRED: {
    status: 422,
    retryable: false,
    title: 'Card expired',
    zh: '该卡已过有效期,请更换其他银行卡。',
    en: 'This card has expired. Use another card.',
  },
  CARD_NOT_SUPPORTED: {
    status: 422,
    retryable: false,
    title: 'Card not supported',
    zh: '该卡种暂不支持在线充值,请更换其他银行卡或支付方式。',
    en: 'This type of card cannot be used for online recharge. Use another card or payment method.',
  },
  VERIFICATION_CODE_INVALID: {
    status: 422,
    retryable: false,
    title: 'Verification code invalid',
    zh: '验证码(CVV)有误,请核对后重新输入。',
    en: 'The verification code (CVV) is wrong. Check it and enter it again.',
  },
  ACCOUNT_INFO_INVALID: {
    status: 422,
    retryable: false,
    title: 'Account information invalid',
    zh: '付款账户信息有误,请核对账户名等信息后重试。',
    en: 'The payer account details are wrong. Check them and try again.',
  },
  INSUFFICIENT_FUNDS: {
    status: 422,
    retryable: false,
    title: 'Insufficient funds',
    zh: '付款账户余额不足,请充值付款账户或更换支付方式。',
    en: 'The paying account does not have enough funds. Top it up or use another payment method.',
  },
  LIMIT_EXCEEDED: {
    status: 422,
    retryable: false,
    title: 'Limit exceeded',
    zh: '超出支付限额(单笔、单日或渠道限额),请减少金额、次日再试或更换支付方式。',
    en: 'This exceeds a payment limit (per transaction, daily or channel). Lower the amount, try tomorrow or use another method.',
  },
  INSUFFICIENT_BALANCE: {
    status: 422,
    retryable: false,
    title: 'Insufficient balance',
    zh: '账户余额不足,请先充值。',
    en: 'Your balance is not enough. Please recharge first.',
  },
  REFUND_NOT_ALLOWED: {
    status: 422,
    retryable: false,
    title: 'Refund not allowed',
    zh: '该退款申请不符合退款规则,详情见说明;如有疑问请提交工单。',
    en: 'This refund is not allowed by the refund rules (see the details). Open a ticket if you have questions.',
  },
};

export const ERROR_CODES = Object.keys(FAILURES) as ErrorCode[];

export type Language = 'zh-CN' | 'en';

export function customerMessage(code: ErrorCode, language: Language): string {
  const entry = FAILURES[code];
  return language === 'en' ? entry.en : entry.zh;
}

export interface FieldError {
  field: string;
  message: string;
}

/**
 * An expected failure with a taxonomy code. `detail` is for the caller (safe to show), never
 * internal state; internal context goes to the log through `cause`.
 */
export class AppError extends Error {
  constructor(
    readonly code: ErrorCode,
    readonly detail?: string,
    readonly extra: { errors?: FieldError[]; retryAfterSeconds?: number; [key: string]: unknown } = {},
  ) {
    super(detail ?? code);
    this.name = 'AppError';
  }

  get status(): number {
    return FAILURES[this.code].status;
  }
}

export function isAppError(error: unknown): error is AppError {
  return error instanceof AppError;
}
