import { ErrorCode } from '@slack/web-api';

/** What one Slack Web API call came back with, stripped to what the retry decision needs (never the token). */
export type SlackCallOutcome =
  | { readonly kind: 'ok' }
  | { readonly kind: 'rate-limited'; readonly retryAfterSeconds: number | null }
  | { readonly kind: 'http-error'; readonly status: number }
  | { readonly kind: 'platform-error'; readonly error: string }
  /** Network failure, reset, timeout: the request may or may not have reached Slack. */
  | { readonly kind: 'request-error'; readonly detail: string };

/**
 * ok: done. retry-after: Slack said when (429), wait exactly that. backoff: transient, wait with exponential backoff;
 * `maybeDelivered` means the post may have landed, so look for it before posting again. pause: the workspace
 * refuses us (token revoked, scopes): stop everything for a while, drop nothing. reject: this message can never be
 * delivered (channel_not_found, invalid_blocks): give up on it.
 */
export type RetryDecision =
  | { readonly action: 'ok' }
  | { readonly action: 'retry-after'; readonly delayMs: number }
  | { readonly action: 'backoff'; readonly reason: string; readonly maybeDelivered: boolean }
  | { readonly action: 'pause'; readonly reason: string }
  | { readonly action: 'reject'; readonly reason: string };

/** Slack errors that go away by themselves. */
const TransientErrors: ReadonlySet<string> = new Set([
  'internal_error', 'fatal_error', 'service_unavailable', 'request_timeout', 'team_added_to_org', 'ratelimited', 'rate_limited',
]);

/** Slack errors about the token or the app, not the message: every call would fail the same way. */
const WorkspaceErrors: ReadonlySet<string> = new Set([
  'not_authed', 'invalid_auth', 'account_inactive', 'token_revoked', 'token_expired', 'no_permission', 'missing_scope',
  'not_allowed_token_type', 'org_login_required', 'ekm_access_denied', 'team_access_not_granted', 'access_denied', 'app_missing_action_url',
]);

/** When Slack says 429 without a usable Retry-After. */
const DefaultRetryAfterMs = 1_000;

/** The pure retry decision for one call outcome; the table of cases lives in test/notify/slack/retry.test.ts. */
export function decideRetry(outcome: SlackCallOutcome): RetryDecision {
  switch (outcome.kind) {
    case 'ok':
      return { action: 'ok' };
    case 'rate-limited':
      return {
        action: 'retry-after',
        delayMs: outcome.retryAfterSeconds !== null && outcome.retryAfterSeconds >= 0 ? outcome.retryAfterSeconds * 1_000 : DefaultRetryAfterMs,
      };
    case 'http-error':
      if (outcome.status === 429) return { action: 'retry-after', delayMs: DefaultRetryAfterMs };
      if (outcome.status >= 500) return { action: 'backoff', reason: `http ${outcome.status}`, maybeDelivered: true };
      if (outcome.status === 401 || outcome.status === 403) return { action: 'pause', reason: `http ${outcome.status}` };
      if (outcome.status === 400 || outcome.status === 404 || outcome.status === 413) return { action: 'reject', reason: `http ${outcome.status}` };
      // 408, 409, 425 and whatever a proxy invents: keep the intent and try again.
      return { action: 'backoff', reason: `http ${outcome.status}`, maybeDelivered: outcome.status === 408 };
    case 'platform-error':
      if (outcome.error === 'ratelimited' || outcome.error === 'rate_limited') return { action: 'retry-after', delayMs: DefaultRetryAfterMs };
      if (TransientErrors.has(outcome.error)) return { action: 'backoff', reason: outcome.error, maybeDelivered: false };
      if (WorkspaceErrors.has(outcome.error)) return { action: 'pause', reason: outcome.error };
      return { action: 'reject', reason: outcome.error };
    case 'request-error':
      return { action: 'backoff', reason: outcome.detail, maybeDelivered: true };
  }
}

/** Maps what @slack/web-api threw to an outcome. Messages are rebuilt from codes, so no token or body can leak. */
export function outcomeOf(error: unknown): SlackCallOutcome {
  const coded = error as { code?: unknown; retryAfter?: unknown; statusCode?: unknown; data?: { error?: unknown }; original?: { name?: unknown; code?: unknown; cause?: { code?: unknown } } };
  switch (coded?.code) {
    case ErrorCode.RateLimitedError:
      return { kind: 'rate-limited', retryAfterSeconds: typeof coded.retryAfter === 'number' && Number.isFinite(coded.retryAfter) ? coded.retryAfter : null };
    case ErrorCode.HTTPError:
      return { kind: 'http-error', status: typeof coded.statusCode === 'number' ? coded.statusCode : 0 };
    case ErrorCode.PlatformError:
      return { kind: 'platform-error', error: typeof coded.data?.error === 'string' ? coded.data.error : 'unknown_error' };
    case ErrorCode.RequestError: {
      const original = coded.original;
      const code = original?.cause?.code ?? original?.code;
      const name = original?.name;
      return { kind: 'request-error', detail: typeof code === 'string' ? code : name === 'TimeoutError' || name === 'AbortError' ? 'timeout' : 'network error' };
    }
    default:
      return { kind: 'request-error', detail: error instanceof Error ? error.name : 'unknown error' };
  }
}

/** A short, secret-free description of a call outcome for logs and last_error. */
export function describeOutcome(outcome: SlackCallOutcome): string {
  switch (outcome.kind) {
    case 'ok':
      return 'ok';
    case 'rate-limited':
      return `rate limited (retry after ${outcome.retryAfterSeconds ?? '?'} s)`;
    case 'http-error':
      return `http ${outcome.status}`;
    case 'platform-error':
      return outcome.error;
    case 'request-error':
      return outcome.detail;
  }
}
