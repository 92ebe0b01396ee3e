import fc from 'fast-check';

/** The part of JSON Schema the service's TypeBox schemas use. */
export interface Schema {
  type?: string | string[];
  properties?: Record<string, Schema>;
  required?: string[];
  additionalProperties?: boolean | Schema;
  anyOf?: Schema[];
  oneOf?: Schema[];
  enum?: unknown[];
  const?: unknown;
  minimum?: number;
  maximum?: number;
  minLength?: number;
  maxLength?: number;
  pattern?: string;
  format?: string;
  items?: Schema;
  minItems?: number;
  maxItems?: number;
}

type JsonType = 'null' | 'boolean' | 'integer' | 'number' | 'string' | 'array' | 'object';

function jsonType(value: unknown): JsonType {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'number') return Number.isInteger(value) ? 'integer' : 'number';
  return typeof value as JsonType;
}

/** The JSON types a schema admits; null when it admits anything. */
function admitted(schema: Schema): Set<JsonType> | null {
  const branches = schema.anyOf ?? schema.oneOf;
  if (branches) {
    const out = new Set<JsonType>();
    for (const b of branches) {
      const t = admitted(b);
      if (!t) return null;
      for (const x of t) out.add(x);
    }
    return out;
  }
  if (schema.const !== undefined) return new Set([jsonType(schema.const)]);
  if (schema.type === undefined) return schema.enum ? new Set(schema.enum.map(jsonType)) : null;
  const types = new Set((Array.isArray(schema.type) ? schema.type : [schema.type]) as JsonType[]);
  if (types.has('number')) types.add('integer');
  return types;
}

/** Hostile text: control characters, NUL, bidi overrides, zero-width, astral and combining characters, lone surrogates. */
export const hostileText = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.constantFrom(
    '\u0000',
    'a\u0000b',
    '\u202e\u202dreversed',
    '\u200b\u200c\u200d\ufeff',
    '💸💳🏦',
    'é\u0301\u0301\u0301',
    '\ud800',
    '\udfff\ud800',
    '<script>alert(1)</script>',
    "'; drop table users; --",
    `\${7*7}{{7*7}}`,
    '../../../../etc/passwd',
    '%00%2e%2e%2f',
    '\r\nX-Injected: 1',
  ),
);

const WRONG_TYPES: unknown[] = ['100', 'true', '', 100, -1, 1.5, 0, true, false, null, [], [1, 'a'], {}, { nested: { deeper: true } }];

/**
 * Values the schema refuses (never one it accepts): wrong JSON types, numbers past their bounds
 * (huge, negative, zero, fractional), strings too long or outside their enum / format / pattern,
 * arrays too long, objects with unknown or missing fields. Null when nothing can be refused.
 */
export function invalidValue(schema: Schema): fc.Arbitrary<unknown> | null {
  const types = admitted(schema);
  const options: fc.Arbitrary<unknown>[] = [];
  if (types) {
    const wrong = WRONG_TYPES.filter((v) => !types.has(jsonType(v)));
    if (wrong.length > 0) options.push(fc.constantFrom(...wrong));
  }
  const single = !schema.anyOf && !schema.oneOf;
  if (single && types && (types.has('integer') || types.has('number'))) {
    const bad: number[] = [1e21, -1e21, Number.MAX_SAFE_INTEGER * 8, -Number.MAX_SAFE_INTEGER * 8];
    if (schema.minimum !== undefined) bad.push(schema.minimum - 1, schema.minimum - 1_000_000);
    if (schema.maximum !== undefined) bad.push(schema.maximum + 1, schema.maximum * 1000 + 7);
    if (!types.has('number')) bad.push(1.5, 0.000_001);
    options.push(fc.constantFrom(...bad.filter((n) => Number.isFinite(n))));
  }
  if (single && types?.has('string')) {
    if (schema.maxLength !== undefined) {
      const limit = schema.maxLength;
      options.push(
        fc.string({ unit: 'grapheme', minLength: limit + 1, maxLength: limit + 40 }).filter((s) => [...s].length > limit),
        fc.constant('界'.repeat(limit + 1)),
      );
    }
    if (schema.minLength !== undefined && schema.minLength > 0) options.push(fc.constant(''));
    if (schema.enum) {
      const allowed = schema.enum;
      options.push(hostileText.filter((s) => !allowed.includes(s)));
      options.push(fc.constantFrom(...allowed.map((v) => `${String(v).toUpperCase()} `)).filter((s) => !allowed.includes(s)));
    }
    if (schema.const !== undefined) options.push(fc.constantFrom('cny', 'USD', '', 'CNY '));
    if (schema.format === 'email') options.push(fc.constantFrom('not-an-email', 'a@', '@b.c', 'a b@c.d', '用户@'));
    if (schema.format === 'date-time') options.push(fc.constantFrom('yesterday', '2024-13-45T99:00:00Z', '1700000000', '2024-01-01'));
    if (schema.format === 'date') options.push(fc.constantFrom('2024-13-01', 'today', '20240101', '2024-01-01T00:00:00Z'));
    if (schema.pattern) {
      const re = new RegExp(schema.pattern, 'u');
      options.push(hostileText.filter((s) => !re.test(s)));
    }
  }
  if (single && types?.has('array')) {
    if (schema.maxItems !== undefined) {
      const item = schema.items ? sampleValid(schema.items) : 'x';
      options.push(fc.constant(Array.from({ length: schema.maxItems + 1 }, () => item)));
    }
    const badItem = schema.items ? invalidValue(schema.items) : null;
    if (badItem) options.push(badItem.map((v) => [v]));
  }
  if (single && types?.has('object') && schema.additionalProperties === false) {
    const valid = sampleValid(schema) as Record<string, unknown>;
    options.push(fc.constant({ ...valid, unexpected_field: 1 }));
  }
  return options.length > 0 ? fc.oneof(...options) : null;
}

/** A value the schema accepts (the smallest sensible one): the base that one mutation makes invalid. */
export function sampleValid(schema: Schema): unknown {
  if (schema.const !== undefined) return schema.const;
  if (schema.enum) return schema.enum[0];
  const branches = schema.anyOf ?? schema.oneOf;
  if (branches) {
    const first = branches.find((b) => b.type !== 'null') ?? branches[0];
    return first ? sampleValid(first) : null;
  }
  const type = Array.isArray(schema.type) ? schema.type[0] : schema.type;
  switch (type) {
    case 'integer':
    case 'number':
      return Math.min(Math.max(schema.minimum ?? 100, 100), schema.maximum ?? Number.MAX_SAFE_INTEGER);
    case 'string':
      if (schema.format === 'email') return 'fuzz@example.com';
      if (schema.format === 'date-time') return new Date().toISOString();
      if (schema.format === 'date') return '2024-01-01';
      return 'x'.repeat(Math.max(schema.minLength ?? 1, 1));
    case 'boolean':
      return true;
    case 'array':
      return Array.from({ length: schema.minItems ?? 0 }, () => (schema.items ? sampleValid(schema.items) : 'x'));
    case 'object': {
      const out: Record<string, unknown> = {};
      for (const name of schema.required ?? []) {
        const prop = schema.properties?.[name];
        if (prop) out[name] = sampleValid(prop);
      }
      return out;
    }
    case 'null':
      return null;
    default:
      return {};
  }
}

/** A body the schema refuses: one property made invalid, one unknown field, one required field gone, or not an object at all. */
export function invalidBody(schema: Schema): fc.Arbitrary<string> {
  const base = sampleValid(schema) as Record<string, unknown>;
  const options: fc.Arbitrary<string>[] = [
    fc.constantFrom('"text"', '[]', '[{}]', '42', 'null', 'true', '-0', '1e400'),
    fc.constantFrom('{', '{"amount":', '{"a":1}}', "{'a':1}", '{"a":1,}', '\u0000', '{"a":"\\u"}', '{"__proto__":{"admin":true},"x":'),
  ];
  for (const [name, prop] of Object.entries(schema.properties ?? {})) {
    const bad = invalidValue(prop);
    if (bad) options.push(bad.map((v) => JSON.stringify({ ...base, [name]: v })));
  }
  if (schema.additionalProperties === false) {
    options.push(
      fc
        .tuple(fc.string({ minLength: 1, maxLength: 20 }), fc.jsonValue())
        .filter(([key]) => !(key in (schema.properties ?? {})))
        .map(([key, value]) => JSON.stringify({ ...base, [key]: value })),
      // Prototype pollution attempts are unknown fields too.
      fc.constant(
        `{${Object.entries(base)
          .map(([k, v]) => `${JSON.stringify(k)}:${JSON.stringify(v)},`)
          .join('')}"__proto__":{"role":"admin"}}`,
      ),
    );
  }
  const required = schema.required ?? [];
  if (required.length > 0) {
    options.push(
      fc.constantFrom(...required).map((name) => {
        const copy = { ...base };
        delete copy[name];
        return JSON.stringify(copy);
      }),
    );
  }
  return fc.oneof(...options);
}

/**
 * Query strings are text the server coerces: a value is refused for what it says, not for its
 * JSON type (`?assignee_id=100` is a fine string). Null when nothing can be refused.
 */
export function invalidQueryValue(schema: Schema): fc.Arbitrary<string> | null {
  const types = admitted(schema);
  if (!types) return null;
  const options: fc.Arbitrary<string>[] = [];
  if (types.has('integer') || types.has('number')) {
    const bad = ['abc', '1e400', '99999999999999999999', 'NaN', '１２', '1,000'];
    if (!types.has('number')) bad.push('1.5', '10.25');
    if (schema.minimum !== undefined) bad.push(String(schema.minimum - 1), String(schema.minimum - 1_000_000));
    if (schema.maximum !== undefined) bad.push(String(schema.maximum + 1));
    options.push(fc.constantFrom(...bad));
  } else if (types.has('boolean')) {
    options.push(fc.constantFrom('yes', '2', 'truee', 'TRUE ', '真'));
  } else if (types.has('string')) {
    const bad = invalidValue(schema);
    if (bad) options.push(bad.filter((v): v is string => typeof v === 'string'));
  }
  return options.length > 0 ? fc.oneof(...options) : null;
}
