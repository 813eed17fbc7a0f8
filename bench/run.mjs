#!/usr/bin/env node
// Benchmarks. Every figure is a ratio against the obvious baseline, measured in the same run:
//   compile  multiarch validate / plan of N-image x 3-platform specs vs `docker buildx bake --print`
//            of the generated bake file (the cheapest thing buildx does with it), and node -e 0; the time V8
//            takes to compile the CLI's bundle without and with its code cache
//   apply    multiarch apply of the examples vs the same images built by hand with
//            `docker buildx build --platform ... --push` (cache pruned before every run)
//   strategy the manifest strategy vs the bake strategy on the same example
//   incremental  a generated monorepo (BENCH_IMAGES, default 200, x 3 platforms): first apply, no-op
//            re-apply, one image changed vs building that image by hand; the tool's CPU share in a no-op
//   shards   examples/quickstart applied on one engine vs apply --shard per platform + merge (the cost of
//            merging), and the shards on two engines at once (amd64 on the second) + merge
// Usage: node bench/run.mjs [compile|apply|strategy|incremental|shards]... (default: all). Needs test/env/up.sh
// for everything but compile.
import { spawn, spawnSync } from "node:child_process";
import { appendFileSync, cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join, resolve } from "node:path";

const ROOT = resolve(import.meta.dirname, "..");
const BIN = join(ROOT, "packages/cli/bin/multiarch.js");
const REPEAT = Number(process.env.BENCH_REPEAT ?? 5);
const results = {};

/** A folder of this run under the temporary folder, removed when the bench ends (a 1,000-image spec is 1,000 folders). */
const made = [];
const tempDir = (name) => {
  const dir = mkdtempSync(join(tmpdir(), `multiarch-bench-${name}-`));
  made.push(dir);
  return dir;
};
process.on("exit", () => {
  for (const dir of made) rmSync(dir, { recursive: true, force: true });
});
// Ctrl-C or a kill: the folders go too (a signal's default action would skip the exit handler)
for (const [signal, code] of [
  ["SIGINT", 130],
  ["SIGTERM", 143],
])
  process.on(signal, () => process.exit(code));

function attempt(program, args, opts = {}) {
  const t0 = performance.now();
  const r = spawnSync(program, args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], maxBuffer: 1 << 28, ...opts });
  return {
    ms: performance.now() - t0,
    ok: r.status === 0,
    stdout: r.stdout,
    error: `${program} ${args.join(" ")} failed (${r.status}):\n${(r.stderr ?? "").slice(-2000)}`,
  };
}
function run(program, args, opts = {}) {
  return runWithOutput(program, args, opts).ms;
}
function runWithOutput(program, args, opts = {}) {
  const r = attempt(program, args, opts);
  if (!r.ok) throw new Error(r.error);
  return r;
}
/** Registries answer 5xx now and then; a hand-written script would retry too. Every attempt's time counts. */
function runRetried(program, args, opts = {}) {
  let total = 0;
  for (let n = 1; ; n++) {
    const r = attempt(program, args, opts);
    total += r.ms;
    if (r.ok) return total;
    if (n >= 3) throw new Error(r.error);
    results.handRetries = (results.handRetries ?? 0) + 1;
  }
}
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const time = (n, fn) => median(Array.from({ length: n }, fn));
/** The median of n rounds of each, one of each per round. */
const interleaved = (n, fns) => {
  const times = fns.map(() => []);
  for (let i = 0; i < n; i++) for (const [j, fn] of fns.entries()) times[j].push(fn());
  return times.map(median);
};
const fmt = (ms) => (ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${ms.toFixed(0)} ms`);

function specOf(n) {
  const dir = tempDir(n);
  mkdirSync(join(dir, ".git"));
  const lines = [
    "version: 1",
    "platforms: [linux/amd64, linux/arm64, linux/arm/v7]",
    "registries:",
    "  local: { url: 127.0.0.1:5000/bench, insecure: true }",
    "variables:",
    "  version: { env: VERSION, default: 1.0.0 }",
    "defaults:",
    '  tags: ["{{version}}", latest]',
    '  labels: { org.opencontainers.image.version: "{{version}}" }',
    "images:",
  ];
  for (let i = 0; i < n; i++) {
    const name = `svc-${String(i).padStart(4, "0")}`;
    mkdirSync(join(dir, "services", name), { recursive: true });
    writeFileSync(join(dir, "services", name, "Dockerfile"), "FROM scratch\n");
    lines.push(`  ${name}:`, `    context: services/${name}`, `    args: { SERVICE: ${name}, APP_VERSION: "{{version}}" }`);
    if (i > 0 && i % 10 === 0) lines.push(`    contexts: { base: "image:svc-${String(i - 1).padStart(4, "0")}" }`);
  }
  writeFileSync(join(dir, "multiarch.yaml"), `${lines.join("\n")}\n`);
  return dir;
}

/**
 * The Node processes' environment. NODE_EXTRA_CA_CERTS makes Node 20 read and parse its CA store at
 * start-up, before any script runs (70 ms per process here): a tax on every Node program, which would
 * hide in node -e 0 what the CLI costs. The table is measured without it; a line says what it adds.
 */
const NODE_ENV = Object.fromEntries(Object.entries(process.env).filter(([k]) => k !== "NODE_EXTRA_CA_CERTS"));

/**
 * validate after an edit, validate again (unchanged: its result cache answers), plan, plan with strategy
 * auto, bake --print, node -e 0: medians of interleaved rounds.
 */
function compileRow(dir, env) {
  const spec = join(dir, "multiarch.yaml");
  // the result cache in a folder of this run: the first round's validate starts with none
  env = { ...env, MULTIARCH_CACHE_DIR: join(dir, ".cache") };
  let edits = 0;
  // One of each per round, so a change in the machine's load weighs on every column alike.
  const [validateEditedMs, validateMs, planMs, planAutoMs, bakePrintMs, nodeStartMs] = interleaved(REPEAT, [
    // an editor's save: the text changed (a comment), so the cache cannot answer; this run records
    () => {
      appendFileSync(spec, `# edit ${++edits}\n`);
      return run("node", [BIN, "validate", "-f", spec], { env });
    },
    () => run("node", [BIN, "validate", "-f", spec], { env }),
    () => run("node", [BIN, "plan", "-f", spec, "--strategy", "bake"], { env }),
    // default flags: strategy auto asks the engine, as users run it
    () => run("node", [BIN, "plan", "-f", spec], { env }),
    () => run("docker", ["buildx", "bake", "-f", ".multiarch/docker-bake.json", "--print"], { cwd: dir }),
    () => run("node", ["-e", "0"], { env }),
  ]);
  return { validateEditedMs, validateMs, planMs, planAutoMs, bakePrintMs, nodeStartMs };
}

function benchCompile() {
  const rows = [];
  // Other work on the machine slows the columns alike (rounds are interleaved), but not exactly: say how loaded it was.
  const loadBefore = loadavg()[0];
  let taxed;
  for (const n of [50, 250, 500, 1000]) {
    const dir = specOf(n);
    const row = compileRow(dir, NODE_ENV);
    if (n === 50 && process.env.NODE_EXTRA_CA_CERTS) taxed = compileRow(dir, process.env);
    rows.push({ images: n, ...row, bakePrintOverPlan: row.bakePrintMs / row.planMs, bakePrintOverPlanAuto: row.bakePrintMs / row.planAutoMs });
  }
  results.compile = rows;
  results.compileLoad = [loadBefore, loadavg()[0]];
  console.log(
    "\ncompile: N images x 3 platforms (median of %d; load average %s at the start, %s at the end)",
    REPEAT,
    loadBefore.toFixed(1),
    loadavg()[0].toFixed(1),
  );
  console.log("images  validate  validate/node  after an edit  edit/node  plan     plan (auto)  bake --print  node -e 0  bake --print / plan  / plan (auto)");
  for (const r of rows)
    console.log(
      `${String(r.images).padEnd(8)}${fmt(r.validateMs).padEnd(10)}${(r.validateMs / r.nodeStartMs).toFixed(2).padEnd(15)}${fmt(r.validateEditedMs).padEnd(15)}${(r.validateEditedMs / r.nodeStartMs).toFixed(2).padEnd(11)}${fmt(r.planMs).padEnd(9)}${fmt(r.planAutoMs).padEnd(13)}${fmt(r.bakePrintMs).padEnd(14)}${fmt(r.nodeStartMs).padEnd(11)}${(r.bakePrintOverPlan.toFixed(2) + "x").padEnd(20)}${r.bakePrintOverPlanAuto.toFixed(2)}x`,
    );
  if (taxed) {
    results.compileWithExtraCaCerts = { images: 50, ...taxed };
    const {
      validateEditedMs: validateEdited,
      validateMs: validate,
      planMs: plan,
      planAutoMs: planAuto,
      bakePrintMs: bakePrint,
      nodeStartMs: nodeStart,
    } = taxed;
    console.log(
      `with NODE_EXTRA_CA_CERTS as this environment sets it (the table is without: Node then parses its CA store at start-up), 50 images: node -e 0 ${fmt(nodeStart)}, validate ${fmt(validate)} (${(validate / nodeStart).toFixed(2)}; after an edit ${fmt(validateEdited)}, ${(validateEdited / nodeStart).toFixed(2)}), plan ${fmt(plan)}, plan (auto) ${fmt(planAuto)}, bake --print ${fmt(bakePrint)} (${(bakePrint / plan).toFixed(2)}x, ${(bakePrint / planAuto).toFixed(2)}x)`,
    );
  }
  const [, a, , c] = rows;
  bundleParse();
  console.log(
    `growth 250 -> 1000 images: plan x${(c.planMs / a.planMs).toFixed(2)}, bake --print x${(c.bakePrintMs / a.bakePrintMs).toFixed(2)} (linear would be x4.00 minus the fixed start-up)`,
  );
}

/**
 * What V8 spends compiling the CLI's bundle before anything runs, without and with the code cache that
 * bin/multiarch.js uses (each in a fresh process: V8 keeps compiled scripts for the life of one).
 */
function bundleParse() {
  const dist = join(ROOT, "packages/cli/dist");
  const bundle = join(dist, "multiarch.cjs");
  const cache = join(dist, `multiarch-${process.version}-${process.arch}.cache`);
  const probe = `const { readFileSync } = require("node:fs"); const vm = require("node:vm");
    const source = "(function (exports, require, module, __filename, __dirname) {" + readFileSync(process.argv[1], "latin1") + "\\n})";
    const cachedData = process.argv[2] ? readFileSync(process.argv[2]) : undefined;
    const t0 = performance.now();
    const s = new vm.Script(source, { filename: process.argv[1], cachedData });
    process.stdout.write(JSON.stringify({ ms: performance.now() - t0, rejected: s.cachedDataRejected }));`;
  const once = (withCache) => {
    const r = spawnSync("node", ["-e", probe, bundle, ...(withCache ? [cache] : [])], { encoding: "utf8" });
    const out = JSON.parse(r.stdout);
    if (out.rejected) throw new Error(`V8 rejected ${cache}`);
    return out.ms;
  };
  const cold = time(REPEAT, () => once(false));
  const warm = time(REPEAT, () => once(true));
  const kb = (f) => Math.round(statSync(f).size / 1024);
  results.bundle = { bundleKB: kb(bundle), cacheKB: kb(cache), compileMs: cold, compileFromCacheMs: warm };
  console.log(
    `bundle: ${kb(bundle)} KB; V8 compiles it in ${fmt(cold)} without its code cache (functions then compile as they first run), ${fmt(warm)} from the cache (${kb(cache)} KB, compiled functions included)`,
  );
}

const copyExample = (name) => {
  const dir = tempDir(name);
  cpSync(join(ROOT, "examples", name), dir, { recursive: true, filter: (s) => !s.includes(".multiarch") });
  mkdirSync(join(dir, ".git"));
  return dir;
};
// BENCH_NO_PRUNE=1 on a shared engine: other users' build cache stays (the incremental bench then makes
// its files unique per run, so its first apply still builds every image).
const prune = () => process.env.BENCH_NO_PRUNE !== "1" && run("docker", ["buildx", "prune", "--all", "--force"]);

/** The same images, built by hand the usual way: one buildx build --push per image. */
const byHand = {
  quickstart: (dir, v) => [
    [
      "buildx",
      "build",
      "--platform",
      "linux/amd64,linux/arm64,linux/arm/v7",
      "-t",
      `127.0.0.1:5000/bench-hand/hello:${v}`,
      "-t",
      "127.0.0.1:5000/bench-hand/hello:latest",
      "--push",
      join(dir, "hello"),
    ],
  ],
  monorepo: (dir, v) => [
    ["buildx", "build", "--platform", "linux/amd64,linux/arm64,linux/arm/v7", "-t", `127.0.0.1:5000/bench-hand/base:${v}`, "--push", join(dir, "images/base")],
    [
      "buildx",
      "build",
      "--platform",
      "linux/amd64,linux/arm64",
      "--build-context",
      `base=docker-image://127.0.0.1:5000/bench-hand/base:${v}`,
      "--build-arg",
      `APP_VERSION=${v}`,
      "-t",
      `127.0.0.1:5000/bench-hand/acme-api:${v}`,
      "--push",
      join(dir, "apps/api"),
    ],
    [
      "buildx",
      "build",
      "--platform",
      "linux/amd64,linux/arm64",
      "--build-context",
      `base=docker-image://127.0.0.1:5000/bench-hand/base:${v}`,
      "--target",
      "runtime",
      "-t",
      `127.0.0.1:5000/bench-hand/web:${v}`,
      "--push",
      join(dir, "apps/web"),
    ],
  ],
};

/** What a careful script adds after pushing: inspect the index, run the image on each platform. */
const handChecks = {
  quickstart: (v) => [
    ["buildx", "imagetools", "inspect", `127.0.0.1:5000/bench-hand/hello:${v}`],
    ...["linux/amd64", "linux/arm64", "linux/arm/v7"].map((p) => [
      "run",
      "--rm",
      "--pull",
      "always",
      "--platform",
      p,
      `127.0.0.1:5000/bench-hand/hello:${v}`,
      "/bin/sh",
      "-c",
      "uname -m",
    ]),
  ],
  monorepo: (v) => [
    ...["base", "acme-api", "web"].map((i) => ["buildx", "imagetools", "inspect", `127.0.0.1:5000/bench-hand/${i}:${v}`]),
    ...["linux/amd64", "linux/arm64"].map((p) => [
      "run",
      "--rm",
      "--pull",
      "always",
      "--platform",
      p,
      `127.0.0.1:5000/bench-hand/acme-api:${v}`,
      "/bin/sh",
      "-c",
      "cat /etc/app-release && uname -m",
    ]),
  ],
};

function benchApply() {
  const rows = [];
  const n = Math.max(3, Math.min(REPEAT, 5));
  for (const name of ["quickstart", "monorepo"]) {
    const dir = copyExample(name);
    const hand = [];
    const checked = [];
    const ours = [];
    for (let i = 0; i < n; i++) {
      const v = `bench-${Date.now()}`;
      prune();
      const built = byHand[name](dir, v).reduce((ms, args) => ms + runRetried("docker", args), 0);
      hand.push(built);
      checked.push(built + handChecks[name](v).reduce((ms, args) => ms + runRetried("docker", args), 0));
      prune();
      // --rebuild: measure building, not the reuse of the previous round's identical inputs
      ours.push(run("node", [BIN, "apply", "-f", join(dir, "multiarch.yaml"), "--rebuild"], { env: { ...process.env, VERSION: v } }));
    }
    rows.push({
      example: name,
      byHandMs: median(hand),
      byHandCheckedMs: median(checked),
      applyMs: median(ours),
      ratio: median(ours) / median(hand),
      ratioChecked: median(ours) / median(checked),
    });
  }
  results.apply = rows;
  console.log("\napply vs by hand (docker buildx build --push per image), build cache pruned before each run");
  console.log("by hand: build+push only; + checks: then imagetools inspect and docker run per platform, as apply does");
  console.log("example     by hand   + checks  multiarch apply  apply / by hand  apply / (by hand + checks)");
  for (const r of rows)
    console.log(
      `${r.example.padEnd(12)}${fmt(r.byHandMs).padEnd(10)}${fmt(r.byHandCheckedMs).padEnd(10)}${fmt(r.applyMs).padEnd(17)}${(r.ratio.toFixed(2) + "x").padEnd(17)}${r.ratioChecked.toFixed(2)}x`,
    );
}

function benchStrategy() {
  const dir = copyExample("fallback");
  const n = Math.max(3, Math.min(REPEAT, 5));
  const times = { bake: [], manifest: [] };
  for (let i = 0; i < n; i++) {
    for (const s of ["bake", "manifest"]) {
      prune();
      times[s].push(
        run("node", [BIN, "apply", "-f", join(dir, "multiarch.yaml"), "--strategy", s, "--rebuild"], { env: { ...process.env, VERSION: `bench-${s}-${i}` } }),
      );
    }
  }
  const row = { bakeMs: median(times.bake), manifestMs: median(times.manifest), ratio: median(times.manifest) / median(times.bake) };
  results.strategy = row;
  console.log("\nstrategies on examples/fallback (3 platforms), cache pruned before each run");
  console.log(`bake ${fmt(row.bakeMs)}   manifest ${fmt(row.manifestMs)}   manifest / bake ${row.ratio.toFixed(2)}x`);
}

/** A git repository of n small images (FROM the test base, COPY one file; every tenth FROM the one before). */
/** `tested`: images with a smoke test (cat of their file, per platform), as the changed-image comparison checks them by hand. */
function monorepoOf(n, ns, tested = []) {
  const dir = tempDir(`mono-${n}`);
  const lines = [
    "version: 1",
    "platforms: [linux/amd64, linux/arm64, linux/arm/v7]",
    "registries:",
    `  local: { url: 127.0.0.1:5000/${ns}, insecure: true }`,
    "defaults:",
    '  tags: ["1.0", latest]',
    "images:",
  ];
  for (let i = 0; i < n; i++) {
    const name = `svc-${String(i).padStart(4, "0")}`;
    const from = i % 10 === 0 ? "127.0.0.1:5000/base/busybox:1" : "base";
    mkdirSync(join(dir, "services", name), { recursive: true });
    writeFileSync(join(dir, "services", name, "Dockerfile"), `FROM ${from}\nCOPY app.txt /${name}.txt\n`);
    writeFileSync(join(dir, "services", name, "app.txt"), `${name} ${ns} v1\n`);
    lines.push(`  ${name}:`, `    context: services/${name}`);
    if (i % 10 !== 0) lines.push(`    contexts: { base: "image:svc-${String(i - (i % 10)).padStart(4, "0")}" }`);
    if (tested.includes(name)) lines.push(`    test: { run: [cat, /${name}.txt] }`);
  }
  writeFileSync(join(dir, "multiarch.yaml"), `${lines.join("\n")}\n`);
  const git = (...args) =>
    run("git", args, { cwd: dir, env: { ...process.env, GIT_AUTHOR_NAME: "b", GIT_AUTHOR_EMAIL: "b@b", GIT_COMMITTER_NAME: "b", GIT_COMMITTER_EMAIL: "b@b" } });
  git("init", "-q");
  git("add", ".");
  git("commit", "-qm", "bench");
  return dir;
}

/** user+sys CPU seconds and wall seconds of a command, from bash's time (children included). */
function cpuOf(args) {
  const r = spawnSync("bash", ["-c", `TIMEFORMAT='%U %S %R'; time ${args.map((a) => `'${a}'`).join(" ")} >/dev/null 2>&1`], { encoding: "utf8" });
  const [user, sys, real] = r.stderr.trim().split("\n").pop().split(" ").map(Number);
  return { cpu: user + sys, real };
}

/**
 * A `docker` first on PATH that counts its starts into a file and runs the real one: how many docker CLI
 * processes an apply spawns (buildx and credential helpers are their own programs and not counted).
 */
function dockerCounter() {
  const dir = tempDir("docker");
  const real = spawnSync("bash", ["-c", "command -v docker"], { encoding: "utf8" }).stdout.trim();
  const file = join(dir, "count");
  writeFileSync(file, "");
  writeFileSync(join(dir, "docker"), `#!/bin/sh\necho >> '${file}'\nexec '${real}' "$@"\n`, { mode: 0o755 });
  const env = { ...process.env, PATH: `${dir}:${process.env.PATH}` };
  const take = () => {
    const n = readFileSync(file, "utf8").length;
    writeFileSync(file, "");
    return n;
  };
  return { env, take };
}

/** Each repository's tags (registry API), and how many images of the namespace the engine holds. */
function leftovers(ns, n) {
  const tags = {};
  for (let i = 0; i < n; i++) {
    const repo = `${ns}/svc-${String(i).padStart(4, "0")}`;
    const r = spawnSync("curl", ["-s", `http://127.0.0.1:5000/v2/${repo}/tags/list`], { encoding: "utf8" });
    tags[repo] = (JSON.parse(r.stdout).tags ?? []).sort();
  }
  const images = spawnSync("docker", ["image", "ls", "--format", "{{.Repository}}"], { encoding: "utf8" })
    .stdout.split("\n")
    // the hand-made builds' image (NS-hand/…) is the bench's own
    .filter((l) => l.includes(`${ns}/`)).length;
  const counts = Object.values(tags).map((t) => t.length);
  return { tagsPerRepository: { min: Math.min(...counts), max: Math.max(...counts) }, example: Object.entries(tags)[n - 1], engineImages: images };
}

function benchIncremental() {
  const n = Number(process.env.BENCH_IMAGES ?? 200);
  const ns = `bench-incr-${Date.now().toString(36)}`;
  const leaf = `svc-${String(n - 1).padStart(4, "0")}`;
  const other = `svc-${String(n - 2).padStart(4, "0")}`;
  const dir = monorepoOf(n, ns, [leaf, other]);
  const spec = join(dir, "multiarch.yaml");
  prune();
  const counter = dockerCounter();
  const first = run("node", [BIN, "apply", "-f", spec], { env: counter.env });
  const firstDocker = counter.take();
  // the engine removes what the first apply's smoke tests pulled, in the background: let that finish
  const cleanupStart = performance.now();
  while (spawnSync("pgrep", ["-f", "docker image rm"]).status === 0) spawnSync("sleep", ["1"]);
  const cleanupMs = performance.now() - cleanupStart;
  const afterFirst = leftovers(ns, n);
  const noop = time(3, () => run("node", [BIN, "apply", "-f", spec]));
  const cpu = cpuOf(["node", BIN, "apply", "-f", spec]);
  // one leaf changed, against building one changed image by hand (buildx build --push of its context),
  // then the checks apply makes: the pushed platform set, and its smoke test run once per platform.
  // Three rounds, one of each per round, medians: one sample of each was 0.86-1.29x over five runs.
  const base = `127.0.0.1:5000/${ns}/svc-${String(n - 1 - ((n - 1) % 10)).padStart(4, "0")}:1.0`;
  const handRef = `127.0.0.1:5000/${ns}-hand/${other}:1.0`;
  const platforms = ["linux/amd64", "linux/arm64", "linux/arm/v7"];
  // the hand-made build's context is a copy outside the spec's images: changing it must not change an image of ours
  const handDir = tempDir("hand");
  cpSync(join(dir, "services", other), handDir, { recursive: true });
  const rounds = [];
  for (let round = 2; round <= 4; round++) {
    writeFileSync(join(dir, "services", leaf, "app.txt"), `${leaf} v${round}\n`);
    const changedRun = runWithOutput("node", [BIN, "apply", "-f", spec, "--json"], { env: counter.env });
    const docker = counter.take();
    writeFileSync(join(handDir, "app.txt"), `${other} v${round}\n`);
    const alone = runRetried("docker", [
      "buildx",
      "build",
      "--platform",
      platforms.join(","),
      "--build-context",
      `base=docker-image://${base}`,
      "-t",
      handRef,
      "--push",
      handDir,
    ]);
    const checks =
      runRetried("docker", ["buildx", "imagetools", "inspect", handRef]) +
      platforms.reduce((ms, p) => ms + runRetried("docker", ["run", "--rm", "--pull", "always", "--platform", p, handRef, "cat", `/${other}.txt`]), 0);
    // each round's by-hand checks pull the image afresh, as the first did
    spawnSync("docker", ["image", "rm", "--force", handRef]);
    rounds.push({ ms: changedRun.ms, timings: JSON.parse(changedRun.stdout).report.timings, docker, alone, checked: alone + checks });
  }
  const changedDocker = rounds.map((r) => r.docker).join(", ");
  const afterChanged = leftovers(ns, n);
  const changed = median(rounds.map((r) => r.ms));
  // where the time went: the round whose run was the median
  const timings = rounds.find((r) => r.ms === changed).timings;
  const alone = median(rounds.map((r) => r.alone));
  const checked = median(rounds.map((r) => r.checked));
  const row = {
    images: n,
    firstMs: first,
    noopMs: noop,
    speedup: first / noop,
    oneChangedMs: changed,
    aloneMs: alone,
    aloneCheckedMs: checked,
    ratioChecked: changed / checked,
    rounds: rounds.map(({ ms, timings, docker, alone, checked }) => ({ ms, timings, docker, alone, checked, ratio: ms / checked })),
    timings,
    noopCpuShare: cpu.cpu / cpu.real,
    dockerProcesses: { first: firstDocker, oneChanged: changedDocker },
    cleanupMs,
    afterFirst,
    afterChanged,
  };
  results.incremental = row;
  console.log(`\nincremental: ${n} images x 3 platforms (a base every 10 images, 9 dependents each)`);
  console.log(`(what the first apply's smoke tests pulled left the engine in the background, for another ${fmt(cleanupMs)})`);
  console.log("first apply  no-op re-apply  first / no-op  one changed  by hand  by hand + checks  changed / (by hand + checks)  CPU share (no-op)");
  console.log(
    `${fmt(row.firstMs).padEnd(13)}${fmt(row.noopMs).padEnd(16)}${(row.speedup.toFixed(1) + "x").padEnd(15)}${fmt(row.oneChangedMs).padEnd(13)}${fmt(row.aloneMs).padEnd(9)}${fmt(row.aloneCheckedMs).padEnd(18)}${(row.ratioChecked.toFixed(2) + "x").padEnd(29)}${(row.noopCpuShare * 100).toFixed(0)}%`,
  );
  console.log(
    `one changed, each round (ours, by hand + checks): ${row.rounds.map((r) => `${fmt(r.ms)} / ${fmt(r.checked)} = ${r.ratio.toFixed(2)}x`).join(", ")}`,
  );
  console.log(`one changed, where the time went (the median round): ${timings.map((t) => `${t.phase} ${fmt(t.ms)}`).join(", ")}`);
  console.log(`docker CLI processes: first apply ${firstDocker}, one changed ${changedDocker} (each round)`);
  console.log(
    `after the first apply: tags per repository ${afterFirst.tagsPerRepository.min}-${afterFirst.tagsPerRepository.max} (${afterFirst.example[0]}: ${afterFirst.example[1].join(" ")}), images of it in the engine ${afterFirst.engineImages}`,
  );
  console.log(
    `after the one-changed apply: tags per repository ${afterChanged.tagsPerRepository.min}-${afterChanged.tagsPerRepository.max} (${afterChanged.example[0]}: ${afterChanged.example[1].join(" ")}), images of it in the engine ${afterChanged.engineImages}`,
  );
}

/** Several commands at once (as on several machines); resolves with the wall time when all succeeded. */
function together(commands) {
  const t0 = performance.now();
  return Promise.all(
    commands.map(
      ([program, args, opts]) =>
        new Promise((ok, fail) => {
          const child = spawn(program, args, { stdio: ["ignore", "ignore", "pipe"], ...opts });
          let err = "";
          child.stderr.on("data", (d) => (err += d));
          child.on("close", (code) => (code === 0 ? ok() : fail(new Error(`${program} ${args.join(" ")} failed (${code}):\n${err.slice(-2000)}`))));
        }),
    ),
  ).then(() => performance.now() - t0);
}

async function benchShards() {
  const SHARDS = ["linux/amd64", "linux/arm64", "linux/arm/v7"];
  const second = process.env.MULTIARCH_E2E_DOCKER2 ?? "unix:///run/multiarch-env/docker2.sock";
  const n = Math.max(3, Math.min(REPEAT, 5));
  const t = { one: [], shards: [], merge: [], twoEngines: [] };
  for (let i = 0; i < n; i++) {
    const dir = copyExample("quickstart");
    const spec = join(dir, "multiarch.yaml");
    const env = { ...process.env, VERSION: `bench-shards-${Date.now()}-${i}` };
    prune();
    t.one.push(run("node", [BIN, "apply", "-f", spec, "--rebuild"], { env }));
    prune();
    t.shards.push(SHARDS.reduce((ms, p) => ms + run("node", [BIN, "apply", "-f", spec, "--shard", p], { env }), 0));
    t.merge.push(run("node", [BIN, "merge", "-f", spec], { env }));
    // two machines: another checkout on the second engine builds amd64 while this one builds the arm shards
    const env2 = { ...process.env, VERSION: `bench-shards2-${Date.now()}-${i}` };
    const [here, other] = [copyExample("quickstart"), copyExample("quickstart")];
    prune();
    run("docker", ["buildx", "prune", "--all", "--force"], { env: { ...process.env, DOCKER_HOST: second } });
    const wall = await together([
      ["node", [BIN, "apply", "-f", join(other, "multiarch.yaml"), "--shard", "linux/amd64"], { env: { ...env2, DOCKER_HOST: second } }],
      ["node", [BIN, "apply", "-f", join(here, "multiarch.yaml"), "--shard", "linux/arm64", "--shard", "linux/arm/v7"], { env: env2 }],
    ]);
    const from = ["--from", join(here, ".multiarch/shards"), "--from", join(other, ".multiarch/shards")];
    t.twoEngines.push(wall + run("node", [BIN, "merge", "-f", join(here, "multiarch.yaml"), ...from], { env: env2 }));
  }
  const m = Object.fromEntries(Object.entries(t).map(([k, v]) => [k, median(v)]));
  const row = {
    oneEngineMs: m.one,
    shardsMs: m.shards,
    mergeMs: m.merge,
    shardsAndMergeOverOne: (m.shards + m.merge) / m.one,
    twoEnginesMs: m.twoEngines,
    twoEnginesOverOne: m.twoEngines / m.one,
  };
  results.shards = row;
  console.log("\nshards: examples/quickstart (1 image x 3 platforms), build cache pruned before each run");
  console.log("one apply  3 shards one after another  merge    (shards + merge) / one apply  two engines at once + merge  / one apply");
  console.log(
    `${fmt(row.oneEngineMs).padEnd(11)}${fmt(row.shardsMs).padEnd(31)}${fmt(row.mergeMs).padEnd(9)}${(row.shardsAndMergeOverOne.toFixed(2) + "x").padEnd(30)}${fmt(row.twoEnginesMs).padEnd(29)}${row.twoEnginesOverOne.toFixed(2)}x`,
  );
}

const which = process.argv.slice(2);
const all = which.length === 0;
if (all || which.includes("compile")) benchCompile();
if (all || which.includes("apply")) benchApply();
if (all || which.includes("incremental")) benchIncremental();
if (all || which.includes("strategy")) benchStrategy();
if (all || which.includes("shards")) await benchShards();
mkdirSync(join(ROOT, "bench/results"), { recursive: true });
const out = join(ROOT, "bench/results", `${new Date().toISOString().replace(/[:.]/g, "-")}.json`);
writeFileSync(out, `${JSON.stringify({ date: new Date().toISOString(), repeat: REPEAT, ...results }, null, 2)}\n`);
console.log(`\nresults: ${out}`);
