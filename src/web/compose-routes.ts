/**
 * The compose page and its POST. The form is multipart (for attachments); it is read whole,
 * with a total size limit of smtp.max_message_size, and only then is the CSRF token checked,
 * since a multipart body has to be read to find it. The Origin check and the session come
 * first, so a forged request is refused before its upload is kept.
 */
import { createHash } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Principal } from '../intake/types.js';
import {
  emptyFields,
  validateCompose,
  type Attachment,
  type ComposeFields,
  type FieldErrors,
} from './compose-form.js';
import { composePage, formatSize } from './compose-page.js';
import { sendCompose } from './compose-send.js';
import { checkOrigin, checkToken } from './csrf.js';
import type { WebDeps } from './deps.js';
import { forbidden, sendPage } from './respond.js';
import { isHttps, type Session } from './session.js';

const MAX_FILES = 20;

interface ComposeUpload {
  fields: ComposeFields;
  csrf: string | undefined;
  attachments: Attachment[];
  /** Why the upload cannot be used, e.g. too large; the fields are still there. */
  problem?: { field: 'attachments' | 'message'; text: string };
}

export function registerComposeRoutes(app: FastifyInstance, deps: WebDeps): void {
  const maxBytes = deps.ctx.cfg.smtp.max_message_size;
  const page = (s: Session, extra: Partial<Parameters<typeof composePage>[0]> = {}) =>
    composePage({
      user: { address: s.user, csrf: s.csrf },
      fields: emptyFields(),
      maxBytes,
      ...extra,
    });

  app.get('/compose', async (req, reply) => {
    const s = await deps.sessions.fromRequest(req);
    if (!s) return reply.redirect('/login', 303);
    return sendPage(reply, 200, page(s));
  });

  app.post('/compose', async (req, reply) => {
    const s = await deps.sessions.fromRequest(req);
    if (!s) return reply.redirect('/login', 303);
    const bad = checkOrigin(req);
    if (bad) return forbidden(reply, bad, s);
    if (!req.isMultipart()) return forbidden(reply, 'not a multipart form', s);

    const upload = await readUpload(req, maxBytes);
    if (!checkToken(s.csrf, upload.csrf)) return forbidden(reply, 'missing or wrong form token', s);
    const hadAttachments = upload.attachments.length > 0 || upload.problem?.field === 'attachments';

    if (upload.problem) {
      const errors: FieldErrors = { [upload.problem.field]: upload.problem.text };
      return sendPage(reply, 413, page(s, { fields: upload.fields, errors, hadAttachments }));
    }
    const checked = validateCompose(upload.fields);
    if (!checked.ok)
      return sendPage(
        reply,
        422,
        page(s, { fields: upload.fields, errors: checked.errors, hadAttachments }),
      );

    const result = await sendCompose(deps.ctx, {
      who: principalOf(req, s),
      heloName: req.hostname || deps.ctx.cfg.hostname,
      mail: checked.value,
      attachments: upload.attachments,
    });
    if (result.ok) return reply.redirect(`/sent?queued=${encodeURIComponent(result.queueId)}`, 303);
    const errors: FieldErrors = result.field ? { [result.field]: result.fieldError } : {};
    return sendPage(
      reply,
      422,
      page(s, { fields: upload.fields, problem: result.problem, errors, hadAttachments }),
    );
  });
}

/** Who is sending: the logged-in mailbox; relay rights come from the login alone. */
function principalOf(req: FastifyRequest, s: Session): Principal {
  return {
    // Log lines lead with a session id; a hash, since the cookie value is a secret.
    sessionId: 'web-' + createHash('sha256').update(s.id).digest('hex').slice(0, 12),
    clientIp: req.ip,
    authUser: s.user,
    trusted: false,
    tls: isHttps(req),
  };
}

async function readUpload(req: FastifyRequest, maxBytes: number): Promise<ComposeUpload> {
  const fields = emptyFields();
  const out: ComposeUpload = { fields, csrf: undefined, attachments: [] };
  let total = 0;
  const fail = (field: 'attachments' | 'message', text: string) => {
    out.problem ??= { field, text };
    out.attachments = [];
  };
  try {
    const parts = req.parts({
      limits: {
        fileSize: maxBytes + 1,
        files: MAX_FILES,
        fields: 20,
        fieldSize: maxBytes,
        parts: MAX_FILES + 20,
      },
    });
    for await (const part of parts) {
      if (part.type === 'file') {
        // Every file is read to its end, even past the limit, so the browser gets an answer
        // instead of a reset connection; bytes past the limit are not kept.
        const chunks: Buffer[] = [];
        for await (const chunk of part.file) {
          if (out.problem) continue;
          total += (chunk as Buffer).length;
          if (total > maxBytes)
            fail(
              'attachments',
              `The attachments are too large: at most ${formatSize(maxBytes)} in total.`,
            );
          else chunks.push(chunk as Buffer);
        }
        // An empty file input still sends a part, with no name and no bytes.
        if (!out.problem && part.fieldname === 'attachments' && part.filename) {
          out.attachments.push({ filename: part.filename, content: Buffer.concat(chunks) });
        }
        continue;
      }
      const value = typeof part.value === 'string' ? part.value : String(part.value ?? '');
      if (part.fieldname === 'csrf') out.csrf = value;
      else if (part.fieldname in fields) {
        fields[part.fieldname as keyof ComposeFields] = value;
        if (part.valueTruncated)
          fail('message', `The text is too long: at most ${formatSize(maxBytes)}.`);
        else total += Buffer.byteLength(value);
      }
    }
  } catch (err) {
    const code = (err as { code?: string }).code ?? '';
    if (code === 'FST_FILES_LIMIT')
      fail('attachments', `Too many attachments: at most ${MAX_FILES}.`);
    else fail('attachments', 'The form could not be read completely; please try again.');
  }
  if (!out.problem && total > maxBytes)
    fail('attachments', `The message is too large: at most ${formatSize(maxBytes)} in total.`);
  return out;
}
