import { type Logger, pino } from 'pino';

/**
 * Secrets and card data never reach a log line, whatever object they ride in: tokens,
 * passwords, full card numbers and verification codes are censored by path.
 */
export const REDACTED_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'password',
  'token',
  'card_number',
  'verification_code',
  '*.password',
  '*.token',
  '*.card_number',
  '*.verification_code',
  '*.*.password',
  '*.*.token',
  '*.*.card_number',
  '*.*.verification_code',
  'headers.authorization',
];

export function createLogger(level: string): Logger {
  return pino({ level, redact: { paths: REDACTED_PATHS, censor: '[redacted]' } });
}
