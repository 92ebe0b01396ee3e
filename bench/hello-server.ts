/**
 * The baseline for balance reads: a Fastify hello-world route, started the same way as
 * `topup serve` (node --import tsx, one process, 127.0.0.1) with the same pino logger at the same
 * level (request logs off at `warn`) and the same request-id generator.
 *
 *   PORT=3001 LOG_LEVEL=warn node --import tsx bench/hello-server.ts
 */
import { randomUUID } from 'node:crypto';
import Fastify from 'fastify';
import { createLogger } from '../src/ops/logger.js';

const app = Fastify({ loggerInstance: createLogger(process.env.LOG_LEVEL ?? 'warn'), genReqId: () => randomUUID() });
app.get('/readyz', async () => ({ status: 'ok' }));
app.get('/hello', async () => ({ hello: 'world' }));

await app.listen({ host: '127.0.0.1', port: Number(process.env.PORT ?? 3001) });
const shutdown = () => {
  app.close().then(
    () => process.exit(0),
    () => process.exit(1),
  );
};
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);
