/** Something `driftwatch run` keeps going beside the consumer (notifier, schedules, metrics server) until stopped. */
export interface BackgroundService {
  readonly name: string;
  run(signal: AbortSignal): Promise<void>;
}
