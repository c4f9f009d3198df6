/**
 * A scripted SMTP server over a real socket, for behaviour no real server offers on demand:
 * a greeting that never comes, a reply that never comes, garbage instead of a reply, 421 in
 * the middle of a session, a connection dropped after the final dot. Everything else is plain
 * SMTP (EHLO/HELO, MAIL, RCPT, DATA with dot-unstuffing, RSET, NOOP, QUIT), pipelining-safe:
 * commands are answered one by one in the order they arrive.
 */
import net from 'node:net';
import { freePort } from './ports.js';

/** What the server does at one step: a reply line(s), or one of the misbehaviours. */
export type Action =
  | string
  | { stall: true }
  | { close: true; reply?: string }
  | { garbage: string };

export interface ScriptOptions {
  /** Default "220 scripted.example.test ESMTP". */
  greeting?: Action;
  /** Extensions announced after EHLO (default PIPELINING, 8BITMIME, SMTPUTF8, SIZE 52428800). */
  extensions?: string[];
  /** EHLO reply override (e.g. '502 5.5.1 no EHLO' to force HELO). */
  ehlo?: Action;
  mail?: Action;
  /** Per recipient: an Action, or a function of the address. Default "250 2.1.5 Ok". */
  rcpt?: Action | ((address: string) => Action);
  /** Reply to the DATA command. Default "354 go ahead". */
  data?: Action;
  /** Reply to STARTTLS (announce it in `extensions`); a 220 makes the TLS handshake fail. */
  starttls?: Action;
  /** Reply after the final dot. Default "250 2.0.0 Ok: queued". */
  dataEnd?: Action;
  /** Applies only to the first N connections; later ones get the defaults (e.g. fail once). */
  connections?: number;
}

export interface ScriptedServer {
  addr: string;
  port: number;
  /** Commands received, per connection, in order. */
  log: string[][];
  /** Messages received in full (the data, dot-unstuffed), whatever the reply was. */
  messages: Buffer[];
  stop(): Promise<void>;
}

const DEFAULT_EXT = ['PIPELINING', '8BITMIME', 'SMTPUTF8', 'SIZE 52428800'];

export async function startScripted(addr: string, port: number, script: ScriptOptions): Promise<ScriptedServer> {
  const sockets = new Set<net.Socket>();
  const server: ScriptedServer = { addr, port: 0, log: [], messages: [], stop: async () => {} };
  let connNo = 0;
  const srv = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    const n = connNo++;
    const s: ScriptOptions = script.connections === undefined || n < script.connections ? script : {};
    const log: string[] = [];
    server.log.push(log);
    session(socket, s, log, server.messages);
  });
  await new Promise<void>((resolve, reject) => {
    srv.once('error', reject);
    const listen = async (): Promise<void> => {
      srv.listen({ host: addr, port: port === 0 ? await freePort(addr) : port }, () => resolve());
    };
    void listen();
  });
  server.port = (srv.address() as net.AddressInfo).port;
  server.stop = () =>
    new Promise<void>((resolve) => {
      for (const s of sockets) s.destroy();
      srv.close(() => resolve());
    });
  return server;
}

function session(socket: net.Socket, s: ScriptOptions, log: string[], messages: Buffer[]): void {
  let buf = Buffer.alloc(0);
  let inData = false;
  let stalled = false;

  /** Carries out an action; false when the session is over (closed or stalled). */
  const act = (a: Action): boolean => {
    if (typeof a === 'string') {
      socket.write(a.replace(/\r?\n/g, '\r\n') + '\r\n');
      return true;
    }
    if ('stall' in a) {
      stalled = true;
      return false;
    }
    if ('garbage' in a) {
      socket.write(a.garbage);
      return true;
    }
    if (a.reply) socket.write(a.reply + '\r\n');
    socket.end();
    stalled = true;
    return false;
  };

  const command = (line: string): boolean => {
    log.push(line);
    const verb = line.split(/[\s:]/)[0]!.toUpperCase();
    switch (verb) {
      case 'EHLO': {
        if (s.ehlo) return act(s.ehlo);
        const ext = s.extensions ?? DEFAULT_EXT;
        const lines = ['scripted.example.test', ...ext];
        return act(lines.map((l, i) => `250${i === lines.length - 1 ? ' ' : '-'}${l}`).join('\r\n'));
      }
      case 'HELO':
        return act('250 scripted.example.test');
      case 'MAIL':
        return act(s.mail ?? '250 2.1.0 Ok');
      case 'RCPT': {
        const address = /<([^>]*)>/.exec(line)?.[1] ?? '';
        const r = typeof s.rcpt === 'function' ? s.rcpt(address) : s.rcpt;
        return act(r ?? '250 2.1.5 Ok');
      }
      case 'DATA': {
        const a = s.data ?? '354 End data with <CR><LF>.<CR><LF>';
        const ok = act(a);
        if (ok && typeof a === 'string' && a.startsWith('354')) inData = true;
        return ok;
      }
      case 'STARTTLS': {
        // No TLS here: after a 220 the client's handshake meets a plain SMTP reply.
        const a = s.starttls ?? '454 4.7.0 TLS not available';
        const ok = act(a);
        if (ok && typeof a === 'string' && a.startsWith('220')) {
          socket.once('data', () => socket.write('500 5.5.1 this is not TLS\r\n'));
          stalled = true;
          return false;
        }
        return ok;
      }
      case 'RSET':
      case 'NOOP':
        return act('250 2.0.0 Ok');
      case 'QUIT':
        act('221 2.0.0 Bye');
        socket.end();
        return false;
      default:
        return act('502 5.5.2 Command not recognised');
    }
  };

  const pump = (): void => {
    while (!stalled) {
      if (inData) {
        const end = buf.indexOf('\r\n.\r\n');
        const atStart = buf.subarray(0, 3).equals(Buffer.from('.\r\n'));
        if (end < 0 && !atStart) return;
        const raw = atStart ? Buffer.alloc(0) : buf.subarray(0, end + 2);
        buf = buf.subarray(atStart ? 3 : end + 5);
        inData = false;
        messages.push(Buffer.from(raw.toString('latin1').replace(/^\.\./gm, '.'), 'latin1'));
        log.push('<end of data>');
        if (!act(s.dataEnd ?? '250 2.0.0 Ok: queued')) return;
        continue;
      }
      const nl = buf.indexOf('\r\n');
      if (nl < 0) return;
      const line = buf.subarray(0, nl).toString('utf8');
      buf = buf.subarray(nl + 2);
      if (!command(line)) return;
    }
  };

  socket.on('data', (chunk) => {
    buf = Buffer.concat([buf, chunk]);
    pump();
  });
  act(s.greeting ?? '220 scripted.example.test ESMTP');
}
