import type { SlackApi } from './slack-api.ts';
import { decideRetry, describeOutcome, outcomeOf } from './retry.ts';

export class SlackHealthcheckError extends Error {
  override readonly name = 'SlackHealthcheckError';
  /** False when the token itself is refused: retrying will not help. */
  readonly retriable: boolean;

  constructor(message: string, retriable: boolean, options?: ErrorOptions) {
    super(message, options);
    this.retriable = retriable;
  }
}

/** auth.test: is the token valid and Slack reachable? Errors name the Slack error code, never the token. */
export async function slackHealthcheck(api: SlackApi): Promise<{ readonly team: string | null; readonly user: string | null }> {
  try {
    return await api.authTest();
  } catch (error) {
    const outcome = outcomeOf(error);
    const decision = decideRetry(outcome);
    const retriable = decision.action === 'backoff' || decision.action === 'retry-after';
    throw new SlackHealthcheckError(`Slack auth.test failed: ${describeOutcome(outcome)}`, retriable);
  }
}
