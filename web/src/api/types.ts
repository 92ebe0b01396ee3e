/**
 * Names for the generated request and response types (`schema.d.ts`, from the server's OpenAPI document).
 * Nothing here is retyped: every alias points into `paths`.
 */
import type { paths } from './schema';

type Json<R> = R extends { content: { 'application/json': infer T } } ? T : never;
type Responses<P extends keyof paths, M extends keyof paths[P]> = paths[P][M] extends { responses: infer R } ? R : never;

/** The JSON body of a 200 or 201 answer. */
export type Ok<P extends keyof paths, M extends keyof paths[P]> =
  Responses<P, M> extends { 200: infer A } ? Json<A> : Responses<P, M> extends { 201: infer B } ? Json<B> : never;

/** The JSON request body. */
export type Body<P extends keyof paths, M extends keyof paths[P]> = paths[P][M] extends {
  requestBody: { content: { 'application/json': infer B } };
}
  ? B
  : paths[P][M] extends { requestBody?: { content: { 'application/json': infer B } } }
    ? B
    : never;

/** The query string parameters. */
export type Query<P extends keyof paths, M extends keyof paths[P]> = paths[P][M] extends { parameters: { query?: infer Q } }
  ? NonNullable<Q>
  : never;

type Item<L> = L extends { data: (infer T)[] } ? T : never;

export type Me = Ok<'/v1/me', 'get'>;
export type Session = Ok<'/v1/auth/login', 'post'>;
export type Balance = Ok<'/v1/balance', 'get'>;
export type Movement = Item<Ok<'/v1/balance/transactions', 'get'>>;
export type Reminder = Ok<'/v1/balance/reminder', 'get'>;
export type AutoRecharge = Ok<'/v1/balance/auto-recharge', 'get'>;
export type AutoRechargeBody = Body<'/v1/balance/auto-recharge', 'put'>;
export type Recharge = Ok<'/v1/recharges', 'post'>;
export type RechargeBody = Body<'/v1/recharges', 'post'>;
export type RechargeQuery = Query<'/v1/recharges', 'get'>;
export type RechargeDetail = Ok<'/v1/recharges/{id}', 'get'>;
export type Attempt = RechargeDetail['attempts'][number];
export type RechargeStatus = Recharge['status'];
export type PaymentMethod = Recharge['method'];
export type Failure = NonNullable<Recharge['failure']>;
export type ErrorCode = Failure['code'];
export type Refund = Ok<'/v1/refunds/{id}', 'get'>;
export type RefundStatus = Refund['status'];
export type RefundReason = Refund['reason'];
export type ServiceStatus = Ok<'/v1/status', 'get'>;
export type MethodState = ServiceStatus['methods'][number];
export type Incident = ServiceStatus['incidents'][number];
export type Provider = Item<Ok<'/v1/admin/providers', 'get'>>;
export type Dashboard = Ok<'/v1/admin/dashboard', 'get'>;
export type CustomerHistory = Ok<'/v1/admin/customers/{id}', 'get'>;
export type AuditEntry = Item<Ok<'/v1/admin/audit', 'get'>>;
export type AuditQuery = Query<'/v1/admin/audit', 'get'>;
export type StaffRole = Body<'/v1/admin/staff', 'post'>['role'];
export type Role = StaffRole | 'customer';
export type RefundBody = Body<'/v1/refunds', 'post'>;
export type Evidence = Ok<'/v1/evidence', 'post'>;
export type AdminRefund = Item<Ok<'/v1/admin/refunds', 'get'>>;
export type AdminRefundDetail = Ok<'/v1/admin/refunds/{id}', 'get'>;
export type AdminRefundQuery = Query<'/v1/admin/refunds', 'get'>;
export type Check = AdminRefundDetail['checks'][number];
export type CompensationBody = Body<'/v1/admin/compensations', 'post'>;
export type Notification = Item<Ok<'/v1/notifications', 'get'>>;
