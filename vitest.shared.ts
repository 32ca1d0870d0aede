import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

// Shared by every package's vitest.config.ts. Tests run against the sources of
// sibling packages (the "@tdx/source" export condition), so no build is needed
// to test a change that spans packages.
export default defineConfig({
  resolve: { conditions: ['@tdx/source'] },
  ssr: { resolve: { conditions: ['@tdx/source'] } },
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    pool: 'forks',
    globalSetup: [fileURLToPath(new URL('./vitest.global-setup.ts', import.meta.url))],
  },
});
