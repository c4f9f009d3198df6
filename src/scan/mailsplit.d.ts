/** Types for the parts of mailsplit (a CommonJS module without its own types) the scanners use. */
declare module 'mailsplit' {
  import type { Transform } from 'node:stream';

  export interface MailsplitHeaders {
    get(key: string): string[];
    getFirst(key: string): string;
    getList(): Array<{ key: string; line: string }>;
  }

  export interface MimeNode {
    type: 'node';
    root: boolean;
    parentNode?: MimeNode | null;
    headers: MailsplitHeaders;
    contentType: string | false;
    multipart: string | false;
    filename: string | false;
    encoding: string | false;
    getHeaders(): Buffer;
    getDecoder(): Transform;
  }

  export interface MailsplitChunk {
    type: 'data' | 'body';
    value: Buffer;
  }

  export interface SplitterOptions {
    ignoreEmbedded?: boolean;
    maxHeadSize?: number;
    maxChildNodes?: number;
  }

  export class Splitter extends Transform {
    constructor(options?: SplitterOptions);
  }
}
