import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 240_000,
    // Two cores: files run two at a time, each against its own database.
    maxWorkers: 2,
    pool: 'forks',
    // Tests also run on a developer's older Node; the SDK's Node 22 notice would only bury their output.
    env: { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
  },
});
