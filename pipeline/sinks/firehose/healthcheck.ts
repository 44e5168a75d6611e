import { DescribeDeliveryStreamCommand } from '@aws-sdk/client-firehose';
import type { FirehoseClient } from '@aws-sdk/client-firehose';

export class FirehoseUnhealthyError extends Error {
  override readonly name = 'FirehoseUnhealthyError';
}

/**
 * Healthy = the stream exists, our credentials may describe it, and it is ACTIVE (a stream being created, deleted or
 * whose creation failed takes no records). Throws FirehoseUnhealthyError with one line naming the stream.
 */
export async function checkFirehoseHealth(client: FirehoseClient, deliveryStream: string, signal: AbortSignal): Promise<void> {
  let status: string | undefined;
  try {
    const output = await client.send(new DescribeDeliveryStreamCommand({ DeliveryStreamName: deliveryStream }), { abortSignal: signal });
    status = output.DeliveryStreamDescription?.DeliveryStreamStatus;
  } catch (error) {
    const e = error as { name?: string; message?: string };
    throw new FirehoseUnhealthyError(`firehose healthcheck: cannot describe stream ${deliveryStream}: ${e.name ?? 'Error'}: ${e.message ?? String(error)}`, { cause: error });
  }
  if (status !== 'ACTIVE') throw new FirehoseUnhealthyError(`firehose healthcheck: stream ${deliveryStream} is ${status ?? 'in an unknown state'}, not ACTIVE`);
}
