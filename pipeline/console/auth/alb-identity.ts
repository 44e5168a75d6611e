import { createPublicKey, verify } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { readFile } from 'node:fs/promises';

/** Who an ALB says the user is, after its signature checked out. */
export interface AlbIdentity {
  readonly user: string;
  readonly subject: string;
}

export class AlbIdentityError extends Error {
  override readonly name = 'AlbIdentityError';
}

export interface AlbIdentityOptions {
  /** The load balancer that must have signed the header (its `signer` field). */
  readonly albArn: string;
  /** Where keys come from: one PEM file, or `<baseUrl>/<kid>` as ALBs publish them. */
  readonly keys: { readonly file: string } | { readonly baseUrl: string };
  readonly now?: () => number;
  readonly fetchTimeoutMs?: number;
}

const KeyIdPattern = /^[A-Za-z0-9-]{1,128}$/;
const ClockSkewSeconds = 60;
const MaxCachedKeys = 32;

/**
 * Verifies the `x-amzn-oidc-data` header an AWS Application Load Balancer adds after OIDC sign-in: an ES256 JWT whose
 * header names the signing ALB and the key id. AWS publishes each key as PEM at `<region endpoint>/<kid>`; the JWT's
 * base64url parts may carry `=` padding, which generic JWT libraries refuse, so it is checked with node:crypto here.
 */
export class AlbIdentityVerifier {
  readonly #o: AlbIdentityOptions;
  readonly #keys = new Map<string, Promise<KeyObject>>();
  #fileKey: Promise<KeyObject> | undefined;

  constructor(options: AlbIdentityOptions) {
    this.#o = options;
  }

  /** The identity in a header value, or AlbIdentityError saying why it is refused. */
  async verify(token: string): Promise<AlbIdentity> {
    const parts = token.split('.');
    if (parts.length !== 3 || token.length > 16_384) throw new AlbIdentityError('identity header is not a JWT');
    const [headerPart, payloadPart, signaturePart] = parts as [string, string, string];
    const header = decodeJson(headerPart, 'header');
    const payload = decodeJson(payloadPart, 'payload');
    if (header.alg !== 'ES256') throw new AlbIdentityError(`identity header algorithm ${String(header.alg)} is not ES256`);
    if (header.signer !== this.#o.albArn) throw new AlbIdentityError('identity header was signed by another load balancer');
    const kid = header.kid;
    if (typeof kid !== 'string' || !KeyIdPattern.test(kid)) throw new AlbIdentityError('identity header has no valid key id');
    const nowSeconds = (this.#o.now?.() ?? Date.now()) / 1_000;
    const exp = typeof header.exp === 'number' ? header.exp : typeof payload.exp === 'number' ? payload.exp : null;
    if (exp === null) throw new AlbIdentityError('identity header has no expiry');
    if (exp + ClockSkewSeconds < nowSeconds) throw new AlbIdentityError('identity header has expired');
    const key = await this.#key(kid);
    const signature = base64Url(signaturePart);
    const valid = signature.length === 64 && verify('sha256', Buffer.from(`${headerPart}.${payloadPart}`), { key, dsaEncoding: 'ieee-p1363' }, signature);
    if (!valid) throw new AlbIdentityError('identity header signature does not verify');
    const subject = typeof payload.sub === 'string' ? payload.sub : '';
    const user = typeof payload.email === 'string' && payload.email ? payload.email : subject;
    if (!user) throw new AlbIdentityError('identity header names no user');
    return { user, subject };
  }

  #key(kid: string): Promise<KeyObject> {
    const source = this.#o.keys;
    if ('file' in source) {
      this.#fileKey ??= readFile(source.file, 'utf8').then(
        (pem) => toKey(pem, `key file ${source.file}`),
        (error: NodeJS.ErrnoException) => {
          this.#fileKey = undefined;
          throw new AlbIdentityError(`cannot read ALB key file ${source.file}: ${error.code ?? 'error'}`);
        },
      );
      return this.#fileKey;
    }
    let key = this.#keys.get(kid);
    if (!key) {
      if (this.#keys.size >= MaxCachedKeys) this.#keys.delete(this.#keys.keys().next().value!);
      key = this.#fetchKey(`${source.baseUrl.replace(/\/+$/, '')}/${kid}`);
      // A failed fetch is not cached: the next request tries again.
      key.catch(() => this.#keys.delete(kid));
      this.#keys.set(kid, key);
    }
    return key;
  }

  async #fetchKey(url: string): Promise<KeyObject> {
    let response: Response;
    try {
      response = await fetch(url, { signal: AbortSignal.timeout(this.#o.fetchTimeoutMs ?? 5_000), redirect: 'error' });
    } catch (error) {
      throw new AlbIdentityError(`cannot fetch the ALB public key: ${(error as Error).message}`, { cause: error });
    }
    if (!response.ok) throw new AlbIdentityError(`cannot fetch the ALB public key: HTTP ${response.status}`);
    return toKey(await response.text(), 'the fetched ALB public key');
  }
}

function toKey(pem: string, what: string): KeyObject {
  try {
    const key = createPublicKey(pem);
    if (key.asymmetricKeyType !== 'ec' || key.asymmetricKeyDetails?.namedCurve !== 'prime256v1') throw new Error('not a P-256 key');
    return key;
  } catch (error) {
    throw new AlbIdentityError(`${what} is not a P-256 public key in PEM`, { cause: error });
  }
}

function base64Url(part: string): Buffer {
  return Buffer.from(part.replace(/=+$/, ''), 'base64url');
}

function decodeJson(part: string, what: string): Record<string, unknown> {
  try {
    const value: unknown = JSON.parse(base64Url(part).toString('utf8'));
    if (typeof value === 'object' && value !== null && !Array.isArray(value)) return value as Record<string, unknown>;
  } catch {
    // fall through to the refusal below
  }
  throw new AlbIdentityError(`identity header ${what} is not a JSON object`);
}
