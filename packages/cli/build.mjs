// Bundles the CLI into dist/ with code splitting: each command is a chunk loaded on demand, so start-up
// reads only what the command needs. The bundle is self-contained (no runtime dependencies).
import { build } from "esbuild";

await build({
  entryPoints: { multiarch: "src/main.ts" },
  outdir: "dist",
  bundle: true,
  splitting: true,
  format: "esm",
  platform: "node",
  target: "node20",
  minifySyntax: true,
  legalComments: "none",
  chunkNames: "chunks/[name]-[hash]",
  banner: { js: 'import { createRequire as __cr } from "node:module"; const require = __cr(import.meta.url);' },
  logLevel: "warning",
});
