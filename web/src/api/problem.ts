import type { ErrorCode, PaymentMethod } from './types';

/** An RFC 9457 problem document as the API answers it; `message` is already in the UI's language. */
export interface Problem {
  status: number;
  code: ErrorCode | 'NETWORK';
  message: string;
  detail: string;
  retryable: boolean;
  request_id?: string;
  errors?: { field: string; message: string }[];
  alternatives?: PaymentMethod[];
}

/** Thrown by every API call that did not succeed; the UI shows `problem.message`. */
export class ApiError extends Error {
  readonly problem: Problem;
  constructor(problem: Problem) {
    super(problem.message);
    this.name = 'ApiError';
    this.problem = problem;
  }
  get code(): Problem['code'] {
    return this.problem.code;
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}

/** Reads a problem document out of an error body, whatever shape it arrived in. */
export function toProblem(body: unknown, status: number, fallbackMessage: string): Problem {
  if (isRecord(body) && typeof body.code === 'string' && typeof body.message === 'string') {
    return {
      status,
      code: body.code as ErrorCode,
      message: body.message,
      detail: typeof body.detail === 'string' ? body.detail : '',
      retryable: body.retryable === true,
      request_id: typeof body.request_id === 'string' ? body.request_id : undefined,
      errors: Array.isArray(body.errors) ? (body.errors as Problem['errors']) : undefined,
      alternatives: Array.isArray(body.alternatives) ? (body.alternatives as PaymentMethod[]) : undefined,
    };
  }
  return { status, code: 'NETWORK', message: fallbackMessage, detail: '', retryable: true };
}
