/**
 * Reads notices back with an independent parser: Python's email package (parse-dsn.py), which
 * knows message/delivery-status as a list of field blocks (RFC 3464).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { REPO_ROOT } from '../helpers/procs.js';

export interface ParsedNotice {
  subject: string;
  from: string;
  to: string;
  content_type: string;
  report_type: string;
  auto_submitted: string;
  parts: string[];
  defects: string[];
  text: string;
  per_message: Record<string, string>;
  recipients: Array<Record<string, string>>;
  original: { type: string; headers: Record<string, string>; body: string | null };
}

export function parseNotices(messages: Buffer[]): ParsedNotice[] {
  const r = spawnSync('/usr/bin/python3', [path.join(REPO_ROOT, 'test', 'dsn', 'parse-dsn.py')], {
    input: JSON.stringify(messages.map((m) => m.toString('base64'))),
  });
  assert.equal(r.status, 0, r.stderr.toString());
  return JSON.parse(r.stdout.toString()) as ParsedNotice[];
}
