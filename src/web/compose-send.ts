/**
 * Sends a checked compose form through the same intake as SMTP submission: the sender check
 * (relay rights, blocks, rates, ownership, sender domain), each recipient's check, then the
 * scanners, restrictions and the durable queue. A refusal comes back as the gateway's reply,
 * turned into a sentence for the page; nothing here decides policy.
 */
import type { AppContext } from '../app.js';
import { checkRecipient, checkSender, submitMessage } from '../intake/intake.js';
import type { Principal, Submission } from '../intake/types.js';
import { formatReply, isTransient, replies, type Reply } from '../reply/reply.js';
import {
  ADDRESS_FIELDS,
  buildMessage,
  envelopeRecipients,
  type AddressField,
  type Attachment,
  type ValidCompose,
} from './compose-form.js';

export type SendResult =
  | { ok: true; queueId: string }
  | { ok: false; problem: string; field?: AddressField; fieldError?: string };

export interface SendInput {
  who: Principal;
  /** The host name the browser used, as the HELO name of this "session". */
  heloName: string;
  mail: ValidCompose;
  attachments: Attachment[];
}

export async function sendCompose(ctx: AppContext, input: SendInput): Promise<SendResult> {
  const { who, mail } = input;
  const sender = who.authUser!;

  const senderRefusal = await checkSender(ctx, who, sender);
  if (senderRefusal) return { ok: false, problem: refusalSentence(senderRefusal) };

  const rcpts = envelopeRecipients(mail);
  for (let i = 0; i < rcpts.length; i++) {
    const r = await checkRecipient(ctx, who, rcpts[i]!, i);
    if (r) {
      const field = fieldOf(mail, rcpts[i]!);
      return {
        ok: false,
        problem: `The recipient ${rcpts[i]} was refused. ${refusalSentence(r)}`,
        field,
        fieldError: `${rcpts[i]} was refused: ${r.text}.`,
      };
    }
  }

  const message = await buildMessage(sender, mail, input.attachments);
  const limit = ctx.cfg.smtp.max_message_size;
  if (message.length > limit) return { ok: false, problem: refusalSentence(replies.tooBig(limit)) };

  const submission: Submission = {
    ...who,
    heloName: input.heloName,
    clientHostname: null,
    protocol: who.tls ? 'HTTPS' : 'HTTP',
    tlsInfo: null,
    sender,
    recipients: rcpts.map((address) => ({ address })),
    envid: null,
    ret: null,
    // MailComposer encodes every non-ASCII part (quoted-printable or base64): 7bit only.
    eightBit: false,
    smtputf8: false,
  };
  const result = await submitMessage(ctx, submission, message);
  if (result.ok) return { ok: true, queueId: result.queueId };
  return { ok: false, problem: refusalSentence(result.reply) };
}

/** "The gateway answered: 554 5.7.1 Message refused: ..." plus what the user can do. */
export function refusalSentence(r: Reply): string {
  // Too many recipients in one message (4.5.3 at RCPT) will fail again however long one
  // waits: the list has to be split.
  const tooMany = r.enhanced === '4.5.3' && /recipients/i.test(r.text) && !/hour/i.test(r.text);
  const after = tooMany ? ' Send it as several messages with fewer recipients each.'
    : isTransient(r) ? ' This is a temporary problem: try again later.' : '';
  const text = formatReply(r);
  return `The gateway answered: ${text}${/[.!?]$/.test(text) ? '' : '.'}${after}`;
}

function fieldOf(mail: ValidCompose, address: string): AddressField {
  const a = address.toLowerCase();
  return ADDRESS_FIELDS.find((f) => mail[f].some((m) => m.address.toLowerCase() === a)) ?? 'to';
}
