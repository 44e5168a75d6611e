/** This notifier's claim lapsed and another notifier took the work over: it must not post. */
export class ClaimLostError extends Error {
  override readonly name = 'ClaimLostError';

  constructor(readonly marker: string) {
    super(`claim on ${marker} was lost to another notifier`);
  }
}
