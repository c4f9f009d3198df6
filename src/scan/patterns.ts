/**
 * The two industry test strings every scanner must recognise: EICAR (anti-virus) and GTUBE
 * (anti-spam). Each is built from two halves so that this file itself, and the compiled
 * JavaScript, is never flagged by a scanner that reads the source tree.
 */

/** https://www.eicar.org/download-anti-malware-testfile/ : 68 bytes. */
export const EICAR = Buffer.from(
  'X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDA' + 'RD-ANTIVIRUS-TEST-FILE!$H+H*',
  'latin1',
);

/** The Generic Test for Unsolicited Bulk Email, as SpamAssassin and rspamd know it. */
export const GTUBE = Buffer.from(
  'XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STAND' + 'ARD-ANTI-UBE-TEST-EMAIL*C.34X',
  'latin1',
);

export const LONGEST_PATTERN = Math.max(EICAR.length, GTUBE.length);

/**
 * Finds the test strings in a stream of chunks. A string may be split over two chunks, so the
 * last bytes of each chunk are kept and searched together with the head of the next one.
 */
export class PatternWatcher {
  eicar = false;
  gtube = false;
  private tail: Buffer = Buffer.alloc(0);

  write(chunk: Buffer): void {
    if (this.eicar && this.gtube) return;
    const keep = LONGEST_PATTERN - 1;
    if (this.tail.length > 0) this.look(Buffer.concat([this.tail, chunk.subarray(0, keep)]));
    this.look(chunk);
    // Copy, so the kept tail does not pin a large chunk in memory; short chunks add up.
    this.tail = chunk.length >= keep
      ? Buffer.from(chunk.subarray(chunk.length - keep))
      : Buffer.concat([this.tail, chunk]).subarray(-keep);
  }

  private look(buf: Buffer): void {
    if (!this.eicar && buf.includes(EICAR)) this.eicar = true;
    if (!this.gtube && buf.includes(GTUBE)) this.gtube = true;
  }
}
