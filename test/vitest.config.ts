import { defineConfig } from "vitest/config";

// End-to-end: the real CLI against the real engine, QEMU and registries that test/env/up.sh brings up.
// Files run one after another (they share one engine); tests inside a file run in order.
export default defineConfig({
  test: { include: ["e2e/**/*.test.ts"], testTimeout: 600_000, hookTimeout: 600_000, fileParallelism: false, reporters: ["default"] },
});
