#!/usr/bin/env node
// Runs the TypeScript sources directly through tsx: no build step between `npm ci` and `npx driftwatch`.
import { register } from 'tsx/esm/api';

// Supported: Node.js 22 and 24 LTS. An older Node still runs what it can, with one line saying so (instead of the AWS
// SDK's multi-line notice from every client).
const nodeMajor = Number(process.versions.node.split('.')[0]);
if (nodeMajor < 22) {
  process.stderr.write(`driftwatch: Node.js ${process.versions.node} is past its end of life and not supported; use Node.js 24 or 22\n`);
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
}
register();
const { main } = await import('../pipeline/cli/main.ts');
process.exitCode = await main(process.argv.slice(2));
