import createClient from 'openapi-fetch';
import { currentLanguage, translate } from '../i18n/language';
import { session } from '../session';
import { ApiError, toProblem } from './problem';
import type { paths } from './schema';

/**
 * The one HTTP client: typed by the generated `paths`, sends the bearer token and the UI language
 * (`Accept-Language`) so every problem's `message` arrives in the language on screen.
 */
export const client = createClient<paths>({ baseUrl: '' });

client.use({
  onRequest({ request }) {
    const token = session.token();
    if (token) request.headers.set('Authorization', `Bearer ${token}`);
    request.headers.set('Accept-Language', currentLanguage());
    return request;
  },
});

/** Headers for requests the typed client does not cover (multipart uploads). */
export function authHeaders(): Record<string, string> {
  const token = session.token();
  return { 'Accept-Language': currentLanguage(), ...(token ? { Authorization: `Bearer ${token}` } : {}) };
}

function networkError(): ApiError {
  return new ApiError({ status: 0, code: 'NETWORK', message: translate('error.network'), detail: '', retryable: true });
}

/** Awaits a typed call and returns its data, or throws an ApiError carrying the problem document. */
export async function unwrap<T>(call: Promise<{ data?: T; error?: unknown; response: Response }>): Promise<T> {
  let result: { data?: T; error?: unknown; response: Response };
  try {
    result = await call;
  } catch {
    throw networkError();
  }
  if (!result.response.ok) {
    throw new ApiError(toProblem(result.error, result.response.status, translate('error.unexpected')));
  }
  return result.data as T;
}

/** A plain fetch with the same headers and error handling, for multipart bodies. */
export async function sendForm<T>(path: string, form: FormData): Promise<T> {
  let response: Response;
  try {
    response = await fetch(path, { method: 'POST', headers: authHeaders(), body: form });
  } catch {
    throw networkError();
  }
  const body: unknown = await response.json().catch(() => null);
  if (!response.ok) throw new ApiError(toProblem(body, response.status, translate('error.unexpected')));
  return body as T;
}
