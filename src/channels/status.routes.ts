import { Type } from 'typebox';
import { recordAudit } from '../audit/record-audit.js';
import type { Context } from '../context.js';
import { AppError, type Language } from '../domain/errors.js';
import type { App } from '../http/app.js';
import { Enum, Nullable, problems, Strict, Timestamp } from '../http/schemas.js';
import { actorRef } from '../identity/roles.js';
import { methodName } from '../recharges/recharge.repo.js';
import { PAYMENT_METHODS, type PaymentMethod } from './payment-channel.js';
import type { ChannelRouter, ProviderState } from './router.js';

const MethodState = Enum(['operational', 'degraded', 'maintenance'] as const);

const ProviderView = Type.Object({
  provider: Type.String(),
  methods: Type.Array(Enum(PAYMENT_METHODS)),
  state: Enum(['available', 'maintenance', 'circuit_open'] as const),
  maintenance: Nullable(Type.Object({ until: Nullable(Timestamp), message: Nullable(Type.String()) })),
  circuit_open_until: Nullable(Timestamp),
});

function methodMessage(
  method: PaymentMethod,
  state: 'operational' | 'degraded' | 'maintenance',
  detail: string | null,
  language: Language,
) {
  const name = methodName(method, language);
  if (state === 'operational') return language === 'en' ? `${name} is working normally` : `${name}服务正常`;
  if (state === 'maintenance') {
    const base =
      language === 'en' ? `${name} is under maintenance; please use another payment method` : `${name}正在维护中,请使用其他支付方式`;
    return detail ? `${base} (${detail})` : base;
  }
  return language === 'en' ? `${name} is partly degraded; payments may be slower` : `${name}部分通道异常,支付可能较慢`;
}

export function statusRoutes(ctx: Context, router: ChannelRouter) {
  const view = (state: ProviderState) => ({
    provider: state.provider,
    methods: [...(router.channel(state.provider)?.methods ?? [])],
    state: state.availability,
    maintenance: state.maintenance,
    circuit_open_until: state.circuitOpenUntil,
  });

  return (app: App) => {
    app.get(
      '/v1/status',
      {
        config: { auth: 'public' },
        schema: {
          tags: ['channels'],
          security: [],
          description: 'Which payment methods work right now, and current incidents (maintenance, outages).',
          response: {
            200: Type.Object({
              methods: Type.Array(Type.Object({ method: Enum(PAYMENT_METHODS), state: MethodState, message: Type.String() })),
              incidents: Type.Array(
                Type.Object({
                  id: Type.String(),
                  provider: Type.String(),
                  methods: Type.Array(Enum(PAYMENT_METHODS)),
                  kind: Enum(['maintenance', 'outage'] as const),
                  message: Type.String(),
                  started_at: Timestamp,
                  ends_at: Nullable(Timestamp),
                }),
              ),
            }),
          },
        },
      },
      async (request) => {
        const states = await router.states();
        const nowIso = ctx.clock.now().toISOString();
        const methods = PAYMENT_METHODS.map((method) => {
          const mine = states.filter((s) => router.channel(s.provider)?.methods.includes(method));
          const up = mine.filter((s) => s.availability === 'available');
          const state = up.length === 0 ? 'maintenance' : up.length < mine.length ? 'degraded' : 'operational';
          const detail = mine.find((s) => s.maintenance?.message)?.maintenance?.message ?? null;
          return { method, state, message: methodMessage(method, state, detail, request.language) } as const;
        });
        const incidents = await ctx.store.db
          .selectFrom('incidents')
          .selectAll()
          .where('ended_at', 'is', null)
          .where((eb) => eb.or([eb('ends_at', 'is', null), eb('ends_at', '>', nowIso)]))
          .orderBy('id', 'desc')
          .execute();
        return {
          methods,
          incidents: incidents.map((i) => ({
            id: i.id,
            provider: i.provider,
            methods: [...(router.channel(i.provider)?.methods ?? [])],
            kind: i.kind as 'maintenance' | 'outage',
            message: i.message,
            started_at: i.started_at,
            ends_at: i.ends_at,
          })),
        };
      },
    );

    app.post(
      '/v1/admin/providers/:provider/maintenance',
      {
        config: { auth: ['admin'] },
        schema: {
          tags: ['admin'],
          description: 'Start (or change) a maintenance window: the router stops using the provider until it ends.',
          params: Type.Object({ provider: Type.String({ maxLength: 64 }) }),
          body: Strict({
            until: Type.Optional(Nullable(Type.String({ format: 'date-time' }))),
            message: Type.String({ minLength: 1, maxLength: 500 }),
          }),
          response: { 200: ProviderView, ...problems('NOT_FOUND', 'UNAUTHENTICATED', 'FORBIDDEN') },
        },
      },
      async (request) => {
        const actor = request.actor;
        if (!actor) throw new AppError('UNAUTHENTICATED');
        const { provider } = request.params;
        if (!router.channel(provider)) throw new AppError('NOT_FOUND', 'no such provider');
        const until = request.body.until ? new Date(request.body.until).toISOString() : null;
        if (until && until <= ctx.clock.now().toISOString()) {
          throw new AppError('VALIDATION_FAILED', 'until must be in the future', {
            errors: [{ field: 'until', message: 'must be in the future' }],
          });
        }
        await router.startMaintenance(provider, { until, message: request.body.message });
        await recordAudit(ctx.store.db, {
          actor: actorRef(actor),
          action: 'provider.maintenance_started',
          targetType: 'provider',
          targetId: provider,
          data: { until, message: request.body.message },
          at: ctx.clock.now(),
        });
        const state = (await router.states()).find((s) => s.provider === provider);
        if (!state) throw new AppError('NOT_FOUND', 'no such provider');
        return view(state);
      },
    );

    app.delete(
      '/v1/admin/providers/:provider/maintenance',
      {
        config: { auth: ['admin'] },
        schema: {
          tags: ['admin'],
          description: 'End the maintenance window.',
          params: Type.Object({ provider: Type.String({ maxLength: 64 }) }),
          response: { 204: Type.Null(), ...problems('NOT_FOUND', 'UNAUTHENTICATED', 'FORBIDDEN') },
        },
      },
      async (request, reply) => {
        const actor = request.actor;
        if (!actor) throw new AppError('UNAUTHENTICATED');
        const { provider } = request.params;
        if (!router.channel(provider)) throw new AppError('NOT_FOUND', 'no such provider');
        if (await router.endMaintenance(provider)) {
          await recordAudit(ctx.store.db, {
            actor: actorRef(actor),
            action: 'provider.maintenance_ended',
            targetType: 'provider',
            targetId: provider,
            at: ctx.clock.now(),
          });
        }
        return reply.code(204).send(null);
      },
    );

    app.get(
      '/v1/admin/providers',
      {
        config: { auth: ['admin', 'finance', 'cs_agent'] },
        schema: {
          tags: ['admin'],
          response: { 200: Type.Object({ data: Type.Array(ProviderView) }), ...problems('UNAUTHENTICATED', 'FORBIDDEN') },
        },
      },
      async () => ({ data: (await router.states()).map(view) }),
    );
  };
}
