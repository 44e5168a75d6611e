import type { IncomingMessage } from 'node:http';

export type Params = Readonly<Record<string, unknown>>;

export type ParsedRequest =
  | { readonly ok: true; readonly params: Params; readonly bearer?: string }
  | { readonly ok: false; readonly error: 'invalid_json' | 'invalid_form_data' | 'request_too_large' };

const MAX_BODY_BYTES = 5 * 1024 * 1024;

async function readBody(req: IncomingMessage): Promise<Buffer | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk));
    size += buf.length;
    if (size > MAX_BODY_BYTES) return undefined;
    chunks.push(buf);
  }
  return Buffer.concat(chunks);
}

/**
 * Reads a Web API request the way Slack does: query string arguments, then the body as
 * application/x-www-form-urlencoded (what @slack/web-api sends), application/json or multipart/form-data.
 * The token may come from `Authorization: Bearer ...` or a `token` argument.
 */
export async function parseRequestParams(req: IncomingMessage, url: URL): Promise<ParsedRequest> {
  const body = await readBody(req);
  if (body === undefined) return { ok: false, error: 'request_too_large' };
  const params: Record<string, unknown> = Object.fromEntries(url.searchParams);
  const contentType = (req.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
  if (body.length > 0) {
    if (contentType === 'application/json') {
      let parsed: unknown;
      try {
        parsed = JSON.parse(body.toString('utf8'));
      } catch {
        return { ok: false, error: 'invalid_json' };
      }
      if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return { ok: false, error: 'invalid_json' };
      Object.assign(params, parsed);
    } else if (contentType === 'multipart/form-data') {
      try {
        const form = await new Response(new Uint8Array(body), { headers: { 'content-type': req.headers['content-type'] ?? '' } }).formData();
        for (const [key, value] of form.entries()) params[key] = typeof value === 'string' ? value : `[file ${value.name}]`;
      } catch {
        return { ok: false, error: 'invalid_form_data' };
      }
    } else if (contentType === 'application/x-www-form-urlencoded' || contentType === '') {
      Object.assign(params, Object.fromEntries(new URLSearchParams(body.toString('utf8'))));
    } else {
      return { ok: false, error: 'invalid_form_data' };
    }
  }
  const header = req.headers.authorization;
  const match = header === undefined ? null : /^Bearer\s+(\S+)\s*$/i.exec(header);
  const bearer = match?.[1] ?? (header !== undefined && header.trim() !== '' ? header.trim() : undefined);
  return bearer === undefined ? { ok: true, params } : { ok: true, params, bearer };
}
