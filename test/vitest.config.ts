import { defineConfig } from "vitest/config";

// End-to-end: the real CLI against the real tools, in two tiers.
// - fast: files that need docker's CLI and buildx but no engine, registry or QEMU (bake --print round
//   trips, import). They run with the unit tests (`pnpm test`), in parallel with each other.
// - engine: everything else, against the engine, QEMU and registries that test/env/up.sh brings up.
//   Two files run at once (tests inside a file run in order): each test has repositories of its own
//   (`namespace()`, `example(name, ns)` when it reads a shared tag), and most of a file's time is spent
//   waiting on the engine, QEMU or a registry, so two use the 2 cores better than one (measured: 500 s
//   against 752 s for the tier on one busy machine). Images the tier leaves in the engine are removed after it.
// A new e2e file is in the engine tier unless it is listed here.
export const FAST = ["e2e/bake-print.test.ts", "e2e/import.test.ts"];

export default defineConfig({
  test: {
    testTimeout: 600_000,
    hookTimeout: 600_000,
    projects: [
      { extends: true, test: { name: "fast", include: FAST } },
      {
        extends: true,
        test: { name: "engine", include: ["e2e/**/*.test.ts"], exclude: FAST, maxWorkers: 2, globalSetup: ["e2e/engine-leftovers.ts"] },
      },
    ],
  },
});
