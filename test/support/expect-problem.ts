import { expect } from 'vitest';
import { type ErrorCode, FAILURES } from '../../src/domain/errors.js';
import type { CallResult } from './http-client.js';

/**
 * Asserts an RFC 9457 problem answer: the status, the code, its retryable flag from the
 * taxonomy and every field the contract lists.
 */
export function expectProblem(res: CallResult, status: number, code: ErrorCode): void {
  expect(res.status, res.text).toBe(status);
  expect(res.headers.get('content-type')).toContain('application/problem+json');
  expect(res.body).toMatchObject({
    type: expect.any(String),
    title: expect.any(String),
    status,
    detail: expect.any(String),
    code,
    retryable: FAILURES[code].retryable,
    message: expect.any(String),
    request_id: expect.any(String),
  });
}

/** A VALIDATION_FAILED answer whose `errors` name `field` (and give each a message). */
export function expectFieldError(res: CallResult, field: string): void {
  expectProblem(res, 400, 'VALIDATION_FAILED');
  const errors = res.body.errors as { field: string; message: string }[];
  expect(Array.isArray(errors), res.text).toBe(true);
  for (const e of errors) {
    expect(typeof e.field).toBe('string');
    expect(typeof e.message).toBe('string');
    expect(e.message.length).toBeGreaterThan(0);
  }
  expect(
    errors.map((e) => e.field),
    res.text,
  ).toContain(field);
}
