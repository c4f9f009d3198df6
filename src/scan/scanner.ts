/**
 * Scanners behind one interface. Each looks at a whole message (CRLF line ends, as it will be
 * queued) and returns a verdict; none throws for a bad message or an unreachable daemon.
 */
import type { Reply } from '../reply/reply.js';

export interface ScanEnvelope {
  sessionId: string;
  clientIp: string;
  heloName: string;
  sender: string;
  recipients: string[];
  authUser: string | null;
}

export type ScanVerdict =
  /** `headers` are added to the message (e.g. X-Spam-Score), `score` feeds the spam restriction. */
  | { kind: 'clean'; score?: number; headers?: Array<[string, string]> }
  | { kind: 'reject'; reason: 'malware' | 'spam' | 'content'; reply: Reply; score?: number; detail: string }
  /** The scanner could not answer; the pipeline refuses with 451 unless the scanner fails open. */
  | { kind: 'unavailable'; reply: Reply; detail: string };

export interface Scanner {
  readonly name: string;
  scan(message: Buffer, envelope: ScanEnvelope): Promise<ScanVerdict>;
}
