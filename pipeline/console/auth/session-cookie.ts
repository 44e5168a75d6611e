import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * Stateless sessions for token login: the cookie holds an expiry and a nonce, signed with a key derived from the console
 * token. Every console process sharing the token accepts it, a restart keeps people signed in, and changing the token
 * signs everyone out.
 */
export class SessionCookies {
  readonly #key: Buffer;
  readonly #tokenDigest: Buffer;
  readonly #lifetimeMs: number;

  constructor(token: string, lifetimeMs: number) {
    this.#key = createHmac('sha256', token).update('driftwatch-console-session-v1').digest();
    this.#tokenDigest = sha256(token);
    this.#lifetimeMs = lifetimeMs;
  }

  get lifetimeMs(): number {
    return this.#lifetimeMs;
  }

  /** Constant-time comparison of what was typed with the configured token. */
  tokenMatches(candidate: string): boolean {
    return timingSafeEqual(sha256(candidate), this.#tokenDigest);
  }

  issue(now: number): string {
    const payload = `${now + this.#lifetimeMs}.${randomBytes(16).toString('base64url')}`;
    return `${payload}.${this.#mac(payload)}`;
  }

  /** True for a cookie this console signed that has not expired. */
  valid(cookie: string | undefined, now: number): boolean {
    if (!cookie || cookie.length > 200) return false;
    const parts = cookie.split('.');
    if (parts.length !== 3) return false;
    const payload = `${parts[0]}.${parts[1]}`;
    const given = Buffer.from(parts[2]!, 'base64url');
    const expected = Buffer.from(this.#mac(payload), 'base64url');
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return false;
    const expires = Number(parts[0]);
    return Number.isSafeInteger(expires) && expires > now;
  }

  #mac(payload: string): string {
    return createHmac('sha256', this.#key).update(payload).digest('base64url');
  }
}

function sha256(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}
