import { defineConfig } from 'vitest/config';

// Unit tests only; the lab-backed integration tests have their own config (vitest.integration.config.ts).
export default defineConfig({
  test: { include: ['test/unit/**/*.test.ts'], environment: 'node' },
});
