import { existsSync } from 'node:fs';
import path from 'node:path';
import fastifyStatic from '@fastify/static';
import { AppError } from '../domain/errors.js';
import type { App } from './app.js';

/** `web/dist` beside `src/` and `dist/` alike: both sit one level under the project root. */
export const WEB_CONSOLE_ROOT = path.resolve(import.meta.dirname, '../../web/dist');

/** Paths that belong to the API: an unknown one must stay the API's problem document, never the console's HTML. */
function isApiPath(pathname: string): boolean {
  return pathname === '/v1' || pathname.startsWith('/v1/') || pathname.startsWith('/docs/');
}

/**
 * The web console (customer portal and staff console), built by `npm run build` into `web/dist`, served at
 * `/`. Assets are served as files; any other GET that no route answers gets `index.html`, so the console's
 * own routes (`/recharges/rch_…`, `/staff/refunds`) survive a reload. Without a build the API runs alone.
 */
export function webConsoleRoutes(options: { root?: string } = {}) {
  const root = options.root ?? WEB_CONSOLE_ROOT;
  return (app: App) => {
    if (!existsSync(path.join(root, 'index.html'))) {
      app.log.warn({ root }, 'web console not built (npm run build:web); serving the API only');
      return;
    }
    void app.register(fastifyStatic, {
      root,
      prefix: '/',
      // Files are listed once at start: a glob route per file, so unknown paths fall through to the SPA route.
      wildcard: false,
      index: false,
      setHeaders(reply, filePath) {
        // Vite names assets by content hash: they never change under the same name.
        if (filePath.includes(`${path.sep}assets${path.sep}`)) reply.header('cache-control', 'public, max-age=31536000, immutable');
      },
    });
    app.get('/*', { config: { auth: 'public' }, schema: { hide: true } }, async (request, reply) => {
      const pathname = request.url.split('?')[0] ?? '/';
      const last = pathname.split('/').pop() ?? '';
      // Unknown API paths and missing files (a stale `/assets/….js`) answer the API's 404 problem.
      if (isApiPath(pathname) || last.includes('.')) {
        throw new AppError('NOT_FOUND', `no route ${request.method} ${pathname}`);
      }
      return reply.header('cache-control', 'no-cache').sendFile('index.html');
    });
  };
}
