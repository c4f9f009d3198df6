/** Queue ids: 14 characters, time-ordered then random, safe in file names and log lines. */
import { randomBytes } from 'node:crypto';

const ALPHABET = '0123456789BCDFGHJKLMNPQRSTVWXZ';

export function newQueueId(now = Date.now()): string {
  let t = now;
  let head = '';
  for (let i = 0; i < 9; i++) {
    head = ALPHABET[t % ALPHABET.length] + head;
    t = Math.floor(t / ALPHABET.length);
  }
  const rnd = randomBytes(5);
  let tail = '';
  for (const b of rnd) tail += ALPHABET[b % ALPHABET.length];
  return head + tail;
}
