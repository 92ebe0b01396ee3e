import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import { isPublicAddress, publicOnlyLookup } from './url-guard.js';

/** An integrator's endpoint gets this long to answer (connect, send and respond). */
export const WEBHOOK_TIMEOUT_MS = 5_000;
const MAX_RESPONSE_BYTES = 64 * 1024;

export type PostOutcome = { ok: true; status: number } | { ok: false; status: number | null; error: string };

/**
 * POSTs one webhook. Redirects are not followed (a 3xx is a failed attempt), only 2xx counts as
 * delivered, and outside the sandbox the connection may only go to a public address.
 */
export function postWebhook(
  target: string,
  headers: Record<string, string>,
  body: string,
  options: { allowPrivate: boolean; timeoutMs?: number },
): Promise<PostOutcome> {
  return new Promise((resolve) => {
    let settled = false;
    let timer: NodeJS.Timeout | undefined;
    const done = (outcome: PostOutcome) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(outcome);
    };
    let url: URL;
    try {
      url = new URL(target);
    } catch {
      done({ ok: false, status: null, error: 'invalid URL' });
      return;
    }
    const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
    if (!options.allowPrivate && net.isIP(host) && !isPublicAddress(host)) {
      done({ ok: false, status: null, error: 'refused: non-public address' });
      return;
    }
    const client = url.protocol === 'https:' ? https : http;
    const request = client.request(
      url,
      {
        method: 'POST',
        headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) },
        ...(options.allowPrivate ? {} : { lookup: publicOnlyLookup }),
        agent: false,
      },
      (response) => {
        let size = 0;
        response.on('data', (chunk: Buffer) => {
          size += chunk.length;
          // The answer body is not needed; stop reading a huge one.
          if (size > MAX_RESPONSE_BYTES) response.destroy();
        });
        const status = response.statusCode ?? 0;
        const finish = () => done(status >= 200 && status < 300 ? { ok: true, status } : { ok: false, status, error: `HTTP ${status}` });
        response.on('end', finish);
        response.on('close', finish);
        response.on('error', finish);
      },
    );
    timer = setTimeout(() => {
      request.destroy();
      done({ ok: false, status: null, error: `timed out after ${options.timeoutMs ?? WEBHOOK_TIMEOUT_MS} ms` });
    }, options.timeoutMs ?? WEBHOOK_TIMEOUT_MS);
    request.on('error', (error: NodeJS.ErrnoException) => {
      done({ ok: false, status: null, error: `${error.code ?? 'error'}: ${error.message}`.slice(0, 500) });
    });
    request.end(body);
  });
}
