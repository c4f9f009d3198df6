/**
 * The scanners the config enables, in the order they run: the built-in baseline first (cheap,
 * and it answers for the obvious without a round trip), then clamd, then rspamd. The list is
 * logged once, so an operator sees at start what protects the gateway.
 */
import type { Config } from '../config/schema.js';
import { maillog } from '../maillog/log.js';
import { timedScanner } from '../metrics/events.js';
import { BaselineScanner } from './baseline.js';
import { ClamdScanner } from './clamd.js';
import { RspamdScanner } from './rspamd.js';
import type { Scanner } from './scanner.js';

export function buildScanners(cfg: Pick<Config, 'scan'>): Scanner[] {
  const { baseline, clamd, rspamd } = cfg.scan;
  const scanners: Scanner[] = [];
  if (baseline.enabled) scanners.push(new BaselineScanner({ blockedExtensions: baseline.blocked_extensions }));
  if (clamd) {
    scanners.push(new ClamdScanner({ address: clamd.address, timeoutMs: clamd.timeout, failOpen: clamd.fail_open }));
  }
  if (rspamd) {
    scanners.push(new RspamdScanner({
      url: rspamd.url,
      rejectScore: rspamd.reject_score,
      addHeader: rspamd.add_header,
      timeoutMs: rspamd.timeout,
      failOpen: rspamd.fail_open,
    }));
  }
  maillog.scanners(scanners.map((s) => s.name));
  return scanners.map(timedScanner);
}

export type { Scanner, ScanVerdict, ScanEnvelope } from './scanner.js';
