/**
 * Principals as operators write them. The gateway keys blocks and counters by "user:<mailbox>"
 * for a logged-in client and "ip:<address>" otherwise (intake's principalKey); an operator may
 * also type a bare mailbox address or IP address, which is mapped to the same key.
 */
import { isIP } from 'node:net';

export type PrincipalParse = { ok: true; principal: string } | { ok: false; error: string };

export function parsePrincipal(input: string): PrincipalParse {
  const s = input.trim();
  const m = /^(user|ip):(.*)$/i.exec(s);
  const kind = m ? m[1]!.toLowerCase() : isIP(unbracket(s)) ? 'ip' : s.includes('@') ? 'user' : null;
  const value = m ? m[2]!.trim() : s;
  if (kind === 'ip') {
    const ip = unmapV4(unbracket(value));
    if (isIP(ip) === 0) return { ok: false, error: `"${input}" is not an IP address` };
    return { ok: true, principal: `ip:${ip.toLowerCase()}` };
  }
  if (kind === 'user') {
    if (!/^[^@\s]+@[^@\s]+$/.test(value)) return { ok: false, error: `"${input}" is not a mailbox address` };
    // Logins are lower-cased at AUTH, so the key is too.
    return { ok: true, principal: `user:${value.toLowerCase()}` };
  }
  return { ok: false, error: `"${input}" is neither a mailbox address nor an IP address (or user:ADDR, ip:ADDR)` };
}

function unbracket(s: string): string {
  return s.startsWith('[') && s.endsWith(']') ? s.slice(1, -1) : s;
}

/** "::ffff:192.0.2.1" is how an IPv4 client shows on a dual-stack socket. */
function unmapV4(ip: string): string {
  const m = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
  return m ? m[1]! : ip;
}
