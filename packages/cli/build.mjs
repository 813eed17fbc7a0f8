// Bundles the CLI into dist/ with code splitting: each command is a chunk loaded on demand, so start-up
// reads only what the command needs. The bundle is self-contained (no runtime dependencies).
// Two entry points share the chunks: the CLI, and the GitHub Action's (action.yml runs the same bundle,
// committed under action/dist: `pnpm --filter @multiarch/cli build:action`, checked by the e2e suite).
// Usage: node build.mjs [OUTDIR]   (default: dist)
import { rmSync } from "node:fs";
import { build } from "esbuild";

const outdir = process.argv[2] ?? "dist";
rmSync(outdir, { recursive: true, force: true });

await build({
  entryPoints: { multiarch: "src/main.ts", action: "src/action-main.ts" },
  outdir,
  bundle: true,
  splitting: true,
  format: "esm",
  platform: "node",
  target: "node20",
  minify: !process.env.MULTIARCH_BUILD_DEBUG, // unminified names for profiling
  keepNames: true,
  legalComments: "none",
  chunkNames: "chunks/[name]-[hash]",
  banner: { js: 'import { createRequire as __cr } from "node:module"; const require = __cr(import.meta.url);' },
  logLevel: "warning",
  // handlebars' code generator falls back to a built-in SourceNode without the source-map package;
  // we never ask for source maps of templates.
  plugins: [
    {
      name: "no-source-map",
      setup(b) {
        b.onResolve({ filter: /^source-map$/ }, () => ({ path: "source-map", namespace: "empty" }));
        b.onLoad({ filter: /.*/, namespace: "empty" }, () => ({ contents: "module.exports = {}" }));
      },
    },
  ],
});
