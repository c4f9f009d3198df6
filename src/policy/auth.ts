/**
 * Mailbox logins and what a mailbox may send as. Passwords are argon2id hashes
 * (@node-rs/argon2); a login for an unknown mailbox is checked against a dummy hash so
 * that its answer takes as long as a wrong password and does not reveal which mailboxes
 * exist. An authenticated mailbox may use as sender its own address, addresses granted to
 * it, and any address of a domain granted to it ("@customer.example.test").
 */
import { hash, verify } from '@node-rs/argon2';
import type { Account, Store } from '../store/store.js';

/** @node-rs/argon2's Algorithm.Argon2id; a const enum, so written out here. */
const ARGON2ID = 2;

let dummyHash: Promise<string> | null = null;

export function hashPassword(password: string): Promise<string> {
  return hash(password, { algorithm: ARGON2ID });
}

/** Addresses are compared and stored lower-cased. */
export function normalizeAddress(address: string): string {
  return address.trim().toLowerCase();
}

/** The account when the password is right, else null. Never throws for a bad hash. */
export async function verifyLogin(store: Store, username: string, password: string): Promise<Account | null> {
  const account = await store.getAccount(normalizeAddress(username));
  if (!account) {
    dummyHash ??= hashPassword('no such mailbox: constant-time answer');
    await verify(await dummyHash, password).catch(() => false);
    return null;
  }
  const ok = await verify(account.hash, password).catch(() => false);
  return ok ? account : null;
}

/** A grant pattern is an address or "@domain". */
export function isValidGrant(pattern: string): boolean {
  return /^@[^@\s]+\.[^@\s]+$/.test(pattern) || /^[^@\s]+@[^@\s]+$/.test(pattern);
}

/** True when `account` may use `sender` as its envelope sender. */
export function mayUseSender(account: Pick<Account, 'address' | 'grants'>, sender: string): boolean {
  const s = normalizeAddress(sender);
  if (s === account.address) return true;
  const domain = s.slice(s.lastIndexOf('@') + 1);
  return account.grants.some((g) => {
    const p = normalizeAddress(g);
    return p.startsWith('@') ? p.slice(1) === domain : p === s;
  });
}
