/**
 * A byte-level SMTP client for the cases no real client produces on demand: over-long
 * command lines, broken base64, bare CR/LF in DATA, commands pipelined behind STARTTLS.
 * It writes exactly what the test gives it and reads replies as they come.
 */
import net from 'node:net';
import tls from 'node:tls';

export class RawSmtp {
  private buf = '';
  private waiters: Array<() => void> = [];
  private closed = false;

  private constructor(private sock: net.Socket | tls.TLSSocket) {
    this.attach(sock);
  }

  static async connect(port: number, opts: { tls?: boolean; host?: string } = {}): Promise<RawSmtp> {
    const host = opts.host ?? '127.0.0.1';
    const sock = await new Promise<net.Socket | tls.TLSSocket>((resolve, reject) => {
      const s = opts.tls
        ? tls.connect({ host, port, rejectUnauthorized: false }, () => resolve(s))
        : net.connect({ host, port }, () => resolve(s));
      s.once('error', reject);
    });
    const c = new RawSmtp(sock);
    await c.reply(); // greeting
    return c;
  }

  private attach(sock: net.Socket | tls.TLSSocket): void {
    sock.setEncoding('latin1');
    sock.on('data', (d: string) => {
      this.buf += d;
      this.wake();
    });
    sock.on('close', () => {
      this.closed = true;
      this.wake();
    });
    sock.on('error', () => undefined);
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  /** True once the server has closed the connection. */
  get isClosed(): boolean {
    return this.closed;
  }

  /** Whatever the server sent that no reply() has consumed yet. */
  get unread(): string {
    return this.buf;
  }

  write(data: string | Buffer): void {
    this.sock.write(data);
  }

  /** The next complete reply (all its lines, joined by "\n"); '' when the connection closed. */
  async reply(timeoutMs = 10_000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const m = /^(?:\d{3}-[^\r\n]*\r\n)*\d{3}(?: [^\r\n]*)?\r\n/.exec(this.buf);
      if (m) {
        this.buf = this.buf.slice(m[0].length);
        return m[0].trimEnd().split('\r\n').join('\n');
      }
      if (this.closed) return '';
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no reply within ${timeoutMs} ms (have: ${JSON.stringify(this.buf)})`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  /** Sends one command line (CRLF added) and returns its reply. */
  async cmd(line: string): Promise<string> {
    this.write(line + '\r\n');
    return this.reply();
  }

  /** Waits `ms` and tells whether any bytes arrived meanwhile. */
  async quietFor(ms: number): Promise<boolean> {
    await new Promise((r) => setTimeout(r, ms));
    return this.buf === '';
  }

  /** Starts TLS on this connection (after the server's 220 to STARTTLS). */
  async startTls(): Promise<void> {
    const plain = this.sock;
    plain.removeAllListeners('data');
    plain.removeAllListeners('close');
    const secure = await new Promise<tls.TLSSocket>((resolve, reject) => {
      const s = tls.connect({ socket: plain, rejectUnauthorized: false }, () => resolve(s));
      s.once('error', reject);
    });
    this.sock = secure;
    this.attach(secure);
  }

  close(): void {
    this.sock.destroy();
  }
}

export const b64 = (s: string) => Buffer.from(s, 'utf8').toString('base64');

/** AUTH PLAIN initial response for user/password. */
export const plain = (user: string, pw: string) => b64(`\0${user}\0${pw}`);
