import type { Logger } from 'pino';
import type { Settings } from '../../../schemas/settings.ts';
import { createFirehoseClient } from './client.ts';
import { firehoseConfigFromSettings } from './config.ts';
import { FirehoseSink } from './firehose-sink.ts';

/**
 * The Firehose archive sink from settings, or null when FIREHOSE_DELIVERY_STREAM is unset (the archive is optional).
 * The caller runs `sink.healthcheck(signal)` at start (the run command does, for every sink).
 */
export function createFirehoseSink(settings: Settings, logger: Logger): FirehoseSink | null {
  const config = firehoseConfigFromSettings(settings);
  if (!config) return null;
  logger.info({ sink: 'firehose', deliveryStream: config.deliveryStream, region: config.region, endpoint: config.endpoint }, 'firehose sink configured');
  return new FirehoseSink({ client: createFirehoseClient(config), config, logger });
}
