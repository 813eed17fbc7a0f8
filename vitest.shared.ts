import { defineConfig } from "vitest/config";

// Unit tests live beside the code; nothing outside src/ is collected (fixtures may hold odd files).
export default defineConfig({
  test: { include: ["src/**/*.test.ts"], testTimeout: 60_000, globalSetup: [new URL("./vitest.temp-folder.ts", import.meta.url).pathname] },
});
