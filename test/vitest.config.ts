import { defineConfig } from "vitest/config";

// End-to-end: the real CLI against the real tools, in two tiers.
// - fast: files that need docker's CLI and buildx but no engine, registry or QEMU (bake --print round
//   trips, import). They run with the unit tests (`pnpm test`), in parallel with each other.
// - engine: everything else, against the engine, QEMU and registries that test/env/up.sh brings up.
//   Files run one after another: they share one engine, and two at once raced in it (an image removal's
//   garbage collection under another file's export, a build cache pruned under another file's build:
//   3 failed tests in 3 fresh-clone runs). Tests inside a file run in order. Images the tier leaves in
//   the engine are removed after it: removing one slows as they pile up (15 s at 900 images, 1 s at 50).
// A new e2e file is in the engine tier unless it is listed here. Each run makes its files in a temporary
// folder of its own, removed after it (../vitest.temp-folder.ts).
export const FAST = ["e2e/bake-print.test.ts", "e2e/import.test.ts", "e2e/output.test.ts", "e2e/result-cache.test.ts"];

export default defineConfig({
  test: {
    testTimeout: 600_000,
    hookTimeout: 600_000,
    projects: [
      { extends: true, test: { name: "fast", include: FAST, globalSetup: ["../vitest.temp-folder.ts"] } },
      {
        extends: true,
        test: {
          name: "engine",
          include: ["e2e/**/*.test.ts"],
          exclude: FAST,
          fileParallelism: false,
          globalSetup: ["../vitest.temp-folder.ts", "e2e/engine-leftovers.ts"],
        },
      },
    ],
  },
});
