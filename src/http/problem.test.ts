import { describe, expect, it } from 'vitest';
import { AppError, FAILURES } from '../domain/errors.js';
import { negotiateLanguage, problemType, toProblem } from './problem.js';

describe('negotiateLanguage', () => {
  it.each([
    ['en-US,en;q=0.9', 'en'],
    ['en', 'en'],
    ['zh-CN', 'zh-CN'],
    ['zh-TW,zh;q=0.9', 'zh-CN'],
    ['en;q=0.1, zh;q=0.9', 'zh-CN'],
    ['zh;q=0.2, en;q=0.8', 'en'],
    ['fr-FR, en;q=0.5', 'en'],
    ['fr-FR, de;q=0.5', 'zh-CN'],
    ['en;q=0', 'zh-CN'],
    ['EN-us', 'en'],
    ['*', 'zh-CN'],
    ['', 'zh-CN'],
  ])('%j → %s', (header, expected) => {
    expect(negotiateLanguage(header)).toBe(expected);
  });

  it('defaults to zh-CN when the header is missing', () => {
    expect(negotiateLanguage(undefined)).toBe('zh-CN');
  });
});

describe('toProblem', () => {
  it('builds an RFC 9457 document with the code, status, retryable flag and customer message', () => {
    const problem = toProblem(new AppError('INSUFFICIENT_BALANCE', 'balance 100 < 300'), 'en', 'req_1');
    expect(problem).toEqual({
      type: problemType('INSUFFICIENT_BALANCE'),
      title: FAILURES.INSUFFICIENT_BALANCE.title,
      status: 422,
      detail: 'balance 100 < 300',
      code: 'INSUFFICIENT_BALANCE',
      retryable: false,
      message: FAILURES.INSUFFICIENT_BALANCE.en,
      request_id: 'req_1',
    });
    expect(problem.type).toBe('https://topup.dev/problems/insufficient-balance');
    expect(toProblem(new AppError('INSUFFICIENT_BALANCE'), 'zh-CN', 'req_2').message).toBe(FAILURES.INSUFFICIENT_BALANCE.zh);
  });

  it('falls back to the title when there is no detail', () => {
    expect(toProblem(new AppError('NOT_FOUND'), 'en', 'req_3').detail).toBe(FAILURES.NOT_FOUND.title);
  });

  it('carries field errors and extra fields, never retryAfterSeconds', () => {
    const problem = toProblem(
      new AppError('VALIDATION_FAILED', 'bad', {
        errors: [{ field: 'amount', message: 'too small' }],
        retryAfterSeconds: 5,
        alternatives: ['alipay'],
      }),
      'en',
      'req_4',
    );
    expect(problem.errors).toEqual([{ field: 'amount', message: 'too small' }]);
    expect(problem.alternatives).toEqual(['alipay']);
    expect(problem).not.toHaveProperty('retryAfterSeconds');
  });

  it('answers a platform fault as SYSTEM_BUSY, retryable, with the 系统繁忙 message', () => {
    for (const language of ['zh-CN', 'en'] as const) {
      const problem = toProblem(new AppError('SYSTEM_BUSY', 'internal error, reference req_1'), language, 'req_1');
      expect(problem.status).toBe(503);
      expect(problem.code).toBe('SYSTEM_BUSY');
      expect(problem.retryable).toBe(true);
      expect(problem.detail).toBe('internal error, reference req_1');
      expect(problem.message).toBe(language === 'en' ? FAILURES.SYSTEM_BUSY.en : FAILURES.SYSTEM_BUSY.zh);
    }
  });
});
