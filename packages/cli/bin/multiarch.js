#!/usr/bin/env node
// Starts the bundle (dist/multiarch.cjs) from V8's code cache: with the cache, V8 neither parses nor
// compiles what the cache holds (validate and plan spend a third of their start-up there otherwise).
// Node 20 has no module compile cache, hence scripts compiled here. The build writes the cache for its
// Node (build.mjs runs validate and plan first); another Node writes its own on first use, if it may.
// A cache V8 refuses (other flags) only costs the compile it would have saved.
// validate asks dist/result-cache.cjs first (from its own code cache, the same way): an unchanged spec's
// answer is given without the bundle.
"use strict";
const { readFileSync, renameSync, writeFileSync } = require("node:fs");
const { createRequire } = require("node:module");
const { join } = require("node:path");
const vm = require("node:vm");

const DIST = join(__dirname, "..", "dist");
const cacheOf = (name) => join(DIST, `${name}-${process.version}-${process.arch}.cache`);

/** dist/NAME.cjs compiled as a CommonJS module would be, with its code cache when there is one. */
function compileScript(name) {
  const file = join(DIST, `${name}.cjs`);
  let cachedData;
  try {
    cachedData = readFileSync(cacheOf(name));
  } catch {
    // no cache for this Node yet
  }
  // the scripts are ASCII (esbuild escapes the rest; the build checks): latin1 reads them without decoding
  const source = `(function (exports, require, module, __filename, __dirname) {${readFileSync(file, "latin1")}\n})`;
  const script = new vm.Script(source, {
    filename: file,
    cachedData,
    importModuleDynamically: vm.constants.USE_MAIN_CONTEXT_DEFAULT_LOADER,
  });
  const module = { exports: {} };
  // its require is the script's own: the libraries the bundle loads on first use sit beside it (build.mjs)
  script.runInThisContext()(module.exports, createRequire(file), module, file, DIST);
  return { script, exports: module.exports, cached: cachedData !== undefined };
}

/** Written whole or not at all: a concurrent run reads either no cache or a complete one. */
function writeCache(name, script) {
  const tmp = `${cacheOf(name)}.${process.pid}`;
  writeFileSync(tmp, script.createCachedData());
  renameSync(tmp, cacheOf(name));
}

/** After a run: the code caches this Node has none of yet, with the functions the run compiled. */
function keepCaches(compiled) {
  for (const [name, c] of Object.entries(compiled)) {
    if (!c || c.cached) continue;
    try {
      writeCache(name, c.script);
    } catch {
      // a read-only installation: run without a cache
    }
  }
}

/** The command line; validate's recorded for the result cache when it is loaded. */
function runBundle(resultCache, cwd) {
  const bundle = compileScript("multiarch");
  const packageDir = join(__dirname, "..");
  const cache = resultCache?.exports;
  bundle.exports
    .main(cache && ((argv, at, env) => cache.record(argv, at, env, packageDir)), cwd)
    .then(() => keepCaches({ multiarch: bundle, "result-cache": resultCache }));
}

/**
 * The working folder, or exit 4 with one sentence: a folder removed under a shell (node throws). Before the
 * bundle, so --json's document is written here, in the contract's shape (src/json-output.ts).
 */
function workingFolder(argv) {
  try {
    return process.cwd();
  } catch (e) {
    // help and the version read no folder: printed as anywhere else
    if (argv.length === 0 || argv[0] === "help" || argv.some((a) => ["-h", "--help", "-V", "--version"].includes(a))) return "/";
    const message = `the current folder cannot be read (${e.code ?? e.message}); it may have been removed: cd to one that exists`;
    process.stderr.write(`multiarch: ${message}\n`);
    if (argv.some((a) => a === "--json" || a.startsWith("--json="))) {
      // the command word as the CLI reads it: first, or second after a leading --json
      const word = argv[0] === "--json" ? argv[1] : argv[0];
      const command = word && !word.startsWith("-") ? word : "";
      process.stdout.write(`${JSON.stringify({ version: 1, command, ok: false, exitCode: 4, message, errors: [], warnings: [] }, null, 2)}\n`);
    }
    process.exit(4);
  }
}

if (require.main === module) {
  // A signal while the bundle loads, before its handlers exist, would kill the run without a word (no --json
  // document). With a listener here it waits for the event loop, which runs the bundle's handlers too.
  for (const sig of ["SIGINT", "SIGTERM"]) process.on(sig, () => {});
  const argv = process.argv.slice(2);
  const cwd = workingFolder(argv);
  // validate's answer while nothing it read has changed (src/result-cache.ts): given without the bundle.
  // Other commands are never cached; they skip loading it. So does validate --static, the editor's check,
  // which runs after every edit: the cache could never answer it, and recording costs a few ms.
  const resultCache = argv.includes("validate") && !argv.includes("--static") ? compileScript("result-cache") : undefined;
  const answered = resultCache?.exports.replay(argv, cwd, process.env);
  if (answered === undefined) runBundle(resultCache, cwd);
  else {
    process.exitCode = answered;
    keepCaches({ "result-cache": resultCache });
  }
} else {
  module.exports = { compileScript, writeCache };
}
