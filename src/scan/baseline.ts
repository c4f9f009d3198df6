/**
 * The built-in scanner: needs no daemon and is on by default, so a gateway without clamd or
 * rspamd still refuses the obvious. It finds
 *
 * - the EICAR anti-virus test file, in the message, in any decoded part and inside ZIP
 *   archives (malware, 554 5.7.1);
 * - the GTUBE anti-spam test string (spam, 550 5.7.1);
 * - attachments of executable types (scan.baseline.blocked_extensions), also by name inside
 *   ZIP archives (554 5.7.1);
 * - structures no mail program produces (550 5.6.0): a NUL byte in a header section (RFC 5322
 *   section 2.2 allows none; parsers disagree on where such a field ends), a message without
 *   any header field, more than one From field (RFC 5322 section 3.6 allows one; a second one
 *   is how some forgeries get past DMARC checks that read only the first), and MIME trees too
 *   deep, too wide or with header sections too large to be anything but an attack on parsers.
 *
 * A missing From field is let through: scripts that send with curl or a NAS produce it, and
 * RFC 6409 section 8 leaves such repairs to the submission server.
 */
import libmime from 'libmime';
import type { MimeNode } from 'mailsplit';
import { replies } from '../reply/reply.js';
import { walkMime, type PartSink } from './mime-walk.js';
import { EICAR, PatternWatcher } from './patterns.js';
import type { ScanEnvelope, ScanVerdict, Scanner } from './scanner.js';
import { listZip, looksLikeZip, readEntry } from './zip.js';

export interface BaselineOptions {
  /** File name extensions refused as attachments, without the dot, any case. */
  blockedExtensions: string[];
}

/** The name ClamAV's official database gives the test file; clients may know it. */
const EICAR_NAME = 'Eicar-Test-Signature';
const LIMITS = { maxDepth: 32, maxHeadSize: 1024 * 1024, maxNodes: 1000 };
/** Archives inside archives are opened this many levels deep. */
const MAX_ZIP_DEPTH = 3;
/** An archive entry is decompressed to look for the test file only up to this size. */
const MAX_ENTRY_BYTES = 1024 * 1024;
/** A nested archive is opened only up to this size. */
const MAX_NESTED_ZIP_BYTES = 16 * 1024 * 1024;
/** Trace fields added by relays on the way say nothing about what the client wrote. */
const TRACE_FIELDS = new Set(['received', 'return-path']);

interface Findings {
  malware: string | null;
  blocked: string | null;
  fault: string | null;
  gtube: boolean;
}

export class BaselineScanner implements Scanner {
  readonly name = 'baseline';
  private readonly blocked: Set<string>;

  constructor(opts: BaselineOptions) {
    this.blocked = new Set(opts.blockedExtensions.map((e) => e.replace(/^\./, '').toLowerCase()));
  }

  async scan(message: Buffer, _envelope: ScanEnvelope): Promise<ScanVerdict> {
    const found: Findings = { malware: null, blocked: null, fault: null, gtube: false };
    // The raw bytes first: a plain-text body, a preamble or a header is not decoded below.
    const raw = new PatternWatcher();
    raw.write(message);
    if (raw.eicar) found.malware = EICAR_NAME;
    found.gtube = raw.gtube;

    if (!found.malware) {
      const fault = await walkMime(message, { node: (node, depth) => this.visit(node, depth, found) }, LIMITS);
      found.fault ??= fault;
    }
    return verdictOf(found);
  }

  private visit(node: MimeNode, depth: number, found: Findings): PartSink | null {
    const head = node.getHeaders();
    if (head.includes(0)) found.fault ??= 'NUL byte in a header field';
    if (depth === 0) {
      const fields = node.headers.getList().filter((l) => l.key !== '');
      if (!fields.some((l) => !TRACE_FIELDS.has(l.key))) found.fault ??= 'no header fields';
      if (fields.filter((l) => l.key === 'from').length > 1) found.fault ??= 'more than one From field';
    }
    if (node.multipart) return null;

    for (const name of fileNames(node)) {
      if (this.isBlockedName(name)) found.blocked ??= name;
    }
    return new PartInspector(found, (name) => this.isBlockedName(name));
  }

  isBlockedName(name: string): boolean {
    // Windows ignores trailing dots and spaces: "invoice.exe. " runs as invoice.exe.
    const base = name.split(/[\\/]/).pop()!.replace(/[.\s]+$/, '');
    const dot = base.lastIndexOf('.');
    return dot >= 0 && this.blocked.has(base.slice(dot + 1).toLowerCase());
  }
}

function verdictOf(f: Findings): ScanVerdict {
  if (f.malware) {
    return { kind: 'reject', reason: 'malware', reply: replies.malware(f.malware), detail: f.malware };
  }
  if (f.blocked) {
    const detail = `attachment "${printable(f.blocked)}" is of a type that is not accepted (executable files)`;
    return { kind: 'reject', reason: 'content', reply: replies.blockedContent(detail), detail };
  }
  if (f.fault) {
    return { kind: 'reject', reason: 'content', reply: replies.malformedMessage(f.fault), detail: f.fault };
  }
  if (f.gtube) {
    return { kind: 'reject', reason: 'spam', reply: replies.spam('GTUBE test string'), detail: 'GTUBE' };
  }
  return { kind: 'clean' };
}

/**
 * Every name a part gives itself: Content-Disposition filename and Content-Type name (mail
 * clients differ in which one wins, so both are checked), RFC 2231 and RFC 2047 decoded.
 */
function fileNames(node: MimeNode): string[] {
  const names: string[] = [];
  const add = (v: string | undefined) => {
    if (!v) return;
    try {
      names.push(libmime.decodeWords(v));
    } catch {
      names.push(v);
    }
  };
  const disposition = node.headers.getFirst('Content-Disposition');
  if (disposition) add(libmime.parseHeaderValue(disposition).params.filename);
  const type = node.headers.getFirst('Content-Type');
  if (type) add(libmime.parseHeaderValue(type).params.name);
  if (node.filename) add(node.filename);
  return names;
}

/** Control characters from a client's file name never reach a reply line. */
function printable(s: string): string {
  return s.replace(/[\x00-\x1f\x7f"]/g, '?').slice(0, 100);
}

/**
 * Looks at one part's decoded bytes as they stream by: the test strings, and whether the part
 * is a ZIP archive, which is kept (only that part) to read its directory at the end.
 */
class PartInspector implements PartSink {
  private readonly watcher = new PatternWatcher();
  private head = Buffer.alloc(0);
  private zipChunks: Buffer[] | null = null;
  private decided = false;

  constructor(private readonly found: Findings, private readonly isBlockedName: (n: string) => boolean) {}

  write(chunk: Buffer): void {
    this.watcher.write(chunk);
    if (!this.decided) {
      this.head = Buffer.concat([this.head, chunk]);
      if (this.head.length < 4) return;
      this.decided = true;
      if (looksLikeZip(this.head)) this.zipChunks = [this.head];
      this.head = Buffer.alloc(0);
      return;
    }
    this.zipChunks?.push(chunk);
  }

  end(): void {
    if (this.watcher.eicar) this.found.malware ??= EICAR_NAME;
    if (this.watcher.gtube) this.found.gtube = true;
    if (this.zipChunks) {
      const zip = Buffer.concat(this.zipChunks);
      this.zipChunks = null;
      this.inspectZip(zip, 1);
    }
  }

  private inspectZip(zip: Buffer, level: number): void {
    const entries = listZip(zip);
    if (!entries) return;
    for (const entry of entries) {
      if (entry.name.endsWith('/')) continue;
      if (this.isBlockedName(entry.name)) this.found.blocked ??= entry.name;
      if (entry.size <= MAX_ENTRY_BYTES) {
        const data = readEntry(zip, entry, MAX_ENTRY_BYTES);
        if (data?.includes(EICAR)) this.found.malware ??= EICAR_NAME;
        if (data && level < MAX_ZIP_DEPTH && looksLikeZip(data)) this.inspectZip(data, level + 1);
      } else if (level < MAX_ZIP_DEPTH && /\.zip$/i.test(entry.name)) {
        const data = readEntry(zip, entry, MAX_NESTED_ZIP_BYTES);
        if (data) this.inspectZip(data, level + 1);
      }
    }
  }
}
