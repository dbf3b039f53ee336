import { defineConfig } from 'vitest/config';
import { scriptText } from './test/scriptText';

// Unit tests only; the lab-backed integration tests have their own config (vitest.integration.config.ts).
export default defineConfig({
  plugins: [scriptText()],
  test: { include: ['test/unit/**/*.test.ts'], environment: 'node' },
});
