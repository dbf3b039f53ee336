import { defineConfig } from 'vitest/config';
import { scriptText } from './test/scriptText';

// Integration tests run against the lab (lab/lab.sh up): real sshd, libvirtd, QEMU. One file at a time,
// because they share the lab's hosts and domains.
export default defineConfig({
  plugins: [scriptText()],
  test: {
    include: ['test/integration/**/*.test.ts'],
    environment: 'node',
    fileParallelism: false,
    testTimeout: 60_000,
    hookTimeout: 120_000,
  },
});
