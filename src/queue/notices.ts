/**
 * Puts a delivery status notification into the queue like any message: kind 'notice', the
 * null reverse-path as sender (so a notice that fails is dropped, never answered: no loops),
 * addressed to the original sender. The caller has already checked that one is wanted.
 */
import type { LoadedConfig } from '../config/load.js';
import { buildNotice } from '../dsn/build.js';
import type { NoticeAction, NoticeRecipient } from '../dsn/fields.js';
import { maillog } from '../maillog/log.js';
import type { MessageRow, Store } from '../store/store.js';
import { newQueueId } from './ids.js';

export interface NoticeContext {
  store: Store;
  cfg: Pick<LoadedConfig, 'hostname'>;
  now: () => number;
  /** Called once the notice is stored, to wake the queue runner. */
  onQueued?: () => void;
}

/** Builds and queues one notice; returns its queue id, or null when none may be sent. */
export async function queueNotice(
  ctx: NoticeContext,
  msg: Pick<MessageRow, 'id' | 'sender' | 'created' | 'envid' | 'ret' | 'kind' | 'smtputf8'>,
  body: Buffer | null,
  action: NoticeAction,
  recipients: NoticeRecipient[],
  expired = false,
): Promise<string | null> {
  if (recipients.length === 0 || msg.sender === '' || msg.kind === 'notice') return null;
  const now = ctx.now();
  const id = newQueueId(now);
  const bytes = await buildNotice({
    action,
    hostname: ctx.cfg.hostname,
    messageId: `${id}@${ctx.cfg.hostname}`,
    original: { id: msg.id, sender: msg.sender, created: msg.created, envid: msg.envid, ret: msg.ret, body },
    recipients,
    expired,
    now,
  });
  await ctx.store.insertMessage({
    id,
    sender: '',
    recipients: [{ address: msg.sender }],
    body: bytes,
    created: now,
    principal: 'system:notice',
    // The original's headers travel inside the notice: UTF-8 there needs SMTPUTF8 too.
    smtputf8: msg.smtputf8 || /[^\x00-\x7f]/.test(msg.sender),
    eightBit: bytes.some((b) => b > 0x7f),
    kind: 'notice',
  });
  maillog.notice(msg.id, { notice: id, action, to: msg.sender, recipients: recipients.map((r) => r.address) });
  ctx.onQueued?.();
  return id;
}
