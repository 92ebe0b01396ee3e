import { describe, expect, it } from 'vitest';
import { AppError, customerMessage, ERROR_CODES, type ErrorCode, FAILURES, isAppError } from './errors.js';

/** The "Error codes" table of contract.md, copied verbatim: status and retryable per code. */
const CONTRACT: Record<string, { status: number; retryable: boolean }> = {
  VALIDATION_FAILED: { status: 400, retryable: false },
  FILE_TYPE_NOT_ALLOWED: { status: 415, retryable: false },
  FILE_TOO_LARGE: { status: 413, retryable: false },
  IDEMPOTENCY_KEY_REQUIRED: { status: 400, retryable: false },
  IDEMPOTENCY_KEY_REUSED: { status: 422, retryable: false },
  IDEMPOTENCY_KEY_IN_USE: { status: 409, retryable: true },
  UNAUTHENTICATED: { status: 401, retryable: false },
  FORBIDDEN: { status: 403, retryable: false },
  NOT_FOUND: { status: 404, retryable: false },
  INVALID_STATE: { status: 409, retryable: false },
  RATE_LIMITED: { status: 429, retryable: true },
  SYSTEM_BUSY: { status: 503, retryable: true },
  CHANNEL_TIMEOUT: { status: 504, retryable: true },
  CHANNEL_MAINTENANCE: { status: 503, retryable: true },
  CARD_NUMBER_INVALID: { status: 422, retryable: false },
  CARD_EXPIRED: { status: 422, retryable: false },
  CARD_NOT_SUPPORTED: { status: 422, retryable: false },
  VERIFICATION_CODE_INVALID: { status: 422, retryable: false },
  ACCOUNT_INFO_INVALID: { status: 422, retryable: false },
  INSUFFICIENT_FUNDS: { status: 422, retryable: false },
  LIMIT_EXCEEDED: { status: 422, retryable: false },
  INSUFFICIENT_BALANCE: { status: 422, retryable: false },
  REFUND_NOT_ALLOWED: { status: 422, retryable: false },
};

describe('the failure taxonomy', () => {
  it.each(Object.entries(CONTRACT))('%s has the contract status and retryable flag', (code, expected) => {
    const entry = FAILURES[code as ErrorCode];
    expect(entry, `${code} missing from FAILURES`).toBeDefined();
    expect({ status: entry.status, retryable: entry.retryable }).toEqual(expected);
  });

  it('holds no code the contract does not list', () => {
    const extra = ERROR_CODES.filter((code) => !(code in CONTRACT));
    expect(extra).toEqual([]);
  });

  it.each(ERROR_CODES)('%s has a title and non-empty zh and en customer messages', (code) => {
    const entry = FAILURES[code];
    expect(entry.title.trim()).not.toBe('');
    expect(entry.zh.trim()).not.toBe('');
    expect(entry.en.trim()).not.toBe('');
    // The Chinese text is Chinese and the English text is not.
    expect(entry.zh).toMatch(/[\u4e00-\u9fff]/);
    expect(entry.en).not.toMatch(/[\u4e00-\u9fff]/);
    expect(customerMessage(code, 'zh-CN')).toBe(entry.zh);
    expect(customerMessage(code, 'en')).toBe(entry.en);
  });

  it('SYSTEM_BUSY tells the customer the wording they expect', () => {
    expect(FAILURES.SYSTEM_BUSY.zh).toContain('系统繁忙,请稍候再试');
    expect(FAILURES.SYSTEM_BUSY.retryable).toBe(true);
  });

  it('messages differ per code where customers need a different next step', () => {
    const zh = new Set(ERROR_CODES.map((c) => FAILURES[c].zh));
    expect(zh.size).toBe(ERROR_CODES.length);
  });
});

describe('AppError', () => {
  it('carries its code, detail and the taxonomy status', () => {
    const error = new AppError('INSUFFICIENT_BALANCE', 'the balance is not enough');
    expect(error).toBeInstanceOf(Error);
    expect(isAppError(error)).toBe(true);
    expect(error.code).toBe('INSUFFICIENT_BALANCE');
    expect(error.detail).toBe('the balance is not enough');
    expect(error.status).toBe(422);
    expect(error.message).toBe('the balance is not enough');
    expect(new AppError('NOT_FOUND').message).toBe('NOT_FOUND');
    expect(isAppError(new Error('x'))).toBe(false);
  });
});
