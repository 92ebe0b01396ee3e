import fs from 'node:fs/promises';
import path from 'node:path';
import { createTransport, type Transporter } from 'nodemailer';
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

/**
 * No SMTP server configured: mail is kept instead of dropped — in the outbox (the notifications
 * table, read by the customer and by staff) and as a mail drop, `DATA_DIR/mail/<message id>.eml`,
 * the exact message that would have been sent.
 */
class KeepingTransport implements MessageTransport {
  readonly name = 'outbox';
  private readonly composer: Transporter = createTransport({ streamTransport: true, buffer: true, newline: 'unix' });

  constructor(
    private readonly dropDir: string,
    private readonly from: string,
  ) {}

  async send(message: OutgoingMessage): Promise<SendResult> {
    const info = await this.composer.sendMail({
      from: this.from,
      to: message.to,
      subject: message.title,
      text: message.body,
      messageId: `<${message.id}@topup>`,
      headers: { 'X-Topup-Event': message.event },
    });
    const raw: unknown = info.message;
    // The file is named by our own message id (`msg_…`), checked to be a plain name.
    if (Buffer.isBuffer(raw) && /^[a-z0-9_]+$/.test(message.id)) {
      await fs.mkdir(this.dropDir, { recursive: true });
      await fs.writeFile(path.join(this.dropDir, `${message.id}.eml`), raw);
    }
    return { outcome: 'kept', provider: this.name };
  }

  close(): void {
    this.composer.close();
  }
}

export function createMailTransport(config: Pick<Config, 'smtpUrl' | 'mailFrom' | 'dataDir'>): MessageTransport {
  return config.smtpUrl
    ? new SmtpTransport(config.smtpUrl, config.mailFrom)
    : new KeepingTransport(path.join(config.dataDir, 'mail'), config.mailFrom);
}
