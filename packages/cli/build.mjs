// Bundles the CLI into dist/multiarch.cjs, with the libraries it loads on first use beside it
// (dist/zod.cjs, yaml.cjs, handlebars.cjs, execa.cjs; no runtime dependencies), and warms V8's code
// cache for the bundle: bin/multiarch.js starts it from that cache. Commands and the packages behind
// them initialise when first imported, so start-up runs only what the command needs.
// With an OUTDIR, the GitHub Action's bundle instead: OUTDIR/action.js, one ES module from the same
// sources (action.yml runs it; committed under action/dist by `pnpm --filter @multiarch/cli build:action`,
// checked against a fresh build by the e2e suite).
// Usage: node build.mjs [OUTDIR]
import { createHash } from "node:crypto";
import { appendFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { build } from "esbuild";

// What both bundles share: self-contained, Node 20, identifiers as written (libraries read class names:
// execa names its errors after its classes; keepNames would pay a defineProperty for every closure).
const common = {
  bundle: true,
  platform: "node",
  target: "node20",
  minifyWhitespace: !process.env.MULTIARCH_BUILD_DEBUG, // readable lines for profiling
  minifySyntax: true,
  legalComments: "none",
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
    {
      // spec's schema requires zod on first use (plan and validate never load it): that require gets the
      // ES module build the plan format imports, so a bundle holds one zod (the action's; the CLI's
      // bundle leaves zod to dist/zod.cjs)
      name: "zod-one-copy",
      setup(b) {
        b.onResolve({ filter: /^zod$/ }, async (args) => {
          if (args.kind !== "require-call") return undefined;
          const r = await b.resolve("zod", { kind: "import-statement", resolveDir: args.resolveDir });
          return r.errors.length ? { errors: r.errors } : { path: r.path };
        });
      },
    },
    {
      // zod's messages in English only: its 60-odd other locales were a fifth of the bundle, and every
      // one was initialised at start-up (zod exports them all as z.locales; we never switch locale)
      name: "zod-english-only",
      setup(b) {
        // the module's name is not a path: the bundle names it, and must be the same on every machine
        b.onResolve({ filter: /^\.\.\/locales\/index\.js$/ }, (args) =>
          /[\\/]zod[\\/]/.test(args.importer)
            ? { path: "en-only", namespace: "zod-locales", pluginData: { dir: join(dirname(args.importer), "..", "locales") } }
            : undefined,
        );
        b.onLoad({ filter: /.*/, namespace: "zod-locales" }, (args) => ({
          contents: 'export { default as en } from "./en.js";',
          resolveDir: args.pluginData.dir,
        }));
      },
    },
  ],
};

const actionDir = process.argv[2];
if (actionDir) {
  rmSync(actionDir, { recursive: true, force: true });
  await build({
    ...common,
    entryPoints: { action: "src/action-main.ts" },
    outdir: actionDir,
    format: "esm",
    banner: { js: 'import { createRequire as __cr } from "node:module"; const require = __cr(import.meta.url);' },
  });
  process.exit(0);
}

rmSync("dist", { recursive: true, force: true });
// Libraries the usual validate and plan never run (the sources load them on first use: fast YAML,
// template and shape paths; execa only to stream a build), each in its own file beside the bundle: the
// bundle's start-up neither reads nor sets up their modules. The bundle requires them by relative path.
const LAZY_LIBRARIES = ["zod", "yaml", "handlebars", "execa"];
/** Where each library was imported from: its file is built from there (the package that depends on it). */
const importedFrom = {};
const lazyLibraries = {
  name: "lazy-libraries",
  setup(b) {
    const names = LAZY_LIBRARIES.join("|");
    // import, import() and require() alike become a require of the file, when the importing code runs
    // (a real import() from the bundle would go through node's ES module loader)
    b.onResolve({ filter: new RegExp(`^(${names})$`) }, (args) => {
      importedFrom[args.path] ??= args.resolveDir;
      return { path: args.path, namespace: "lazy-library" };
    });
    b.onLoad({ filter: /.*/, namespace: "lazy-library" }, (args) => ({ contents: `module.exports = require("./${args.path}.cjs");` }));
    b.onResolve({ filter: new RegExp(`^\\./(${names})\\.cjs$`) }, (args) => ({ path: args.path, external: true }));
  },
};
await build({
  ...common,
  plugins: [lazyLibraries, ...common.plugins],
  entryPoints: { multiarch: "src/main.ts" },
  outdir: "dist",
  outExtension: { ".js": ".cjs" },
  format: "cjs",
});
for (const name of LAZY_LIBRARIES) {
  // zod and execa are ES modules: their exports as an object; yaml and handlebars are CommonJS already
  const esm = name === "zod" || name === "execa";
  await build({
    ...common,
    stdin: { contents: esm ? `export * from "${name}";` : `module.exports = require("${name}");`, resolveDir: importedFrom[name], loader: "js" },
    outfile: `dist/${name}.cjs`,
    format: "cjs",
  });
}

// The result cache bin/multiarch.js asks before it loads the bundle: small, and keyed to this build
// (a hash of the bundle and its libraries), so an answer of another build is never given.
const buildId = createHash("sha256");
for (const name of ["multiarch", ...LAZY_LIBRARIES]) buildId.update(readFileSync(`dist/${name}.cjs`));
await build({
  ...common,
  entryPoints: { "result-cache": "src/result-cache.ts" },
  outdir: "dist",
  outExtension: { ".js": ".cjs" },
  format: "cjs",
  define: { MULTIARCH_BUILD_ID: JSON.stringify(buildId.digest("hex").slice(0, 16)) },
});

// bin/multiarch.js reads the bundle as latin1, which equals UTF-8 for ASCII only (esbuild escapes strings;
// the comments a debug build keeps may not be ASCII, and latin1 only garbles them)
for (const file of ["dist/multiarch.cjs", "dist/result-cache.cjs"])
  if (!process.env.MULTIARCH_BUILD_DEBUG && /[^\x00-\x7f]/.test(readFileSync(file, "latin1"))) throw new Error(`${file} is not ASCII`);

await warmUp();

/**
 * Runs what editors and CI run on every save and push (validate, plan) in this process, then saves the
 * code V8 compiled for them as the bundle's cache; validate once more as the result cache records it, and
 * its replay after an edit, for the result cache's.
 */
async function warmUp() {
  const { compileScript, writeCache } = createRequire(import.meta.url)("./bin/multiarch.js");
  const { script, exports: bundle } = compileScript("multiarch");
  const resultCache = compileScript("result-cache");
  const dir = mkdtempSync(join(tmpdir(), "multiarch-warm-up-"));
  try {
    const spec = join(dir, "multiarch.yaml");
    const lines = [
      "version: 1",
      "platforms: [linux/amd64, linux/arm64]",
      "registries:",
      "  local: { url: 127.0.0.1:5000/warm-up, insecure: true }",
      "variables:",
      "  version: { env: VERSION, default: 1.0.0 }",
      "defaults:",
      '  tags: ["{{version}}", latest]',
      '  labels: { org.opencontainers.image.version: "{{version}}" }',
      "images:",
    ];
    for (const name of ["base", "app"]) {
      mkdirSync(join(dir, name));
      writeFileSync(join(dir, name, "Dockerfile"), "FROM scratch\n");
      lines.push(`  ${name}:`, `    context: ${name}`, `    args: { SERVICE: ${name}, APP_VERSION: "{{version}}" }`);
    }
    lines.push('    contexts: { base: "image:base" }');
    writeFileSync(spec, `${lines.join("\n")}\n`);
    const sink = { write: () => true, isTTY: false };
    const io = { stdout: sink, stderr: sink, cwd: dir, env: { PATH: process.env.PATH ?? "" } };
    for (const argv of [
      ["--help"],
      ["validate", "-f", spec],
      ["validate", "--static", "-f", spec],
      ["plan", "-f", spec, "--strategy", "bake"],
      ["plan", "-f", spec, "--strategy", "manifest"],
    ]) {
      const code = await bundle.run(argv, io);
      if (code !== 0) throw new Error(`warm-up: multiarch ${argv.join(" ")} exited ${code}`);
    }
    // recorded only when this build's output is no terminal (as the CLI would); the replay finds the edit
    // and prints nothing
    const argv = ["validate", "-f", spec];
    const env = { ...io.env, MULTIARCH_CACHE_DIR: join(dir, "cache") };
    const recording = resultCache.exports.record(argv, dir, env, process.cwd());
    const recorded = recording ? { ...io, stdout: recording.tee(sink, "out"), stderr: recording.tee(sink, "err"), env: recording.env } : io;
    recording?.finish(await bundle.run(argv, recorded), true);
    appendFileSync(spec, "# edited\n");
    if (resultCache.exports.replay(argv, dir, env) !== undefined) throw new Error("warm-up: the result cache answered an edited spec");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  writeCache("multiarch", script);
  writeCache("result-cache", resultCache.script);
}
