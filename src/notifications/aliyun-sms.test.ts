import { createHash, createHmac, randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, recharge } from '../../test/support/recharge-helpers.js';
import { startTestServer, type TestServer } from '../../test/support/test-server.js';
import { loadConfig } from '../config.js';
import { AliyunSmsTransport } from './aliyun-sms.js';
import { isValidPhone, toAliyunNumber } from './phone.js';
import { DeliveryFault, type OutgoingMessage } from './transport.js';

const KEY_ID = 'LTAI-test-key';
const KEY_SECRET = 'test-secret-of-the-peer';

interface Received {
  action: string;
  params: Record<string, string>;
  signatureValid: boolean;
  credential: string;
}

/** RFC 3986 percent-encoding, as Alibaba Cloud's V3 signature canonicalizes the query. */
function percent(value: string): string {
  return encodeURIComponent(value).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/**
 * Checks an ACS3-HMAC-SHA256 signature the way Alibaba Cloud does, from the spec (not from the
 * SDK): canonical request → SHA-256 → HMAC with the AccessKey secret.
 */
function verifyAcs3(request: http.IncomingMessage, body: Buffer, url: URL): { valid: boolean; credential: string } {
  const authorization = request.headers.authorization ?? '';
  const match = /^ACS3-HMAC-SHA256 Credential=([^,]+),SignedHeaders=([^,]+),Signature=([0-9a-f]+)$/.exec(authorization);
  if (!match) return { valid: false, credential: '' };
  const [, credential = '', signedHeaders = '', signature = ''] = match;
  const query = [...url.searchParams.entries()]
    .map(([k, v]) => [percent(k), percent(v)] as const)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([k, v]) => `${k}=${v}`)
    .join('&');
  const names = signedHeaders.split(';');
  const headers = names.map((name) => `${name}:${String(request.headers[name] ?? '').trim()}\n`).join('');
  const payloadHash = createHash('sha256').update(body).digest('hex');
  if (payloadHash !== request.headers['x-acs-content-sha256']) return { valid: false, credential };
  const canonical = [request.method, url.pathname, query, headers, signedHeaders, payloadHash].join('\n');
  const stringToSign = `ACS3-HMAC-SHA256\n${createHash('sha256').update(canonical).digest('hex')}`;
  const expected = createHmac('sha256', KEY_SECRET).update(stringToSign).digest('hex');
  return { valid: expected === signature && names.includes('host') && names.includes('x-acs-date'), credential };
}

/** A local stand-in for the Dysmsapi endpoint: records what arrived, answers as configured. */
async function startPeer() {
  const received: Received[] = [];
  let answer: { status: number; body: Record<string, unknown> } = {
    status: 200,
    body: { Code: 'OK', Message: 'OK', BizId: 'biz-1', RequestId: 'req-1' },
  };
  const server = http.createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (c: Buffer) => chunks.push(c));
    request.on('end', () => {
      const body = Buffer.concat(chunks);
      const url = new URL(request.url ?? '/', 'http://peer');
      const { valid, credential } = verifyAcs3(request, body, url);
      received.push({
        action: String(request.headers['x-acs-action'] ?? ''),
        params: Object.fromEntries(url.searchParams.entries()),
        signatureValid: valid,
        credential,
      });
      response.writeHead(answer.status, { 'content-type': 'application/json' });
      response.end(JSON.stringify(answer.body));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    received,
    answer(status: number, body: Record<string, unknown>) {
      answer = { status, body };
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

type Peer = Awaited<ReturnType<typeof startPeer>>;

function message(overrides: Partial<OutgoingMessage> = {}): OutgoingMessage {
  return {
    id: 'msg_01test',
    event: 'recharge.failed',
    to: '13800138000',
    title: '充值未成功',
    body: '…',
    params: { amount: '¥66.04', recharge_id: 'rch_1' },
    ...overrides,
  };
}

describe('phone numbers', () => {
  it('accepts mainland and E.164 numbers and converts them for Alibaba Cloud', () => {
    for (const ok of ['13800138000', '19912345678', '+8613800138000', '+85212345678', '+14155550123']) expect(isValidPhone(ok)).toBe(true);
    for (const bad of ['12345', '12800138000', '1380013800', '+0123456789', '8613800138000x', '', '+86 138 0013 8000']) {
      expect(isValidPhone(bad), bad).toBe(false);
    }
    expect(toAliyunNumber('13800138000')).toBe('13800138000');
    expect(toAliyunNumber('+8613800138000')).toBe('13800138000');
    expect(toAliyunNumber('+85212345678')).toBe('85212345678');
    expect(toAliyunNumber('12345')).toBeNull();
  });
});

describe('Alibaba Cloud SMS provider (official SDK against a local peer)', () => {
  let peer: Peer;
  let transport: AliyunSmsTransport;
  beforeAll(async () => {
    peer = await startPeer();
    const config = loadConfig({
      TOPUP_SMS_PROVIDER: 'aliyun',
      TOPUP_ALIYUN_SMS_ACCESS_KEY_ID: KEY_ID,
      TOPUP_ALIYUN_SMS_ACCESS_KEY_SECRET: KEY_SECRET,
      TOPUP_ALIYUN_SMS_SIGN_NAME: 'Topup充值',
      TOPUP_ALIYUN_SMS_ENDPOINT: peer.endpoint,
      TOPUP_ALIYUN_SMS_TEMPLATES: 'recharge.failed=SMS_100001, refund.succeeded=SMS_100002',
    });
    if (!config.aliyunSms) throw new Error('aliyun config missing');
    transport = new AliyunSmsTransport(config.aliyunSms);
  });
  afterAll(async () => {
    await peer?.close();
  });

  it('sends SendSms signed (ACS3-HMAC-SHA256) with sign name, the event’s template, its parameters and our id as OutId', async () => {
    peer.answer(200, { Code: 'OK', Message: 'OK', BizId: '900619746936498440^0', RequestId: 'F655A8D5' });
    const result = await transport.send(message({ to: '+8613800138000' }));
    expect(result).toEqual({ outcome: 'delivered', provider: 'aliyun', providerMessageId: '900619746936498440^0' });
    const last = peer.received.at(-1);
    expect(last?.signatureValid).toBe(true);
    expect(last?.credential).toBe(KEY_ID);
    expect(last?.action).toBe('SendSms');
    expect(last?.params).toMatchObject({
      PhoneNumbers: '13800138000',
      SignName: 'Topup充值',
      TemplateCode: 'SMS_100001',
      OutId: 'msg_01test',
    });
    expect(JSON.parse(last?.params.TemplateParam ?? '{}')).toEqual({ amount: '¥66.04', recharge_id: 'rch_1' });
  });

  it('maps refusals: a bad number is permanent, throttling and 5xx are retried, an event without a template is permanent', async () => {
    const fault = async (m: OutgoingMessage) => transport.send(m).catch((error: unknown) => error);
    peer.answer(200, { Code: 'isv.MOBILE_NUMBER_ILLEGAL', Message: '非法手机号', RequestId: 'x' });
    let error = await fault(message());
    expect(error).toBeInstanceOf(DeliveryFault);
    expect((error as DeliveryFault).permanent).toBe(true);
    expect((error as DeliveryFault).message).toContain('isv.MOBILE_NUMBER_ILLEGAL');

    peer.answer(200, { Code: 'isv.BUSINESS_LIMIT_CONTROL', Message: '触发流控', RequestId: 'x' });
    error = await fault(message());
    expect((error as DeliveryFault).permanent).toBe(false);

    peer.answer(503, { Code: 'ServiceUnavailable', Message: 'The request has failed due to a temporary failure of the server.' });
    error = await fault(message());
    expect(error).toBeInstanceOf(DeliveryFault);
    expect((error as DeliveryFault).permanent).toBe(false);

    const before = peer.received.length;
    error = await fault(message({ event: 'balance.low' }));
    expect((error as DeliveryFault).permanent).toBe(true);
    expect((error as DeliveryFault).message).toContain('no SMS template');
    error = await fault(message({ to: '12345' }));
    expect((error as DeliveryFault).permanent).toBe(true);
    expect(peer.received.length).toBe(before);
  });
});

describe('SMS through the service with TOPUP_SMS_PROVIDER=aliyun', () => {
  let peer: Peer;
  let server: TestServer;
  beforeAll(async () => {
    peer = await startPeer();
    server = await startTestServer({
      env: {
        TOPUP_SMS_PROVIDER: 'aliyun',
        TOPUP_ALIYUN_SMS_ACCESS_KEY_ID: KEY_ID,
        TOPUP_ALIYUN_SMS_ACCESS_KEY_SECRET: KEY_SECRET,
        TOPUP_ALIYUN_SMS_SIGN_NAME: 'Topup',
        TOPUP_ALIYUN_SMS_ENDPOINT: peer.endpoint,
        TOPUP_ALIYUN_SMS_TEMPLATES: 'recharge.failed=SMS_100001',
      },
    });
  });
  afterAll(async () => {
    await server?.close();
    await peer?.close();
  });

  it('texts a failed recharge to the phone on file, once, and records the provider’s id', async () => {
    peer.answer(200, { Code: 'OK', Message: 'OK', BizId: 'biz-77', RequestId: 'r' });
    const email = `s-${randomUUID()}@example.com`;
    const reg = await server.http.post('/v1/auth/register', { email, password: 'customer-pass-1', phone: '+8613912345678' });
    const token = reg.body.token as string;
    await recharge(server.http, token, 6604, 'alipay');
    const sms = await eventually(
      async () =>
        server.service.ctx.store.db
          .selectFrom('notifications')
          .selectAll()
          .where('customer_id', '=', reg.body.user.id)
          .where('channel', '=', 'sms')
          .executeTakeFirst(),
      (row) => row?.status === 'delivered',
    );
    expect(sms).toMatchObject({ provider: 'aliyun', provider_message_id: 'biz-77', recipient: '+8613912345678', event: 'recharge.failed' });
    const sent = peer.received.filter((r) => r.params.OutId === sms?.id);
    expect(sent).toHaveLength(1);
    expect(sent[0]?.signatureValid).toBe(true);
    expect(sent[0]?.params).toMatchObject({ PhoneNumbers: '13912345678', TemplateCode: 'SMS_100001', SignName: 'Topup' });
    expect(JSON.parse(sent[0]?.params.TemplateParam ?? '{}')).toMatchObject({ amount: '¥66.04' });
  });
});
