#!/usr/bin/env node
// Runs the TypeScript sources directly through tsx: no build step between `npm ci` and `npx driftwatch`.
import { register } from 'tsx/esm/api';

// The AWS SDK's notice that its 2027 releases need Node 22 is for maintainers (versions are pinned), not every run.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
register();
const { main } = await import('../pipeline/cli/main.ts');
process.exitCode = await main(process.argv.slice(2));
