import { execFile } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { FileSystem, IgnoreMode } from 'aws-cdk-lib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RepoRoot } from '../../infra/aws/lib/settings/load-deployment.ts';

// There is no Docker engine here: what the image build does is reproduced instead. The build context is staged the
// way CDK stages the image asset (honouring .dockerignore), the deps stage's `npm ci --omit=dev` runs in it, and the
// result must run `driftwatch --help` without the CDK workspace's packages.
const run = promisify(execFile);
const dockerfile = readFileSync(join(RepoRoot, 'Dockerfile'), 'utf8');

describe('Dockerfile', () => {
  it('is multi-stage on Node.js 24, runs as a non-root user, `driftwatch run`, with a health check on /healthz', () => {
    expect(dockerfile).toMatch(/^ARG NODE_IMAGE=node:24-bookworm-slim$/m);
    expect(dockerfile.match(/^FROM \$\{NODE_IMAGE\} AS \w+$/gm)).toHaveLength(2);
    expect(dockerfile).toMatch(/RUN npm ci --omit=dev/);
    const runtimeStage = dockerfile.slice(dockerfile.lastIndexOf('\nFROM '));
    expect(runtimeStage).toMatch(/^USER node$/m);
    expect(runtimeStage).toMatch(/^HEALTHCHECK .*\n? *CMD \["node", "-e", ".*\/healthz/m);
    expect(runtimeStage).toMatch(/^ENTRYPOINT \["node", "bin\/driftwatch\.mjs"\]$/m);
    expect(runtimeStage).toMatch(/^CMD \["run"\]$/m);
    // /healthz must answer from outside the container: the metrics server binds all interfaces in the image.
    expect(runtimeStage).toMatch(/DRIFTWATCH_METRICS_HOST=0\.0\.0\.0/);
  });
});

describe('the image build, reproduced without Docker', () => {
  let context: string;
  let image: string;

  beforeAll(async () => {
    context = mkdtempSync(join(tmpdir(), 'driftwatch-context-'));
    image = mkdtempSync(join(tmpdir(), 'driftwatch-image-'));
    const exclude = readFileSync(join(RepoRoot, '.dockerignore'), 'utf8').split('\n').map((line) => line.trim()).filter((line) => line && !line.startsWith('#'));
    FileSystem.copyDirectory(RepoRoot, context, { exclude, ignoreMode: IgnoreMode.DOCKER });
    // The deps stage: only the package files, then the production install; the runtime stage adds the sources.
    for (const file of ['package.json', 'package-lock.json', 'infra/aws/package.json']) cpSync(join(context, file), join(image, file));
    await run('npm', ['ci', '--omit=dev', '--ignore-scripts', '--no-audit', '--no-fund', '--prefer-offline'], { cwd: image, timeout: 240_000 });
    for (const dir of ['bin', 'schemas', 'stages', 'pipeline']) cpSync(join(context, dir), join(image, dir), { recursive: true });
  }, 300_000);
  afterAll(() => {
    rmSync(context, { recursive: true, force: true });
    rmSync(image, { recursive: true, force: true });
  });

  it('has every path the Dockerfile copies in its build context, and nothing the image does not need', () => {
    const copied = [...dockerfile.matchAll(/^COPY (?!--from)(?:--\S+ )*(.+) \S+$/gm)].flatMap((match) => match[1]!.split(' '));
    expect(copied).toEqual(['package.json', 'package-lock.json', 'infra/aws/package.json', 'package.json', 'package-lock.json', 'bin', 'schemas', 'stages', 'pipeline']);
    for (const path of copied) expect(existsSync(join(context, path)), path).toBe(true);
    for (const path of ['test', 'bench', 'drill', 'infra/aws/lib', 'infra/aws/cdk.out', '.git']) expect(existsSync(join(context, path)), path).toBe(false);
  });

  it('installs the runtime without the CDK workspace or dev tools', () => {
    for (const name of ['tsx', 'zod', 'pg', '@aws-sdk/client-kinesis']) expect(existsSync(join(image, 'node_modules', name)), name).toBe(true);
    for (const name of ['aws-cdk-lib', 'aws-cdk', 'cdk-nag', 'constructs', 'vitest', 'typescript', '@aws-sdk/client-ec2', '@aws-sdk/client-sts']) {
      expect(existsSync(join(image, 'node_modules', name)), name).toBe(false);
    }
  });

  it('runs `driftwatch --help` from the production install', async () => {
    const { stdout } = await run(process.execPath, ['bin/driftwatch.mjs', '--help'], { cwd: image, env: { ...process.env, NODE_ENV: 'production' }, timeout: 60_000 });
    expect(stdout).toMatch(/Usage: driftwatch/);
    expect(stdout).toMatch(/\brun\b/);
  });
});
