import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';

/** One message as it arrived at the test SMTP server, decoded. */
export interface ReceivedMail {
  to: string[];
  from: string;
  subject: string;
  text: string;
  messageId: string;
  headers: Record<string, string>;
  raw: string;
}

export interface SmtpSink {
  url: string;
  received: ReceivedMail[];
  /** Answer RCPT TO for this address with an SMTP error (`451` transient, `550` permanent), `times` times. */
  reject(address: string, code: number, times?: number): void;
  /** Hold DATA for this address this long before accepting (a slow server, to race a second sender). */
  delay(address: string, ms: number): void;
  close(): Promise<void>;
}

function decodeWords(value: string): string {
  // RFC 2047 encoded words (=?UTF-8?B?…?= / =?UTF-8?Q?…?=); whitespace between two words is dropped.
  return value
    .replace(/\?=\s+=\?/g, '?==?')
    .replace(/=\?([^?]+)\?([BbQq])\?([^?]*)\?=/g, (_, _charset: string, encoding: string, text: string) =>
      encoding.toUpperCase() === 'B'
        ? Buffer.from(text, 'base64').toString('utf8')
        : Buffer.from(
            text.replace(/_/g, ' ').replace(/=([0-9A-Fa-f]{2})/g, (_m, hex: string) => String.fromCharCode(Number.parseInt(hex, 16))),
            'latin1',
          ).toString('utf8'),
    );
}

function decodeBody(body: string, encoding: string): string {
  if (encoding === 'base64') return Buffer.from(body.replace(/\s+/g, ''), 'base64').toString('utf8');
  if (encoding === 'quoted-printable') {
    const bytes = body
      .replace(/=\r?\n/g, '')
      .replace(/=([0-9A-Fa-f]{2})/g, (_m, hex: string) => String.fromCharCode(Number.parseInt(hex, 16)));
    return Buffer.from(bytes, 'latin1').toString('utf8');
  }
  return body;
}

/** Parses the single-part text mail nodemailer writes for our notifications. */
export function parseMail(raw: string, envelope: { from: string; to: string[] }): ReceivedMail {
  const split = raw.indexOf('\r\n\r\n');
  const head = raw.slice(0, split).replace(/\r\n[ \t]+/g, ' ');
  const body = raw.slice(split + 4);
  const headers: Record<string, string> = {};
  for (const line of head.split('\r\n')) {
    const colon = line.indexOf(':');
    if (colon > 0) headers[line.slice(0, colon).toLowerCase()] = line.slice(colon + 1).trim();
  }
  return {
    ...envelope,
    subject: decodeWords(headers.subject ?? ''),
    text: decodeBody(body, (headers['content-transfer-encoding'] ?? '7bit').toLowerCase()).replace(/\r\n/g, '\n'),
    messageId: headers['message-id'] ?? '',
    headers,
    raw,
  };
}

/** A real SMTP server on loopback (smtp-server, no TLS, no auth) that keeps what arrives. */
export async function startSmtpSink(): Promise<SmtpSink> {
  const received: ReceivedMail[] = [];
  const rejections = new Map<string, { code: number; times: number }>();
  const delays = new Map<string, number>();
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['AUTH', 'STARTTLS'],
    logger: false,
    onRcptTo(address, _session, callback) {
      const rule = rejections.get(address.address);
      if (rule && rule.times > 0) {
        rule.times--;
        const error = new Error(rule.code >= 500 ? 'mailbox unavailable' : 'try again later') as Error & { responseCode: number };
        error.responseCode = rule.code;
        callback(error);
        return;
      }
      callback();
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('end', () => {
        const to = session.envelope.rcptTo.map((r) => r.address);
        const from = session.envelope.mailFrom ? session.envelope.mailFrom.address : '';
        const wait = Math.max(0, ...to.map((t) => delays.get(t) ?? 0));
        setTimeout(() => {
          received.push(parseMail(Buffer.concat(chunks).toString('utf8'), { from, to }));
          callback();
        }, wait);
      });
    },
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.server.address() as AddressInfo;
  return {
    url: `smtp://127.0.0.1:${port}`,
    received,
    reject(address, code, times = 1) {
      rejections.set(address, { code, times });
    },
    delay(address, ms) {
      delays.set(address, ms);
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
