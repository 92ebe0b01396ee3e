import type { App } from '../../src/http/app.js';

export interface RouteEntry {
  /** Fastify's spelling: `/v1/refunds/:id`. */
  path: string;
  method: string;
}

/**
 * Every route the app registered, read from Fastify's own route tree (`printRoutes`), not from a
 * hand-kept list: a route someone adds shows up here whether or not anyone remembered it.
 */
export function registeredRoutes(app: App): RouteEntry[] {
  const routes: RouteEntry[] = [];
  const segments: string[] = [];
  for (const line of app.printRoutes({ commonPrefix: false }).split('\n')) {
    if (line.trim() === '') continue;
    const match = /^((?:│ {3}| {4})*)(?:├── |└── )(.+?)(?: \(([^)]*)\))?$/.exec(line);
    if (!match) throw new Error(`unexpected printRoutes line: ${JSON.stringify(line)}`);
    const depth = (match[1] ?? '').length / 4;
    segments.length = depth;
    segments.push(match[2] ?? '');
    if (match[3]) {
      for (const method of match[3].split(',').map((m) => m.trim())) routes.push({ path: segments.join(''), method });
    }
  }
  return routes;
}

export function appOf(service: { app: App | null }): App {
  if (!service.app) throw new Error('the service has no HTTP app');
  return service.app;
}
