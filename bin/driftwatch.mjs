#!/usr/bin/env node
// Runs the TypeScript sources directly through tsx: no build step between `npm ci` and `npx driftwatch`.
import { register } from 'tsx/esm/api';

process.removeAllListeners('warning');
process.on('warning', (warning) => {
  // The AWS SDK's notice about Node 22 is for maintainers, not for every run.
  if (!String(warning.message).includes('NodeVersionSupportWarning') && warning.name !== 'NodeVersionSupportWarning') console.error(`${warning.name}: ${warning.message}`);
});
register();
const { main } = await import('../pipeline/cli/main.ts');
process.exitCode = await main(process.argv.slice(2));
