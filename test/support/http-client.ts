import { randomUUID } from 'node:crypto';

export interface CallOptions {
  token?: string | null;
  /** Idempotency-Key; `true` generates a fresh one. */
  key?: string | true;
  headers?: Record<string, string>;
  language?: string;
}

export interface CallResult<T = Record<string, unknown>> {
  status: number;
  headers: Headers;
  // biome-ignore lint/suspicious/noExplicitAny: response bodies are asserted field by field in tests
  body: T & Record<string, any>;
  text: string;
}

/** A thin fetch wrapper: every test talks to the real HTTP server. */
export function httpClient(baseUrl: string) {
  async function call(method: string, path: string, body?: unknown, options: CallOptions = {}): Promise<CallResult> {
    const headers: Record<string, string> = { ...(options.headers ?? {}) };
    if (body !== undefined) headers['content-type'] = 'application/json';
    if (options.token) headers.authorization = `Bearer ${options.token}`;
    if (options.key) headers['idempotency-key'] = options.key === true ? randomUUID() : options.key;
    if (options.language) headers['accept-language'] = options.language;
    const response = await fetch(`${baseUrl}${path}`, {
      method,
      headers,
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    });
    const text = await response.text();
    let parsed: unknown = {};
    try {
      parsed = text ? JSON.parse(text) : {};
    } catch {
      parsed = { raw: text };
    }
    return { status: response.status, headers: response.headers, body: parsed as CallResult['body'], text };
  }
  return {
    call,
    get: (path: string, options?: CallOptions) => call('GET', path, undefined, options),
    post: (path: string, body?: unknown, options?: CallOptions) => call('POST', path, body ?? {}, options),
    put: (path: string, body?: unknown, options?: CallOptions) => call('PUT', path, body ?? {}, options),
    delete: (path: string, options?: CallOptions) => call('DELETE', path, undefined, options),
  };
}

export type HttpClient = ReturnType<typeof httpClient>;
