import { type TObject, type TProperties, type TUnsafe, Type } from 'typebox';
import { ERROR_CODES, type ErrorCode, FAILURES } from '../domain/errors.js';
import { MAX_AMOUNT } from '../domain/money.js';

/** Request objects reject unknown fields (the contract's strict bodies). */
export function Strict<T extends TProperties>(properties: T, options: { description?: string } = {}): TObject<T> {
  return Type.Object(properties, { additionalProperties: false, ...options });
}

export const Nullable = <T extends Parameters<typeof Type.Union>[0][number]>(schema: T) => Type.Union([schema, Type.Null()]);

/** A string that must be one of `values` (JSON Schema `enum`), typed as their union. */
export function Enum<T extends string>(values: readonly T[], options: { description?: string } = {}): TUnsafe<T> {
  return Type.Unsafe<T>({ type: 'string', enum: [...values], ...options });
}

/** A positive amount in fen. */
export const Amount = Type.Integer({ minimum: 1, maximum: MAX_AMOUNT, description: 'fen (1 = ¥0.01)' });
export const SignedAmount = Type.Integer({ minimum: -MAX_AMOUNT, maximum: MAX_AMOUNT, description: 'fen, signed' });
export const Currency = Type.Literal('CNY');
export const Timestamp = Type.String({ description: 'RFC 3339 UTC' });
export const Id = Type.String({ minLength: 1, maxLength: 64 });
export const Email = Type.String({ format: 'email', maxLength: 254 });

export const ProblemSchema = Type.Object(
  {
    type: Type.String(),
    title: Type.String(),
    status: Type.Integer(),
    detail: Type.String(),
    code: Enum(ERROR_CODES),
    retryable: Type.Boolean(),
    message: Type.String({ description: 'customer text in the language chosen by Accept-Language' }),
    request_id: Type.String(),
    errors: Type.Optional(Type.Array(Type.Object({ field: Type.String(), message: Type.String() }))),
  },
  { additionalProperties: true, description: 'RFC 9457 problem document' },
);

/** Response schemas for the error codes a route can answer, grouped by HTTP status for OpenAPI. */
export function problems(...codes: ErrorCode[]): Record<number, unknown> {
  const out: Record<number, unknown> = {};
  const byStatus = new Map<number, ErrorCode[]>();
  for (const code of new Set<ErrorCode>([...codes, 'VALIDATION_FAILED', 'SYSTEM_BUSY'])) {
    const status = FAILURES[code].status;
    byStatus.set(status, [...(byStatus.get(status) ?? []), code]);
  }
  for (const [status, list] of byStatus) {
    out[status] = { ...ProblemSchema, description: list.join(' | ') };
  }
  return out;
}

export const ListQuery = {
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, default: 20 })),
  cursor: Type.Optional(Type.String({ maxLength: 200 })),
};

export function Page<T extends TObject>(item: T) {
  return Type.Object({ data: Type.Array(item), next_cursor: Nullable(Type.String()) });
}

export const IdempotencyHeader = Type.Object({
  'idempotency-key': Type.Optional(Type.String({ minLength: 1, maxLength: 255 })),
});
