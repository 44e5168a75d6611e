/** A risk exception request a person must correct (unknown id, already revoked, a date in the past); one line. */
export class RiskExceptionError extends Error {
  override readonly name = 'RiskExceptionError';
}
