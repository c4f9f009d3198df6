/**
 * Walks a message's MIME tree once, streaming (mailsplit): each node's header block goes to a
 * visitor, which may ask for that node's decoded body (base64 and quoted-printable undone) as
 * a stream of chunks. Nothing of the message is copied whole; only a visitor that buffers a
 * part (an archive, say) holds that part.
 */
import { Readable, Writable } from 'node:stream';
import { finished, pipeline } from 'node:stream/promises';
import { once } from 'node:events';
import type { Transform } from 'node:stream';
import { Splitter, type MailsplitChunk, type MimeNode } from 'mailsplit';

export interface PartSink {
  write(chunk: Buffer): void;
  end(): void;
}

export interface MimeVisitor {
  /** A node's headers have been read. `depth` is 0 for the message itself. */
  node(node: MimeNode, depth: number): PartSink | null;
}

export interface WalkLimits {
  /** Deepest nesting of multiparts and attached messages. */
  maxDepth: number;
  /** Largest header block of one node, in bytes. */
  maxHeadSize: number;
  /** Most MIME nodes in one message. */
  maxNodes: number;
}

/** null when the walk completed, else why the structure could not be walked. */
export type WalkFault = string | null;

const CHUNK = 64 * 1024;

class StructureFault extends Error {}

export async function walkMime(message: Buffer, visitor: MimeVisitor, limits: WalkLimits): Promise<WalkFault> {
  const splitter = new Splitter({ maxHeadSize: limits.maxHeadSize, maxChildNodes: limits.maxNodes });
  let current: { decoder: Transform; sink: PartSink } | null = null;

  const finishCurrent = async (): Promise<void> => {
    if (!current) return;
    const { decoder, sink } = current;
    current = null;
    decoder.end();
    await finished(decoder);
    sink.end();
  };

  const consumer = new Writable({
    objectMode: true,
    write(item: MimeNode | MailsplitChunk, _enc, done) {
      (async () => {
        if (item.type === 'node') {
          await finishCurrent();
          const depth = depthOf(item);
          if (depth > limits.maxDepth) {
            throw new StructureFault(`MIME parts nested more than ${limits.maxDepth} levels deep`);
          }
          const sink = visitor.node(item, depth);
          if (sink && !item.multipart) {
            const decoder = item.getDecoder();
            decoder.on('data', (chunk: Buffer) => sink.write(chunk));
            current = { decoder, sink };
          }
        } else if (item.type === 'body' && current) {
          if (!current.decoder.write(item.value)) await once(current.decoder, 'drain');
        }
      })().then(() => done(), done);
    },
    final(done) {
      finishCurrent().then(() => done(), done);
    },
  });

  try {
    await pipeline(Readable.from(slices(message)), splitter, consumer);
    return null;
  } catch (err) {
    if (err instanceof StructureFault) return err.message;
    const e = err as NodeJS.ErrnoException;
    if (e.code === 'EMAXLEN') {
      return /child nodes/i.test(e.message)
        ? `more than ${limits.maxNodes} MIME parts`
        : `a header section larger than ${limits.maxHeadSize} bytes`;
    }
    throw err;
  }
}

/** Views into the message, so feeding the parser copies nothing. */
function* slices(message: Buffer): Generator<Buffer> {
  for (let off = 0; off < message.length; off += CHUNK) yield message.subarray(off, off + CHUNK);
}

function depthOf(node: MimeNode): number {
  let depth = 0;
  for (let p = node.parentNode; p; p = p.parentNode) depth++;
  return depth;
}
