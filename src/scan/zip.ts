/**
 * Just enough of the ZIP format (PKWARE APPNOTE 6.3) to see what an archive holds: the names in
 * its central directory, and the bytes of small stored or deflated entries. Used by the
 * baseline scanner to find executables and test strings inside attached archives.
 *
 * Archives are read from the central directory, as unzip tools and mail clients do, so a name
 * hidden there is found; when the directory is missing (a truncated archive) the local headers
 * are walked instead.
 */
import { inflateRawSync } from 'node:zlib';

export interface ZipEntry {
  name: string;
  /** 0 = stored, 8 = deflate; anything else is not extracted. */
  method: number;
  compressedSize: number;
  size: number;
  encrypted: boolean;
  /** Offset of the entry's local header in the archive. */
  localOffset: number;
}

const SIG_LOCAL = 0x04034b50;
const SIG_CENTRAL = 0x02014b50;
const SIG_EOCD = 0x06054b50;
const SIG_EOCD64_LOCATOR = 0x07064b50;
const SIG_EOCD64 = 0x06064b50;
const MAX_ENTRIES = 65_536;

/** True when the buffer starts like a ZIP archive (also an empty one). */
export function looksLikeZip(head: Buffer): boolean {
  if (head.length < 4) return false;
  const sig = head.readUInt32LE(0);
  return sig === SIG_LOCAL || sig === SIG_EOCD;
}

/** The archive's entries, or null when the buffer is not a readable ZIP archive. */
export function listZip(buf: Buffer): ZipEntry[] | null {
  try {
    return readCentralDirectory(buf) ?? walkLocalHeaders(buf);
  } catch {
    // A malformed archive is not a reason to refuse a message; it is simply not inspected.
    return null;
  }
}

/**
 * The uncompressed bytes of one entry, or null when it is encrypted, uses another method,
 * or would be larger than maxBytes (which also stops decompression bombs).
 */
export function readEntry(buf: Buffer, entry: ZipEntry, maxBytes: number): Buffer | null {
  if (entry.encrypted || entry.size > maxBytes) return null;
  try {
    const off = entry.localOffset;
    if (off + 30 > buf.length || buf.readUInt32LE(off) !== SIG_LOCAL) return null;
    const start = off + 30 + buf.readUInt16LE(off + 26) + buf.readUInt16LE(off + 28);
    const data = buf.subarray(start, Math.min(buf.length, start + entry.compressedSize));
    if (entry.method === 0) return data;
    if (entry.method === 8) return inflateRawSync(data, { maxOutputLength: maxBytes });
    return null;
  } catch {
    return null;
  }
}

function readCentralDirectory(buf: Buffer): ZipEntry[] | null {
  const eocd = findEocd(buf);
  if (eocd < 0) return null;
  let count = buf.readUInt16LE(eocd + 10);
  let cdSize = buf.readUInt32LE(eocd + 12);
  let cdOffset = buf.readUInt32LE(eocd + 16);
  if (count === 0xffff || cdSize === 0xffffffff || cdOffset === 0xffffffff) {
    const loc = eocd - 20;
    if (loc >= 0 && buf.readUInt32LE(loc) === SIG_EOCD64_LOCATOR) {
      const rec = Number(buf.readBigUInt64LE(loc + 8));
      if (rec + 56 <= buf.length && buf.readUInt32LE(rec) === SIG_EOCD64) {
        count = Number(buf.readBigUInt64LE(rec + 32));
        cdSize = Number(buf.readBigUInt64LE(rec + 40));
        cdOffset = Number(buf.readBigUInt64LE(rec + 48));
      }
    }
  }
  // Self-extracting archives and concatenated data shift every offset by a constant.
  const shift = Math.max(0, eocd - cdSize - cdOffset);
  let p = cdOffset + shift;
  const entries: ZipEntry[] = [];
  for (let i = 0; i < Math.min(count, MAX_ENTRIES); i++) {
    if (p + 46 > buf.length || buf.readUInt32LE(p) !== SIG_CENTRAL) break;
    const flags = buf.readUInt16LE(p + 8);
    const nameLen = buf.readUInt16LE(p + 28);
    const extraLen = buf.readUInt16LE(p + 30);
    const commentLen = buf.readUInt16LE(p + 32);
    const entry: ZipEntry = {
      name: decodeName(buf.subarray(p + 46, p + 46 + nameLen), flags),
      method: buf.readUInt16LE(p + 10),
      compressedSize: buf.readUInt32LE(p + 20),
      size: buf.readUInt32LE(p + 24),
      encrypted: (flags & 1) !== 0,
      localOffset: buf.readUInt32LE(p + 42) + shift,
    };
    applyZip64Extra(entry, buf.subarray(p + 46 + nameLen, p + 46 + nameLen + extraLen), shift);
    entries.push(entry);
    p += 46 + nameLen + extraLen + commentLen;
  }
  return entries.length > 0 || count === 0 ? entries : null;
}

/** The end-of-central-directory record sits in the last 22 + 65535 (comment) bytes. */
function findEocd(buf: Buffer): number {
  const stop = Math.max(0, buf.length - 22 - 0xffff);
  for (let p = buf.length - 22; p >= stop; p--) {
    if (buf[p] === 0x50 && buf.readUInt32LE(p) === SIG_EOCD) return p;
  }
  return -1;
}

/** Sizes and offsets that do not fit 32 bits live in the Zip64 extra field (id 1). */
function applyZip64Extra(entry: ZipEntry, extra: Buffer, shift: number): void {
  let p = 0;
  while (p + 4 <= extra.length) {
    const id = extra.readUInt16LE(p);
    const len = extra.readUInt16LE(p + 2);
    if (id === 0x0001) {
      let q = p + 4;
      const next = (): number | null => {
        if (q + 8 > p + 4 + len) return null;
        const v = Number(extra.readBigUInt64LE(q));
        q += 8;
        return v;
      };
      if (entry.size === 0xffffffff) entry.size = next() ?? entry.size;
      if (entry.compressedSize === 0xffffffff) entry.compressedSize = next() ?? entry.compressedSize;
      if (entry.localOffset - shift === 0xffffffff) entry.localOffset = (next() ?? 0xffffffff) + shift;
      return;
    }
    p += 4 + len;
  }
}

function walkLocalHeaders(buf: Buffer): ZipEntry[] | null {
  const entries: ZipEntry[] = [];
  let p = 0;
  while (p + 30 <= buf.length && buf.readUInt32LE(p) === SIG_LOCAL && entries.length < MAX_ENTRIES) {
    const flags = buf.readUInt16LE(p + 6);
    const nameLen = buf.readUInt16LE(p + 26);
    const extraLen = buf.readUInt16LE(p + 28);
    const entry: ZipEntry = {
      name: decodeName(buf.subarray(p + 30, p + 30 + nameLen), flags),
      method: buf.readUInt16LE(p + 8),
      compressedSize: buf.readUInt32LE(p + 18),
      size: buf.readUInt32LE(p + 22),
      encrypted: (flags & 1) !== 0,
      localOffset: p,
    };
    entries.push(entry);
    // With a data descriptor (flag bit 3) the size is only known after the data: stop here.
    if (flags & 8) break;
    p += 30 + nameLen + extraLen + entry.compressedSize;
  }
  return entries.length > 0 ? entries : null;
}

/** Flag bit 11 means UTF-8; otherwise the name is CP437, whose ASCII part is all we need. */
function decodeName(raw: Buffer, flags: number): string {
  return raw.toString(flags & 0x800 ? 'utf8' : 'latin1');
}
