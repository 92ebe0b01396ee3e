/** A message on its way out by email or SMS, rendered once and sent under its stable id. */
export interface OutgoingMessage {
  /** Our message id (`msg_…`): the email Message-ID and the SMS OutId, the same on every retry. */
  id: string;
  event: string;
  /** Email address or phone number. */
  to: string;
  title: string;
  body: string;
  /** Values of the event's variables (amount, …), for providers that send approved templates. */
  params: Record<string, string>;
}

export type SendResult =
  /** The provider accepted it. */
  | { outcome: 'delivered'; provider: string; providerMessageId: string | null }
  /** No transport configured: the message is kept in the outbox, readable by the customer and staff. */
  | { outcome: 'kept'; provider: string };

/**
 * The provider refused or could not be reached. `permanent` faults (a mailbox that does not
 * exist, a number the carrier rejects) are not retried; everything else is, with backoff.
 */
export class DeliveryFault extends Error {
  constructor(
    message: string,
    readonly permanent: boolean,
  ) {
    super(message);
  }
}

export interface MessageTransport {
  readonly name: string;
  send(message: OutgoingMessage): Promise<SendResult>;
  close(): void;
}
