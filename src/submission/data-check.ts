/**
 * Byte checks on a message while it streams in, before anything else looks at it:
 *
 * - every line ends with CRLF: a bare LF or a bare CR anywhere refuses the message
 *   (550 5.6.2). SMTP smuggling relies on a receiver that ends DATA at something other than
 *   CRLF.CRLF (RFC 5321 section 4.1.1.4) while the next hop reads it differently; refusing
 *   every bare line end means no such sequence is ever queued or relayed;
 * - no line longer than 998 octets (RFC 5322 section 2.1.1; RFC 5321 4.5.3.1.6);
 * - the size limit (RFC 1870): 552 5.3.4.
 *
 * The input is the dot-unstuffed data stream of smtp-server, which ends DATA only at
 * CRLF.CRLF. Chunks are kept (once) until the end; after the first violation they are
 * dropped and the rest is only counted, so an oversized or broken message costs no memory.
 */
import { allocWithHeadroom } from '../intake/headroom.js';
import { replies, type Reply } from '../reply/reply.js';

const CR = 0x0d;
const LF = 0x0a;
const MAX_LINE = 998;
const EMPTY = Buffer.alloc(0);

export class MessageCollector {
  private chunks: Buffer[] = [];
  private size = 0;
  private lastByte = -1;
  /** Octets of the current line so far, its CR included. */
  private lineLen = 0;
  /** The previous chunk ended with a CR: the next one must start with LF. */
  private pendingCr = false;
  violation: Reply | null = null;

  constructor(private readonly maxSize: number) {}

  get bytes(): number {
    return this.size;
  }

  feed(chunk: Buffer): void {
    this.size += chunk.length;
    if (this.violation) return;
    if (this.size > this.maxSize) return this.fail(replies.tooBig(this.maxSize));
    const v = this.scan(chunk);
    if (v) return this.fail(v);
    this.chunks.push(chunk);
  }

  /**
   * The whole message in one buffer with room for added headers in front (headroom.ts);
   * each chunk is let go as soon as it is copied, so the message is held about once.
   */
  take(): Buffer {
    const all = allocWithHeadroom(this.violation ? 0 : this.size);
    const chunks = this.chunks;
    this.chunks = [];
    let at = 0;
    for (let i = 0; i < chunks.length; i++) {
      at += chunks[i]!.copy(all, at);
      chunks[i] = EMPTY;
    }
    return all;
  }

  private fail(r: Reply): void {
    this.violation = r;
    this.chunks = [];
  }

  private scan(b: Buffer): Reply | null {
    if (b.length === 0) return null;
    if (this.pendingCr && b[0] !== LF) return replies.bareCr;
    this.pendingCr = false;

    // Every LF must follow a CR; measure each line on the way.
    let lineStart = 0;
    for (let i = b.indexOf(LF); i >= 0; i = b.indexOf(LF, i + 1)) {
      const prev = i > 0 ? b[i - 1] : this.lastByte;
      if (prev !== CR) return replies.bareLf;
      if (this.lineLen + (i - lineStart) - 1 > MAX_LINE) return replies.lineTooLong;
      this.lineLen = 0;
      lineStart = i + 1;
    }
    this.lineLen += b.length - lineStart;
    // One more octet is allowed for a CR that waits for its LF in the next chunk.
    if (this.lineLen > MAX_LINE + 1) return replies.lineTooLong;

    // Every CR must be followed by an LF.
    for (let j = b.indexOf(CR); j >= 0; j = b.indexOf(CR, j + 1)) {
      if (j === b.length - 1) {
        this.pendingCr = true;
        break;
      }
      if (b[j + 1] !== LF) return replies.bareCr;
    }
    this.lastByte = b[b.length - 1]!;
    return null;
  }
}
