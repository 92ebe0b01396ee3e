import { defineConfig } from 'vitest/config';

/** `npm run test:browser`: the console in Debian's Chromium against the real server (see console.browser.test.ts). */
export default defineConfig({
  test: {
    root: new URL('../..', import.meta.url).pathname,
    include: ['test/browser/**/*.test.ts'],
    testTimeout: 180_000,
    hookTimeout: 120_000,
    pool: 'forks',
    maxWorkers: 1,
    env: { LOG_LEVEL: 'silent' },
  },
});
