import http from 'node:http';

export interface RawRequest {
  method: string;
  path: string;
  /** A list value sends the header once per item (duplicated headers). */
  headers?: Record<string, string | string[]>;
  body?: string | Buffer;
}

export interface RawResponse {
  status: number;
  contentType: string;
  text: string;
  json: Record<string, unknown> | null;
}

const agent = new http.Agent({ keepAlive: true, maxSockets: 8 });

/**
 * One HTTP request exactly as written (node:http, not fetch): raw bodies that are not JSON,
 * duplicated headers, wrong content types. Resolves with the answer even when the server stops
 * reading an oversized body early.
 */
export function sendRaw(baseUrl: string, request: RawRequest): Promise<RawResponse> {
  const url = new URL(request.path, baseUrl);
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: request.method, agent, headers: request.headers ?? {} }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let json: Record<string, unknown> | null = null;
        try {
          const parsed: unknown = JSON.parse(text);
          json = parsed && typeof parsed === 'object' && !Array.isArray(parsed) ? (parsed as Record<string, unknown>) : null;
        } catch {
          json = null;
        }
        resolve({ status: res.statusCode ?? 0, contentType: String(res.headers['content-type'] ?? ''), text, json });
      });
      res.on('error', reject);
    });
    req.on('error', (error: NodeJS.ErrnoException) => {
      // The server answered and closed while we were still sending a huge body.
      if (error.code === 'EPIPE' || error.code === 'ECONNRESET') return;
      reject(error);
    });
    req.setTimeout(30_000, () => req.destroy(new Error(`timeout: ${request.method} ${request.path}`)));
    if (request.body !== undefined) req.end(request.body);
    else req.end();
  });
}
