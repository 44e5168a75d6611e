#!/usr/bin/env node
// Runs the TypeScript sources directly through tsx: no build step between `npm ci` and `npx driftwatch`.
import { DefaultNodeFlags, launchEnv, missingNodeFlags } from './node-flags.mjs';

// Supported: Node.js 22 and 24 LTS. An older Node still runs what it can, with one line saying so (instead of the AWS
// SDK's multi-line notice from every client).
const nodeMajor = Number(process.versions.node.split('.')[0]);
if (nodeMajor < 22) {
  process.stderr.write(`driftwatch: Node.js ${process.versions.node} is past its end of life and not supported; use Node.js 24 or 22\n`);
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
}

// The process sizes its own heap (node-flags.mjs). V8 reads heap sizes only at start, so the launcher replaces itself
// (same pid, same stdio: signals, supervisors and crash tests see one process) with node plus the missing flags.
// Where process.execve does not exist (before Node 22.15, Windows) it runs with node's defaults. The restart also
// bounds glibc's malloc arenas (launchEnv); with no flag missing, node is left alone, environment included.
const flags = missingNodeFlags(process.env.DRIFTWATCH_NODE_FLAGS ?? DefaultNodeFlags, process.execArgv, process.env.NODE_OPTIONS);
if (flags.length > 0 && typeof process.execve === 'function') {
  process.execve(process.execPath, [process.execPath, ...flags, ...process.execArgv, ...process.argv.slice(1)], launchEnv(process.env));
}

const { register } = await import('tsx/esm/api');
register();
const { main } = await import('../pipeline/cli/main.ts');
process.exitCode = await main(process.argv.slice(2));
