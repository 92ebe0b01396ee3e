import { randomUUID } from 'node:crypto';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Ajv, type Options as AjvOptions } from 'ajv';
import addFormats from 'ajv-formats';
import Fastify, {
  type FastifyError,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
  type onSendHookHandler,
  type preHandlerAsyncHookHandler,
} from 'fastify';
import type { Context } from '../context.js';
import { AppError, type ErrorCode, type FieldError, type Language } from '../domain/errors.js';
import { type Actor, hasRole, type Role } from '../identity/roles.js';
import { cachedSessionActor, findSessionActor } from '../identity/sessions.js';
import { claimIdempotencyKey, completeIdempotencyKey, type IdempotencyClaim, requireIdempotencyKey } from './idempotency.js';
import { negotiateLanguage, toProblem } from './problem.js';

export type AuthRule = 'public' | 'any' | readonly Role[];

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Who may call: `public`, `any` signed-in user, or the roles allowed (admin implies staff roles). */
    auth?: AuthRule;
    /**
     * Marked (I) in the contract: requires Idempotency-Key and replays stored answers.
     * `in-use-case`: the handler's use case records the answer in its own transaction
     * (`recordAnswer`), saving two commits on hot money writes.
     */
    idempotent?: boolean | 'in-use-case';
  }
  interface FastifyRequest {
    actor: Actor | null;
    language: Language;
    idempotency: IdempotencyClaim | null;
    idempotentReplay: boolean;
  }
}

export type App = FastifyInstance<
  import('node:http').Server,
  import('node:http').IncomingMessage,
  import('node:http').ServerResponse,
  import('fastify').FastifyBaseLogger,
  TypeBoxTypeProvider
>;

/** Body validation is strict: unknown fields and strings-for-numbers are errors, never coerced. */
function makeAjv(part: 'body' | 'other'): Ajv {
  const options: AjvOptions = {
    allErrors: part === 'body',
    removeAdditional: false,
    useDefaults: true,
    coerceTypes: part !== 'body',
    strict: false,
  };
  const ajv = new Ajv(options);
  addFormats.default(ajv);
  return ajv;
}

function fieldErrors(error: FastifyError): FieldError[] {
  return (error.validation ?? []).map((v) => {
    const params = v.params as Record<string, unknown>;
    const base = v.instancePath.replace(/^\//, '').replaceAll('/', '.');
    const child = (params.missingProperty ?? params.additionalProperty) as string | undefined;
    const field = [base, child].filter(Boolean).join('.') || (error.validationContext ?? 'body');
    const message = params.additionalProperty !== undefined ? 'unknown field' : (v.message ?? 'is not valid');
    return { field, message };
  });
}

/** The first field (`payment_method.holder_name`) whose text or key holds U+0000, if any. */
function nulField(value: unknown, path: string, depth = 0): string | null {
  if (typeof value === 'string') return value.includes('\u0000') ? path : null;
  if (value === null || typeof value !== 'object' || depth > 32) return null;
  for (const [key, item] of Object.entries(value)) {
    const inner = depth === 0 ? key : `${path}.${key}`;
    if (key.includes('\u0000')) return inner;
    const found = nulField(item, inner, depth + 1);
    if (found) return found;
  }
  return null;
}

function sendProblem(request: FastifyRequest, reply: FastifyReply, error: AppError): FastifyReply {
  const problem = toProblem(error, request.language ?? 'zh-CN', request.id);
  if (error.extra.retryAfterSeconds !== undefined) reply.header('Retry-After', String(error.extra.retryAfterSeconds));
  return reply.code(problem.status).type('application/problem+json').send(JSON.stringify(problem));
}

export interface HttpOptions {
  /** Registers each capability's routes on the app. */
  routes: ((app: App) => void)[];
  logger: import('pino').Logger;
  bodyLimit?: number;
}

/**
 * The Fastify app: schema validation, auth, idempotency, RFC 9457 errors, OpenAPI. Route
 * files only declare schemas and call one use case.
 */
function hooksOf<T>(hooks: T | T[] | undefined): T[] {
  if (hooks === undefined) return [];
  return Array.isArray(hooks) ? hooks : [hooks];
}

export async function buildHttpApp(ctx: Context, options: HttpOptions): Promise<App> {
  const app = Fastify({
    loggerInstance: options.logger,
    genReqId: () => randomUUID(),
    bodyLimit: options.bodyLimit ?? 1024 * 1024,
    trustProxy: false,
    ajv: { customOptions: { removeAdditional: false, coerceTypes: false } },
    // A malformed URL or an over-long path id is refused by the router before any route runs:
    // answer it as a problem document too, not with Fastify's own JSON.
    frameworkErrors: (error, request, reply) => {
      request.language = negotiateLanguage(request.headers['accept-language']);
      const detail = error.code === 'FST_ERR_MAX_PARAM_LENGTH' ? 'a path parameter is too long' : 'the URL is malformed';
      sendProblem(request, reply, new AppError('VALIDATION_FAILED', detail, { errors: [{ field: 'path', message: detail }] }));
    },
  }).withTypeProvider<TypeBoxTypeProvider>() as unknown as App;

  const bodyAjv = makeAjv('body');
  const otherAjv = makeAjv('other');
  app.setValidatorCompiler(({ schema, httpPart }) => (httpPart === 'body' ? bodyAjv : otherAjv).compile(schema as object));

  app.decorateRequest('actor', null);
  app.decorateRequest('language', 'zh-CN');
  app.decorateRequest('idempotency', null);
  app.decorateRequest('idempotentReplay', false);

  app.addHook('onRoute', (route) => {
    if (route.url.startsWith('/v1/') && route.config?.auth === undefined) {
      throw new Error(`route ${route.method} ${route.url} does not declare its auth rule`);
    }
    // Idempotency hooks go on the (I) routes only: every other request skips them.
    const idempotent = route.config?.idempotent;
    if (idempotent) {
      const mode = idempotent === 'in-use-case' ? 'in-use-case' : 'up-front';
      route.preHandler = [claimHook(mode), ...hooksOf(route.preHandler)];
      route.onSend = [completeHook, ...hooksOf(route.onSend)];
    }
  });

  function claimHook(mode: 'up-front' | 'in-use-case'): preHandlerAsyncHookHandler {
    return async function claimKey(request, reply) {
      const proceed = await claimIdempotencyKey(ctx, request, reply, mode);
      if (!proceed) return reply;
    };
  }

  const completeHook: onSendHookHandler = async (request, reply, payload) => {
    const claim = request.idempotency;
    if (claim && !request.idempotentReplay) {
      request.idempotency = null;
      await completeIdempotencyKey(ctx, claim, reply.statusCode, typeof payload === 'string' ? payload : '');
    }
    return payload;
  };

  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Topup API',
        version: '1.0.0',
        description: 'Recharge (充值) and refund (退款) service. Money is an integer count of fen.',
      },
      components: {
        securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } },
      },
      security: [{ bearer: [] }],
    },
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });

  // Hooks in callback style: the hot read path (a cached session, no body) finishes them
  // without a promise per hook.
  app.addHook('onRequest', (request, _reply, done) => {
    request.language = negotiateLanguage(request.headers['accept-language']);
    const header = request.headers.authorization;
    const token = header?.startsWith('Bearer ') ? header.slice(7).trim() : null;
    if (!token) return done(authorize(request, null));
    const now = ctx.clock.now();
    const cached = cachedSessionActor(token, now);
    if (cached !== undefined) {
      request.actor = cached;
      return done(authorize(request, token));
    }
    void findSessionActor(ctx.store.db, token, now)
      .then(
        (actor) => {
          request.actor = actor;
          return authorize(request, token);
        },
        (error: Error) => error,
      )
      .then((outcome) => done(outcome))
      .catch((error: unknown) => request.log.error({ err: error }, 'onRequest hook failed after answering'));
  });

  /** The route's auth rule against the request's actor: the error to answer with, or undefined. */
  function authorize(request: FastifyRequest, token: string | null): AppError | undefined {
    const rule = request.routeOptions.config?.auth;
    if (rule === undefined || rule === 'public') return undefined;
    if (!request.actor) return new AppError('UNAUTHENTICATED', token ? 'token is not valid or has expired' : 'sign in first');
    if (rule !== 'any' && !hasRole(request.actor.role, rule)) return new AppError('FORBIDDEN', `requires role ${rule.join(' or ')}`);
    return undefined;
  }

  app.addHook('preValidation', (request, _reply, done) => {
    let refusal: Error | undefined;
    try {
      if (request.routeOptions.config?.idempotent) requireIdempotencyKey(request);
      // PostgreSQL text cannot hold U+0000 (the insert would fail as a 5xx): refuse it at the edge, on both dialects.
      const field = nulField(request.params, 'path') ?? nulField(request.query, 'query') ?? nulField(request.body, 'body');
      if (field) {
        refusal = new AppError('VALIDATION_FAILED', `${field}: must not contain NUL characters`, {
          errors: [{ field, message: 'must not contain NUL characters' }],
        });
      }
    } catch (error) {
      refusal = error as Error;
    }
    done(refusal);
  });

  app.addHook('onResponse', (request, reply, done) => {
    const route = request.routeOptions.url ?? 'unmatched';
    ctx.metrics.httpRequests.inc({ method: request.method, route, status: String(reply.statusCode) });
    ctx.metrics.httpDuration.observe({ method: request.method, route }, reply.elapsedTime / 1000);
    done();
  });

  app.setErrorHandler((error: FastifyError, request, reply) => {
    if (error instanceof AppError) {
      if (error.status >= 500) request.log.error({ err: error }, 'request failed');
      return sendProblem(request, reply, error);
    }
    if (error.validation) {
      const errors = fieldErrors(error);
      return sendProblem(
        request,
        reply,
        new AppError('VALIDATION_FAILED', errors.map((e) => `${e.field}: ${e.message}`).join('; '), { errors }),
      );
    }
    const known: Record<string, ErrorCode> = {
      FST_ERR_CTP_BODY_TOO_LARGE: 'FILE_TOO_LARGE',
      FST_ERR_CTP_INVALID_MEDIA_TYPE: 'VALIDATION_FAILED',
      FST_ERR_CTP_INVALID_JSON_BODY: 'VALIDATION_FAILED',
      FST_ERR_CTP_EMPTY_JSON_BODY: 'VALIDATION_FAILED',
      FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'VALIDATION_FAILED',
    };
    const mapped = error.code ? known[error.code] : undefined;
    if (mapped) return sendProblem(request, reply, new AppError(mapped, error.message));
    if (error.statusCode && error.statusCode >= 400 && error.statusCode < 500) {
      // Fastify's own 4xx (malformed request): safe, generic wording.
      return sendProblem(request, reply, new AppError('VALIDATION_FAILED', 'the request is malformed'));
    }
    request.log.error({ err: error }, 'unexpected error');
    // Never echo internals: a generic "platform failed internally" with the request id to quote.
    return sendProblem(request, reply, new AppError('SYSTEM_BUSY', `internal error, reference ${request.id}`));
  });

  app.setNotFoundHandler((request, reply) => {
    request.language = negotiateLanguage(request.headers['accept-language']);
    return sendProblem(request, reply, new AppError('NOT_FOUND', `no route ${request.method} ${request.url.split('?')[0]}`));
  });

  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());

  for (const register of options.routes) register(app);
  return app;
}
