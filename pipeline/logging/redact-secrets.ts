import type { Settings } from '../../schemas/settings.ts';

/** Text in, the same text with every credential replaced. */
export type Redact = (text: string) => string;

export const RedactedMark = '[redacted]';

// `scheme://userinfo@`: userinfo runs to the last @ before the first / ? #, quote or line end, so a path or query is
// never taken for it. Blanks and a raw @ are allowed: a mistyped password must not leak its second half.
const UrlUserinfo = /\b([a-z][a-z0-9+.-]*:\/\/)([^\r\n/?#'"<>]*)@/gi;
// Query parameters that carry credentials. pg honours `?password=` and `?sslpassword=`; the others are the usual
// token and signature names (presigned AWS URLs included).
const SecretParam =
  /([?&;](?:ssl)?(?:password|passwd|pwd|pass|secret|client_secret|token|access_token|refresh_token|api[-_]?key|apikey|signature|sig|x-amz-signature|x-amz-credential|x-amz-security-token)=)[^&#\s'"<>]*/gi;

/**
 * Removes the credentials of every URL in `text`: the password of `user:password@` (a bare `token@` too, in http(s)
 * URLs, where that is how tokens ride) and credential query parameters (`?password=`, `?token=`...). Works on text
 * that is not a valid URL as well (an error line quoting a bad setting), since it matches patterns, not a parse.
 *
 * @example
 * redactUrls('postgres://app:s3cret@db/x?sslmode=require&password=s3cret') // 'postgres://app:[redacted]@db/x?sslmode=require&password=[redacted]'
 */
export function redactUrls(text: string): string {
  return text
    .replace(UrlUserinfo, (_match, scheme: string, userinfo: string) => {
      const colon = userinfo.indexOf(':');
      if (colon >= 0) return `${scheme}${userinfo.slice(0, colon)}:${RedactedMark}@`;
      return /^https?:/i.test(scheme) ? `${scheme}${RedactedMark}@` : `${scheme}${userinfo}@`;
    })
    .replace(SecretParam, `$1${RedactedMark}`);
}

/**
 * A redactor for known secret values (tokens, passwords, and their URL-encoded, JSON-escaped and given encodings)
 * plus every URL credential (redactUrls). Values shorter than 4 characters are not searched for: they would shred
 * ordinary text, and no real credential is that short.
 */
export function createRedactor(secrets: Iterable<string>): Redact {
  const forms = new Set<string>();
  for (const secret of secrets) {
    if (secret.length < 4) continue;
    forms.add(secret);
    forms.add(encodeURIComponent(secret));
    forms.add(JSON.stringify(secret).slice(1, -1));
  }
  // Longest first, so a secret that contains another is replaced whole.
  const ordered = [...forms].sort((a, b) => b.length - a.length);
  return (text) => {
    let out = text;
    for (const form of ordered) if (out.includes(form)) out = out.split(form).join(RedactedMark);
    return redactUrls(out);
  };
}

/** The credentials a URL carries (password of its userinfo, credential query parameters), raw and decoded. */
export function credentialsInUrl(url: string): string[] {
  const found: string[] = [];
  const userinfo = /^[a-z][a-z0-9+.-]*:\/\/([^\r\n/?#]*)@/i.exec(url)?.[1];
  if (userinfo !== undefined) {
    const colon = userinfo.indexOf(':');
    const password = colon >= 0 ? userinfo.slice(colon + 1) : /^https?:/i.test(url) ? userinfo : '';
    if (password) found.push(password, safeDecode(password));
  }
  for (const match of url.matchAll(new RegExp(SecretParam.source, 'gi'))) {
    const value = url.slice(match.index + match[1]!.length).split(/[&#\s'"<>]/, 1)[0] ?? '';
    if (value) found.push(value, safeDecode(value));
  }
  return found;
}

/** Settings that are secrets in full (never printed), and the URL settings whose credentials are. */
const SecretValueSettings = ['SLACK_TOKEN', 'OPENSEARCH_PASSWORD'] as const;
const UrlSettings = ['DATABASE_URL', 'OPENSEARCH_URL', 'SLACK_API_URL', 'KINESIS_ENDPOINT', 'DRIFTWATCH_RUNBOOK_BASE_URL'] as const;

/** Every credential in the settings: tokens, passwords, URL credentials, the basic-auth header value OpenSearch gets. */
export function secretsOf(settings: Partial<Pick<Settings, (typeof SecretValueSettings)[number] | (typeof UrlSettings)[number] | 'OPENSEARCH_USERNAME'>>): string[] {
  const secrets: string[] = [];
  for (const name of SecretValueSettings) {
    const value = settings[name];
    if (value) secrets.push(value);
  }
  for (const name of UrlSettings) {
    const value = settings[name];
    if (value) secrets.push(...credentialsInUrl(value));
  }
  const password = settings.OPENSEARCH_PASSWORD ?? (settings.OPENSEARCH_URL ? urlPassword(settings.OPENSEARCH_URL) : '');
  const username = settings.OPENSEARCH_USERNAME ?? (settings.OPENSEARCH_URL ? urlUsername(settings.OPENSEARCH_URL) : '');
  if (password) secrets.push(Buffer.from(`${username}:${password}`).toString('base64'));
  return secrets;
}

/** The one redactor of a process: known secrets from the settings plus every URL credential. */
export function redactorFor(settings: Parameters<typeof secretsOf>[0]): Redact {
  return createRedactor(secretsOf(settings));
}

function urlPassword(url: string): string {
  try {
    return decodeURIComponent(new URL(url).password);
  } catch {
    return '';
  }
}

function urlUsername(url: string): string {
  try {
    return decodeURIComponent(new URL(url).username);
  } catch {
    return '';
  }
}

function safeDecode(value: string): string {
  try {
    return decodeURIComponent(value.replace(/\+/g, ' '));
  } catch {
    return value;
  }
}
