import type { Config } from '../config.js';
import { AliyunSmsTransport } from './aliyun-sms.js';
import type { MessageTransport, SendResult } from './transport.js';

/**
 * The default SMS provider: sends nothing and keeps each message in the outbox (the
 * notifications table), where the customer and staff can read it.
 */
export class RecordingSmsTransport implements MessageTransport {
  readonly name = 'recording';
  async send(): Promise<SendResult> {
    return { outcome: 'kept', provider: this.name };
  }
  close(): void {}
}

export function createSmsTransport(config: Pick<Config, 'smsProvider' | 'aliyunSms'>): MessageTransport {
  if (config.smsProvider === 'aliyun' && config.aliyunSms) return new AliyunSmsTransport(config.aliyunSms);
  return new RecordingSmsTransport();
}
