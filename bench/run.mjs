#!/usr/bin/env node
// Benchmarks. Every figure is a ratio against the obvious baseline, measured in the same run:
//   compile  multiarch validate / plan of N-image x 3-platform specs vs `docker buildx bake --print`
//            of the generated bake file (the cheapest thing buildx does with it)
//   apply    multiarch apply of the examples vs the same images built by hand with
//            `docker buildx build --platform ... --push` (cache pruned before every run)
//   strategy the manifest strategy vs the bake strategy on the same example
// Usage: node bench/run.mjs [compile|apply|strategy]... (default: all). Needs test/env/up.sh for apply.
import { spawnSync } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

const ROOT = resolve(import.meta.dirname, "..");
const BIN = join(ROOT, "packages/cli/bin/multiarch.js");
const REPEAT = Number(process.env.BENCH_REPEAT ?? 5);
const results = {};

function attempt(program, args, opts = {}) {
  const t0 = performance.now();
  const r = spawnSync(program, args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], maxBuffer: 1 << 28, ...opts });
  return { ms: performance.now() - t0, ok: r.status === 0, error: `${program} ${args.join(" ")} failed (${r.status}):\n${(r.stderr ?? "").slice(-2000)}` };
}
function run(program, args, opts = {}) {
  const r = attempt(program, args, opts);
  if (!r.ok) throw new Error(r.error);
  return r.ms;
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
const fmt = (ms) => (ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${ms.toFixed(0)} ms`);

function specOf(n) {
  const dir = mkdtempSync(join(tmpdir(), `multiarch-bench-${n}-`));
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

function benchCompile() {
  const rows = [];
  for (const n of [250, 500, 1000]) {
    const dir = specOf(n);
    const spec = join(dir, "multiarch.yaml");
    const validate = time(REPEAT, () => run("node", [BIN, "validate", "-f", spec]));
    const plan = time(REPEAT, () => run("node", [BIN, "plan", "-f", spec, "--strategy", "bake"]));
    const bakePrint = time(REPEAT, () => run("docker", ["buildx", "bake", "-f", ".multiarch/docker-bake.json", "--print"], { cwd: dir }));
    const nodeStart = time(REPEAT, () => run("node", ["-e", "0"]));
    rows.push({ images: n, validateMs: validate, planMs: plan, bakePrintMs: bakePrint, nodeStartMs: nodeStart, bakePrintOverPlan: bakePrint / plan });
  }
  results.compile = rows;
  console.log("\ncompile: N images x 3 platforms (median of %d)", REPEAT);
  console.log("images  validate  plan     bake --print  node -e 0  bake --print / plan");
  for (const r of rows)
    console.log(
      `${String(r.images).padEnd(8)}${fmt(r.validateMs).padEnd(10)}${fmt(r.planMs).padEnd(9)}${fmt(r.bakePrintMs).padEnd(14)}${fmt(r.nodeStartMs).padEnd(11)}${r.bakePrintOverPlan.toFixed(2)}x`,
    );
  const [a, , c] = rows;
  console.log(
    `growth 250 -> 1000 images: plan x${(c.planMs / a.planMs).toFixed(2)}, bake --print x${(c.bakePrintMs / a.bakePrintMs).toFixed(2)} (linear would be x4.00 minus the fixed start-up)`,
  );
}

const copyExample = (name) => {
  const dir = mkdtempSync(join(tmpdir(), `multiarch-bench-${name}-`));
  cpSync(join(ROOT, "examples", name), dir, { recursive: true, filter: (s) => !s.includes(".multiarch") });
  mkdirSync(join(dir, ".git"));
  return dir;
};
const prune = () => run("docker", ["buildx", "prune", "--all", "--force"]);

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
      ours.push(run("node", [BIN, "apply", "-f", join(dir, "multiarch.yaml")], { env: { ...process.env, VERSION: v } }));
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
      times[s].push(run("node", [BIN, "apply", "-f", join(dir, "multiarch.yaml"), "--strategy", s], { env: { ...process.env, VERSION: `bench-${s}-${i}` } }));
    }
  }
  const row = { bakeMs: median(times.bake), manifestMs: median(times.manifest), ratio: median(times.manifest) / median(times.bake) };
  results.strategy = row;
  console.log("\nstrategies on examples/fallback (3 platforms), cache pruned before each run");
  console.log(`bake ${fmt(row.bakeMs)}   manifest ${fmt(row.manifestMs)}   manifest / bake ${row.ratio.toFixed(2)}x`);
}

const which = process.argv.slice(2);
const all = which.length === 0;
if (all || which.includes("compile")) benchCompile();
if (all || which.includes("apply")) benchApply();
if (all || which.includes("strategy")) benchStrategy();
mkdirSync(join(ROOT, "bench/results"), { recursive: true });
const out = join(ROOT, "bench/results", `${new Date().toISOString().replace(/[:.]/g, "-")}.json`);
writeFileSync(out, `${JSON.stringify({ date: new Date().toISOString(), repeat: REPEAT, ...results }, null, 2)}\n`);
console.log(`\nresults: ${out}`);
