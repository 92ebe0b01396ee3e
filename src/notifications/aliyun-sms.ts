import Dysmsapi, { SendSmsRequest } from '@alicloud/dysmsapi20170525';
import { Config as OpenApiConfig } from '@alicloud/openapi-client';
import type { AliyunSmsConfig } from '../config.js';
import { toAliyunNumber } from './phone.js';
import { DeliveryFault, type MessageTransport, type OutgoingMessage, type SendResult } from './transport.js';

/** Alibaba Cloud answers these when the request itself is wrong: sending it again cannot help. */
const PERMANENT_CODES = new Set([
  'isv.MOBILE_NUMBER_ILLEGAL',
  'isv.MOBILE_COUNT_OVER_LIMIT',
  'isv.TEMPLATE_MISSING_PARAMETERS',
  'isv.INVALID_PARAMETERS',
  'isv.SMS_TEMPLATE_ILLEGAL',
  'isv.SMS_SIGNATURE_ILLEGAL',
  'isv.SMS_SIGN_ILLEGAL',
  'isv.PARAM_LENGTH_LIMIT',
  'isv.PARAM_NOT_SUPPORT_URL',
  'isv.BLACK_KEY_CONTROL_LIMIT',
  'isv.ACCOUNT_NOT_EXISTS',
  'isv.ACCOUNT_ABNORMAL',
  'isv.AMOUNT_NOT_ENOUGH',
  'isv.OUT_OF_SERVICE',
]);

/** `http://127.0.0.1:8080` → protocol and host; a bare host means HTTPS. */
function endpointOf(endpoint: string): { protocol: 'http' | 'https'; host: string } {
  const match = /^(https?):\/\/([^/]+)\/?$/.exec(endpoint);
  if (match?.[1] && match[2]) return { protocol: match[1] === 'http' ? 'http' : 'https', host: match[2] };
  return { protocol: 'https', host: endpoint.replace(/\/+$/, '') };
}

// The SDK is CommonJS with `exports.default = Client`: Node hands the default import over as the
// whole module, esbuild-based loaders (tsx, vitest) as the class itself. Take the class either way.
type ClientClass = (typeof Dysmsapi)['default'];
const loaded = Dysmsapi as unknown as { default?: ClientClass } | ClientClass;
const SmsClient: ClientClass = typeof loaded === 'function' ? loaded : (loaded.default as ClientClass);
type Client = InstanceType<ClientClass>;

/**
 * Alibaba Cloud SMS (短信服务) on its official SDK: `SendSms` with the sign name and the
 * approved template of the event, the event's values as template parameters, and our message
 * id as `OutId` so a delivery receipt can be matched to the message.
 */
export class AliyunSmsTransport implements MessageTransport {
  readonly name = 'aliyun';
  private readonly client: Client;

  constructor(private readonly config: AliyunSmsConfig) {
    const { protocol, host } = endpointOf(config.endpoint);
    this.client = new SmsClient(
      new OpenApiConfig({
        accessKeyId: config.accessKeyId,
        accessKeySecret: config.accessKeySecret,
        endpoint: host,
        protocol,
        connectTimeout: 5_000,
        readTimeout: 10_000,
      }) as unknown as ConstructorParameters<typeof SmsClient>[0],
    );
  }

  async send(message: OutgoingMessage): Promise<SendResult> {
    const templateCode = this.config.templates[message.event];
    if (!templateCode) throw new DeliveryFault(`aliyun: no SMS template configured for ${message.event}`, true);
    const phone = toAliyunNumber(message.to);
    if (!phone) throw new DeliveryFault('aliyun: not a valid phone number', true);
    let body: { code?: string; message?: string; bizId?: string } | undefined;
    try {
      const response = await this.client.sendSms(
        new SendSmsRequest({
          phoneNumbers: phone,
          signName: this.config.signName,
          templateCode,
          templateParam: JSON.stringify(message.params),
          outId: message.id,
        }),
      );
      body = response.body;
    } catch (error) {
      const e = error as { code?: unknown; statusCode?: unknown; message?: unknown };
      const status = typeof e.statusCode === 'number' ? e.statusCode : null;
      const code = typeof e.code === 'string' ? e.code : 'error';
      // 4xx other than throttling: our request or credentials are wrong; 5xx and network errors pass.
      const permanent = status !== null && status >= 400 && status < 500 && status !== 429 && !/throttl/i.test(code);
      throw new DeliveryFault(
        `aliyun: ${status ?? ''} ${code} ${typeof e.message === 'string' ? e.message : ''}`.trim().slice(0, 500),
        permanent,
      );
    }
    if (body?.code === 'OK') return { outcome: 'delivered', provider: this.name, providerMessageId: body.bizId ?? null };
    const code = body?.code ?? 'no answer';
    throw new DeliveryFault(`aliyun: ${code} ${body?.message ?? ''}`.trim().slice(0, 500), PERMANENT_CODES.has(code));
  }

  close(): void {}
}
