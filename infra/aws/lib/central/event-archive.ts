import { Duration, RemovalPolicy, Size } from 'aws-cdk-lib';
import * as firehose from 'aws-cdk-lib/aws-kinesisfirehose';
import type * as kinesis from 'aws-cdk-lib/aws-kinesis';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import type { DeploymentSettings } from '../settings/deployment-settings.ts';

/** Raw events land under a UTC date prefix; `driftwatch replay` reads these GZIP, newline-delimited files back. */
export const ArchiveDataPrefix = 'events/!{timestamp:yyyy/MM/dd}/';
export const ArchiveErrorPrefix = 'errors/!{firehose:error-output-type}/!{timestamp:yyyy/MM/dd}/';

export interface EventArchiveProps {
  readonly settings: DeploymentSettings;
  readonly stream: kinesis.IStream;
  readonly key: kms.IKey;
}

/** Firehose reading the stream into a locked-down, versioned S3 bucket: the replayable record of every event. */
export class EventArchive extends Construct {
  readonly bucket: s3.Bucket;
  readonly accessLogBucket: s3.Bucket;
  readonly deliveryStream: firehose.DeliveryStream;

  constructor(scope: Construct, id: string, props: EventArchiveProps) {
    super(scope, id);
    const { archive } = props.settings;

    this.accessLogBucket = new s3.Bucket(this, 'AccessLogs', {
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      encryption: s3.BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      versioned: true,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_PREFERRED,
      lifecycleRules: [{ expiration: Duration.days(archive.expireAfterDays), noncurrentVersionExpiration: Duration.days(30) }],
      removalPolicy: RemovalPolicy.RETAIN,
    });

    this.bucket = new s3.Bucket(this, 'Bucket', {
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      encryption: s3.BucketEncryption.KMS,
      encryptionKey: props.key,
      bucketKeyEnabled: true,
      enforceSSL: true,
      versioned: true,
      serverAccessLogsBucket: this.accessLogBucket,
      serverAccessLogsPrefix: 'archive/',
      lifecycleRules: [
        {
          id: 'tiering-and-expiry',
          transitions: [
            { storageClass: s3.StorageClass.INFREQUENT_ACCESS, transitionAfter: Duration.days(archive.infrequentAccessAfterDays) },
            { storageClass: s3.StorageClass.GLACIER_INSTANT_RETRIEVAL, transitionAfter: Duration.days(archive.glacierAfterDays) },
          ].filter((transition) => transition.transitionAfter.toDays() < archive.expireAfterDays),
          expiration: Duration.days(archive.expireAfterDays),
          noncurrentVersionExpiration: Duration.days(30),
          abortIncompleteMultipartUploadAfter: Duration.days(7),
        },
      ],
      removalPolicy: RemovalPolicy.RETAIN,
    });

    this.deliveryStream = new firehose.DeliveryStream(this, 'DeliveryStream', {
      deliveryStreamName: 'driftwatch-archive',
      source: new firehose.KinesisStreamSource(props.stream),
      destination: new firehose.S3Bucket(this.bucket, {
        compression: firehose.Compression.GZIP,
        dataOutputPrefix: ArchiveDataPrefix,
        errorOutputPrefix: ArchiveErrorPrefix,
        bufferingInterval: Duration.seconds(archive.bufferingSeconds),
        bufferingSize: Size.mebibytes(archive.bufferingMiB),
        encryptionKey: props.key,
        // One event per line, so the archive is ndjson once decompressed.
        processors: [new firehose.AppendDelimiterToRecordProcessor()],
      }),
    });
  }
}
