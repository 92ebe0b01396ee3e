import { Type } from 'typebox';
import type { Context } from '../context.js';
import { AppError } from '../domain/errors.js';
import type { App } from '../http/app.js';
import { Email, Enum, Nullable, problems, Strict, Timestamp } from '../http/schemas.js';
import { createStaff } from './create-staff.js';
import { logIn } from './log-in.js';
import { registerCustomer } from './register-customer.js';
import { actorRef, STAFF_ROLES } from './roles.js';
import { findUserById, toUserView } from './users.repo.js';

const User = Type.Object({
  id: Type.String(),
  email: Type.String(),
  phone: Nullable(Type.String()),
  name: Nullable(Type.String()),
  roles: Type.Array(Type.String()),
  locale: Type.String(),
  created_at: Timestamp,
});
const Password = Type.String({ minLength: 8, maxLength: 128 });
const Phone = Type.String({ pattern: '^(\\+[1-9]\\d{6,14}|1[3-9]\\d{9})$', description: 'mainland (13800138000) or E.164' });
const Session = Type.Object({ user: User, token: Type.String() });

export function identityRoutes(ctx: Context) {
  return (app: App) => {
    app.post(
      '/v1/auth/register',
      {
        config: { auth: 'public' },
        schema: {
          tags: ['auth'],
          security: [],
          body: Strict({
            email: Email,
            password: Password,
            phone: Type.Optional(Nullable(Phone)),
            name: Type.Optional(Nullable(Type.String({ minLength: 1, maxLength: 100 }))),
            locale: Type.Optional(Type.Union([Type.Literal('zh-CN'), Type.Literal('en')])),
          }),
          response: { 201: Session, ...problems('RATE_LIMITED') },
        },
      },
      async (request, reply) => {
        const result = await registerCustomer(ctx, { ...request.body, clientIp: request.ip });
        return reply.code(201).send(result);
      },
    );

    app.post(
      '/v1/auth/login',
      {
        config: { auth: 'public' },
        schema: {
          tags: ['auth'],
          security: [],
          body: Strict({ email: Type.String({ maxLength: 254 }), password: Type.String({ maxLength: 128 }) }),
          response: { 200: Session, ...problems('UNAUTHENTICATED', 'RATE_LIMITED') },
        },
      },
      async (request) => logIn(ctx, { ...request.body, clientIp: request.ip }),
    );

    app.get(
      '/v1/me',
      {
        config: { auth: 'any' },
        schema: { tags: ['auth'], response: { 200: User, ...problems('UNAUTHENTICATED') } },
      },
      async (request) => {
        const user = await findUserById(ctx.store.db, request.actor?.id ?? '');
        if (!user) throw new AppError('UNAUTHENTICATED');
        return toUserView(user);
      },
    );

    app.post(
      '/v1/admin/staff',
      {
        config: { auth: ['admin'] },
        schema: {
          tags: ['admin'],
          body: Strict({
            email: Email,
            password: Password,
            role: Enum(STAFF_ROLES),
            name: Type.Optional(Nullable(Type.String({ minLength: 1, maxLength: 100 }))),
          }),
          response: { 201: User, ...problems('UNAUTHENTICATED', 'FORBIDDEN') },
        },
      },
      async (request, reply) => {
        const actor = request.actor;
        if (!actor) throw new AppError('UNAUTHENTICATED');
        const user = await createStaff(ctx, request.body, actorRef(actor));
        return reply.code(201).send(user);
      },
    );
  };
}
