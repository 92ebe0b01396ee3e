import { type Transporter, createTransport } from 'nodemailer';
import type { Config } from '../config.js';
import { DeliveryFault, type MessageTransport, type OutgoingMessage, type SendResult } from './transport.js';

/** SMTP reply codes 5xx are final (no such mailbox, policy); 4xx and socket errors are worth another try. */
function faultOf(error: unknown): DeliveryFault {
  const e = error as { message?: unknown; responseCode?: unknown; code?: unknown };
  const message = typeof e.message === 'string' ? e.message : String(error);
  const responseCode = typeof e.responseCode === 'number' ? e.responseCode : null;
  const permanent = responseCode !== null && responseCode >= 500 && responseCode < 600;
  return new DeliveryFault(`smtp: ${responseCode ?? (typeof e.code === 'string' ? e.code : 'error')} ${message}`.slice(0, 500), permanent);
}

/** Nodemailer over the SMTP server of `SMTP_URL`. */
class SmtpTransport implements MessageTransport {
  readonly name = 'smtp';
  private readonly transporter: Transporter;

  constructor(
    url: string,
    private readonly from: string,
  ) {
    this.transporter = createTransport({
      url,
      // A stuck server must fail the attempt (and be retried), not hold the worker.
      connectionTimeout: 10_000,
      greetingTimeout: 10_000,
      socketTimeout: 30_000,
    });
  }

  async send(message: OutgoingMessage): Promise<SendResult> {
    try {
      const info = await this.transporter.sendMail({
        from: this.from,
        to: message.to,
        subject: message.title,
        text: message.body,
        // The stable message id: a receiving system can drop a copy sent again after a crash.
        messageId: `<${message.id}@topup>`,
        headers: { 'X-Topup-Event': message.event },
      });
      return { outcome: 'delivered', provider: this.name, providerMessageId: typeof info.messageId === 'string' ? info.messageId : null };
    } catch (error) {
      throw faultOf(error);
    }
  }

  close(): void {
    this.transporter.close();
  }
}

/** No SMTP server configured: mail is kept in the outbox (the notifications table) instead of dropped. */
class KeepingTransport implements MessageTransport {
  readonly name = 'outbox';
  async send(): Promise<SendResult> {
    return { outcome: 'kept', provider: this.name };
  }
  close(): void {}
}

export function createMailTransport(config: Pick<Config, 'smtpUrl' | 'mailFrom'>): MessageTransport {
  return config.smtpUrl ? new SmtpTransport(config.smtpUrl, config.mailFrom) : new KeepingTransport();
}
