import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../../test/support/test-server.js';
import { type App, buildHttpApp } from './app.js';
import { webConsoleRoutes } from './web-console.js';

describe('web console serving', () => {
  let server: TestServer;
  let app: App;
  let root: string;

  beforeAll(async () => {
    server = await startTestServer({ worker: false });
    root = mkdtempSync(path.join(os.tmpdir(), 'topup-web-'));
    mkdirSync(path.join(root, 'assets'));
    writeFileSync(path.join(root, 'index.html'), '<!doctype html><div id="root"></div>');
    writeFileSync(path.join(root, 'assets', 'app-1234.js'), 'console.log(1)');
    app = await buildHttpApp(server.service.ctx, {
      logger: server.service.ctx.log,
      routes: [
        (a) => {
          a.get('/v1/ping', { config: { auth: 'public' } }, async () => ({ ok: true }));
        },
        webConsoleRoutes({ root }),
      ],
    });
    await app.ready();
  });
  afterAll(async () => {
    await app?.close();
    await server?.close();
    rmSync(root, { recursive: true, force: true });
  });

  it('serves index.html at / and at any console route (SPA fallback)', async () => {
    for (const url of ['/', '/recharges/rch_1', '/staff/refunds?status=submitted']) {
      const res = await app.inject({ method: 'GET', url });
      expect(res.statusCode, url).toBe(200);
      expect(res.headers['content-type']).toContain('text/html');
      expect(res.body).toContain('<div id="root">');
    }
  });

  it('serves hashed assets with long caching', async () => {
    const res = await app.inject({ method: 'GET', url: '/assets/app-1234.js' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['cache-control']).toContain('immutable');
  });

  it('keeps the API answers: routes, and the 404 problem for unknown /v1 paths and missing files', async () => {
    expect((await app.inject({ method: 'GET', url: '/v1/ping' })).json()).toEqual({ ok: true });
    for (const url of ['/v1/nope', '/v1', '/assets/missing.js']) {
      const res = await app.inject({ method: 'GET', url, headers: { 'accept-language': 'en' } });
      expect(res.statusCode, url).toBe(404);
      expect(res.headers['content-type']).toContain('application/problem+json');
      expect(res.json().code).toBe('NOT_FOUND');
    }
    const post = await app.inject({ method: 'POST', url: '/somewhere', payload: {} });
    expect(post.statusCode).toBe(404);
  });

  it('without a build the API runs alone', async () => {
    const bare = await buildHttpApp(server.service.ctx, {
      logger: server.service.ctx.log,
      routes: [webConsoleRoutes({ root: path.join(root, 'missing') })],
    });
    const res = await bare.inject({ method: 'GET', url: '/' });
    expect(res.statusCode).toBe(404);
    await bare.close();
  });
});
