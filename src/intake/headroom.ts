/**
 * Room in front of a message for the header lines the gateway adds, so that adding them does
 * not copy a message of tens of megabytes once more. The SMTP session collects the message
 * into one buffer with free space before it; prepend() writes the added lines into that space
 * and returns a view of the whole. A message without such room (webmail, tests) is copied.
 */

/** Enough for a Received line, Message-ID, Date and scanner headers. */
const HEADROOM = 8192;

const room = new WeakMap<Buffer, number>();

/** A buffer of `size` bytes with free space in front of it, for prepend(). */
export function allocWithHeadroom(size: number): Buffer {
  const whole = Buffer.allocUnsafe(HEADROOM + size);
  const message = whole.subarray(HEADROOM);
  room.set(message, HEADROOM);
  return message;
}

/** `head` followed by `message`, written in place when `message` has room in front. */
export function prepend(head: Buffer, message: Buffer): Buffer {
  const free = room.get(message) ?? 0;
  if (head.length > free) return Buffer.concat([head, message]);
  // The room is used up: a second prepend must not write over these lines.
  room.delete(message);
  const start = message.byteOffset - head.length;
  const whole = Buffer.from(message.buffer, start, head.length + message.length);
  head.copy(whole, 0);
  return whole;
}
