import { AppError, customerMessage, type ErrorCode, FAILURES, type FieldError, type Language } from '../domain/errors.js';

/** zh-CN unless the caller prefers English (highest q-value among the two). */
export function negotiateLanguage(header: string | undefined): Language {
  if (!header) return 'zh-CN';
  let best: { language: Language; q: number } | null = null;
  for (const part of header.split(',')) {
    const [tag = '', ...params] = part.trim().toLowerCase().split(';');
    const qParam = params.find((p) => p.trim().startsWith('q='));
    const q = qParam ? Number(qParam.trim().slice(2)) : 1;
    if (!Number.isFinite(q) || q <= 0) continue;
    const language: Language | null = tag.startsWith('en') ? 'en' : tag.startsWith('zh') ? 'zh-CN' : null;
    if (language && (!best || q > best.q)) best = { language, q };
  }
  return best?.language ?? 'zh-CN';
}

export interface ProblemDocument {
  type: string;
  title: string;
  status: number;
  detail: string;
  code: ErrorCode;
  retryable: boolean;
  message: string;
  request_id: string;
  errors?: FieldError[];
  [extra: string]: unknown;
}

export function problemType(code: ErrorCode): string {
  return `https://topup.dev/problems/${code.toLowerCase().replaceAll('_', '-')}`;
}

/** RFC 9457 problem document for a taxonomy code, with the customer message in `language`. */
export function toProblem(error: AppError, language: Language, requestId: string): ProblemDocument {
  const entry = FAILURES[error.code];
  const { retryAfterSeconds: _retryAfter, errors, ...extra } = error.extra;
  return {
    ...extra,
    type: problemType(error.code),
    title: entry.title,
    status: entry.status,
    detail: error.detail ?? entry.title,
    code: error.code,
    retryable: entry.retryable,
    message: customerMessage(error.code, language),
    request_id: requestId,
    ...(errors ? { errors } : {}),
  };
}

export { AppError };
