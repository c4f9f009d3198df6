/**
 * Python's smtplib (Debian's /usr/bin/python3) as an SMTP client: an independent, widely used
 * client implementation next to swaks and nodemailer.
 */
import { spawn } from 'node:child_process';
import { childEnv, trackChild } from './procs.js';

const SYSTEM_PYTHON = '/usr/bin/python3';

export interface PyResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `script` with /usr/bin/python3 -c; `input` goes to its stdin. */
export function smtplib(script: string, input = '', timeout = 60_000): Promise<PyResult> {
  return new Promise((resolve, reject) => {
    const child = trackChild(spawn(SYSTEM_PYTHON, ['-c', script], { env: childEnv(), stdio: ['pipe', 'pipe', 'pipe'] }));
    let stdout = '';
    let stderr = '';
    child.stdout!.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeout);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    child.stdin!.on('error', () => {});
    child.stdin!.end(input);
  });
}

export interface PySendOptions {
  host: string;
  port: number;
  /** starttls: plain connect + STARTTLS (port 587); implicit: TLS from the start (465). */
  mode: 'starttls' | 'implicit' | 'plain';
  user?: string;
  password?: string;
  from: string;
  to: string[];
  data: string | Buffer;
  /** MAIL FROM parameters, e.g. ['SMTPUTF8', 'BODY=8BITMIME']. */
  mailOptions?: string[];
  /** RCPT TO parameters, sent with every recipient. */
  rcptOptions?: string[];
  /** EHLO name (default client.example.test). */
  ehlo?: string;
}

export interface PySendResult {
  /** True when the DATA got a 2xx (at least one recipient accepted). */
  ok: boolean;
  /** The refusing reply's code (or the DATA reply's code when ok). */
  code?: number;
  message?: string;
  /** From "queued as X" in the final reply. */
  queueId?: string;
  /** Where it stopped: connect, ehlo, starttls, auth, mail, rcpt, data, or done. */
  stage?: string;
  /** Every recipient's RCPT reply. */
  recipients?: Record<string, { code: number; message: string }>;
}

const SEND_PY = String.raw`
import base64, json, re, smtplib, ssl, sys
p = json.load(sys.stdin)
ctx = ssl.create_default_context()
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
out = {"ok": False, "stage": "connect", "recipients": {}}
def text(b):
    return b.decode("utf-8", "replace") if isinstance(b, bytes) else str(b)
s = None
try:
    if p["mode"] == "implicit":
        s = smtplib.SMTP_SSL(p["host"], p["port"], context=ctx, timeout=30)
    else:
        s = smtplib.SMTP(p["host"], p["port"], timeout=30)
    out["stage"] = "ehlo"
    code, msg = s.ehlo(p.get("ehlo") or "client.example.test")
    if code != 250:
        raise smtplib.SMTPResponseException(code, msg)
    if p["mode"] == "starttls":
        out["stage"] = "starttls"
        s.starttls(context=ctx)
        code, msg = s.ehlo(p.get("ehlo") or "client.example.test")
        if code != 250:
            raise smtplib.SMTPResponseException(code, msg)
    if p.get("user") is not None:
        out["stage"] = "auth"
        s.login(p["user"], p.get("password") or "")
    mail_opts = p.get("mailOptions") or []
    if "SMTPUTF8" in [o.upper() for o in mail_opts]:
        s.command_encoding = "utf-8"
    out["stage"] = "mail"
    code, msg = s.mail(p["from"], mail_opts)
    if code != 250:
        raise smtplib.SMTPResponseException(code, msg)
    out["stage"] = "rcpt"
    accepted = 0
    for r in p["to"]:
        code, msg = s.rcpt(r, p.get("rcptOptions") or [])
        out["recipients"][r] = {"code": code, "message": text(msg)}
        if code in (250, 251):
            accepted += 1
        else:
            out["code"], out["message"] = code, text(msg)
    if accepted == 0:
        s.rset()
    else:
        out["stage"] = "data"
        code, msg = s.data(base64.b64decode(p["data"]))
        out["code"], out["message"] = code, text(msg)
        if code == 250:
            out["ok"] = True
            out["stage"] = "done"
            m = re.search(r"queued as (\S+)", text(msg))
            if m:
                out["queueId"] = m.group(1)
    try:
        s.quit()
    except Exception:
        pass
except smtplib.SMTPResponseException as e:
    out["code"], out["message"] = e.smtp_code, text(e.smtp_error)
except smtplib.SMTPRecipientsRefused as e:
    for r, (c, m) in e.recipients.items():
        out["recipients"][r] = {"code": c, "message": text(m)}
except Exception as e:
    out["message"] = "%s: %s" % (type(e).__name__, e)
print(json.dumps(out))
`;

/** Sends one message with smtplib; SMTP refusals come back as data, not as exceptions. */
export async function pySend(opts: PySendOptions): Promise<PySendResult> {
  const data = Buffer.isBuffer(opts.data) ? opts.data : Buffer.from(opts.data, 'utf8');
  const input = JSON.stringify({ ...opts, data: data.toString('base64') });
  const r = await smtplib(SEND_PY, input);
  const line = r.stdout.trim().split('\n').pop() ?? '';
  try {
    return JSON.parse(line) as PySendResult;
  } catch {
    throw new Error(`smtplib script failed (exit ${r.code}): ${r.stderr || r.stdout}`);
  }
}
