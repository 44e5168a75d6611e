/**
 * Other writers kept moving the batch's keys while the commit tracked them again (or nothing can track them again):
 * the transaction is rolled back and the batch tried anew from what Postgres holds. Transient by nature.
 */
export class StateConflictError extends Error {
  override readonly name = 'StateConflictError';
  readonly keys: number;

  constructor(keys: number, message: string, options?: ErrorOptions) {
    super(message, options);
    this.keys = keys;
  }
}
