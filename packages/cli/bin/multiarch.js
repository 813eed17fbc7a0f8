#!/usr/bin/env node
// Starts the bundle (dist/multiarch.cjs) from V8's code cache: with the cache, V8 neither parses nor
// compiles what the cache holds (validate and plan spend a third of their start-up there otherwise).
// Node 20 has no module compile cache, hence a script compiled here. The build writes the cache for its
// Node (build.mjs runs validate and plan first); another Node writes its own on first use, if it may.
// A cache V8 refuses (other flags) only costs the compile it would have saved.
// validate asks dist/result-cache.cjs first: an unchanged spec's answer is given without the bundle.
"use strict";
const { readFileSync, renameSync, writeFileSync } = require("node:fs");
const { createRequire } = require("node:module");
const { join } = require("node:path");
const vm = require("node:vm");

const BUNDLE = join(__dirname, "..", "dist", "multiarch.cjs");
const CACHE = join(__dirname, "..", "dist", `multiarch-${process.version}-${process.arch}.cache`);

/** The bundle compiled as a CommonJS module would be, with the cache when there is one. */
function compileBundle() {
  let cachedData;
  try {
    cachedData = readFileSync(CACHE);
  } catch {
    // no cache for this Node yet
  }
  // the bundle is ASCII (esbuild escapes the rest; the build checks): latin1 reads it without decoding
  const source = `(function (exports, require, module, __filename, __dirname) {${readFileSync(BUNDLE, "latin1")}\n})`;
  const script = new vm.Script(source, {
    filename: BUNDLE,
    cachedData,
    importModuleDynamically: vm.constants.USE_MAIN_CONTEXT_DEFAULT_LOADER,
  });
  const module = { exports: {} };
  // its require is the bundle's own: the libraries it loads on first use sit beside it (build.mjs)
  script.runInThisContext()(module.exports, createRequire(BUNDLE), module, BUNDLE, join(BUNDLE, ".."));
  return { script, bundle: module.exports, cached: cachedData !== undefined };
}

/** Written whole or not at all: a concurrent run reads either no cache or a complete one. */
function writeCache(script) {
  const tmp = `${CACHE}.${process.pid}`;
  writeFileSync(tmp, script.createCachedData());
  renameSync(tmp, CACHE);
}

/** The command line; validate's recorded for the result cache when it is loaded. */
function runBundle(cache) {
  const { script, bundle, cached } = compileBundle();
  const packageDir = join(__dirname, "..");
  bundle.main(cache && ((argv, cwd, env) => cache.record(argv, cwd, env, packageDir))).then(() => {
    if (cached) return;
    try {
      writeCache(script);
    } catch {
      // a read-only installation: run without a cache
    }
  });
}

/** The working folder, or exit 4 with one sentence: a folder removed under a shell (node throws). */
function workingFolder() {
  try {
    return process.cwd();
  } catch (e) {
    process.stderr.write(`multiarch: the current folder cannot be read (${e.code ?? e.message}); it may have been removed: cd to one that exists\n`);
    process.exit(4);
  }
}

if (require.main === module) {
  const cwd = workingFolder();
  // validate's answer while nothing it read has changed (src/result-cache.ts): given without the bundle.
  // Other commands are never cached; they skip loading it. So does validate --static, the editor's check,
  // which runs after every edit: the cache could never answer it, and recording costs a few ms.
  const argv = process.argv.slice(2);
  const cache = argv.includes("validate") && !argv.includes("--static") ? require("../dist/result-cache.cjs") : undefined;
  const answered = cache?.replay(argv, cwd, process.env);
  if (answered === undefined) runBundle(cache);
  else process.exitCode = answered;
} else {
  module.exports = { compileBundle, writeCache, CACHE };
}
