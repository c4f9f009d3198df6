/**
 * Group commit of new messages for the PostgreSQL store. Inserts that arrive within one turn
 * of the event loop go to the server as one statement: one transaction, one WAL flush, one
 * round trip. Each caller's promise resolves only after that statement has committed.
 *
 * One statement per batch: the messages' rows are inserted by a data-modifying CTE and the
 * recipients by the outer INSERT, so a batch needs no BEGIN/COMMIT round trips and is atomic.
 *
 * Why batch at all, when PostgreSQL already lets concurrent commits share a WAL flush: measured
 * on a 2-core machine, 10 to 50 sessions inserting 8 KB messages at once got 1.3 to 3.8 times
 * the throughput, and a lower p99 latency, than with one statement per message.
 */
import type pg from 'pg';
import { domainOf, type NewMessage } from './store.js';

interface Pending {
  msg: NewMessage;
  resolve: () => void;
  reject: (err: unknown) => void;
}

/** Bounds the parameters of one statement (13 per message) well below PostgreSQL's 65535. */
const MAX_BATCH = 500;
const MESSAGE_PARAMS = 13;

export class PgInsertBatcher {
  private pending: Pending[] = [];
  private scheduled = false;
  private inflight = new Set<Promise<void>>();

  constructor(private pool: pg.Pool) {}

  insert(msg: NewMessage): Promise<void> {
    return new Promise((resolve, reject) => {
      this.pending.push({ msg, resolve, reject });
      this.schedule();
    });
  }

  /** Waits until every insert handed in so far has been written (or has failed). */
  async drain(): Promise<void> {
    while (this.pending.length > 0 || this.inflight.size > 0) {
      if (this.pending.length > 0) this.flush();
      await Promise.allSettled([...this.inflight]);
    }
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => this.flush());
  }

  private flush(): void {
    this.scheduled = false;
    const batch = this.pending.splice(0, MAX_BATCH);
    if (batch.length === 0) return;
    const done = this.commit(batch).finally(() => this.inflight.delete(done));
    this.inflight.add(done);
    // More than one batch's worth arrived in this turn: the rest goes in the next turn.
    if (this.pending.length > 0) this.schedule();
  }

  private async commit(batch: Pending[]): Promise<void> {
    try {
      await this.write(batch.map((p) => p.msg));
      for (const p of batch) p.resolve();
    } catch (err) {
      if (batch.length === 1) { batch[0]!.reject(err); return; }
      // One bad row (a duplicate id) must not fail its neighbours: retry each alone.
      await Promise.all(batch.map((p) => this.write([p.msg]).then(p.resolve, p.reject)));
    }
  }

  private async write(msgs: NewMessage[]): Promise<void> {
    const args: unknown[] = [];
    const values: string[] = [];
    const rcpt = { m: [] as string[], a: [] as string[], d: [] as string[], o: [] as (string | null)[],
      n: [] as (string | null)[], t: [] as number[] };
    for (const msg of msgs) {
      const base = args.length;
      args.push(msg.id, msg.sender, msg.created, msg.body.length, msg.body, msg.envid ?? null, msg.ret ?? null,
        msg.principal, msg.authUser ?? null, msg.clientIp ?? null, msg.smtputf8, msg.eightBit, msg.kind);
      values.push(`(${Array.from({ length: MESSAGE_PARAMS }, (_, i) => `$${base + i + 1}`).join(', ')})`);
      for (const r of msg.recipients) {
        rcpt.m.push(msg.id);
        rcpt.a.push(r.address);
        rcpt.d.push(domainOf(r.address));
        rcpt.o.push(r.orcpt ?? null);
        rcpt.n.push(r.notify ? r.notify.join(',') : null);
        rcpt.t.push(msg.created);
      }
    }
    const p = args.length;
    args.push(rcpt.m, rcpt.a, rcpt.d, rcpt.o, rcpt.n, rcpt.t);
    // WITH ORDINALITY + ORDER BY: recipient ids follow the order the client gave them in.
    await this.pool.query(`
      WITH m AS (
        INSERT INTO messages (id, sender, created, size, body, envid, ret, principal, auth_user, client_ip,
          smtputf8, eight_bit, kind)
        VALUES ${values.join(', ')}
      )
      INSERT INTO recipients (message_id, address, domain, orcpt, notify, state, next_attempt)
      SELECT u.m, u.a, u.d, u.o, u.n, 'queued', u.t
      FROM unnest($${p + 1}::text[], $${p + 2}::text[], $${p + 3}::text[], $${p + 4}::text[], $${p + 5}::text[],
        $${p + 6}::bigint[]) WITH ORDINALITY AS u(m, a, d, o, n, t, i)
      ORDER BY u.i`, args);
  }
}
