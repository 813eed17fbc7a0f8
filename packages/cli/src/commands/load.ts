// Shared by the commands: find and load the spec, gather the facts (git, environment, engine), pick the
// strategy, compile, and write the artifacts. Pure decisions are separate functions with their own tests.
import { mkdirSync, readdirSync, realpathSync, rmSync, statSync, writeFileSync } from "node:fs";
import { arch } from "node:os";
import { dirname, join, relative, resolve, sep } from "node:path";
import { builderOf, type CompileOptions, type CompileResult, compile, type Facts, type Requested, renderImages, resolveStrategy } from "@multiarch/compiler";
import type { Lock } from "@multiarch/executor";
import type { ArchPlan, Builder, EngineFacts, GitFacts, Plan } from "@multiarch/plan";
import { type Diagnostic, diag, findSpec, loadSpec, SPEC_FILE_NAME, type Spec, type SpecResult } from "@multiarch/spec";
import { EXIT, list, type Outcome, type Values } from "../context.ts";
import type { Io } from "../format.ts";
import { lockedOutcome } from "./lock.ts";

/** The spec file -f names, or the nearest multiarch.yaml at or above the working folder. */
const specFile = (values: Values, io: Io): string | undefined => (typeof values.file === "string" ? resolve(io.cwd, values.file) : findSpec(io.cwd));

export function loadFromFlags(values: Values, io: Io): SpecResult {
  const file = specFile(values, io);
  if (!file) {
    return {
      ok: false,
      errors: [
        diag("spec-not-found", { file: join(io.cwd, SPEC_FILE_NAME), line: 0, col: 0 }, `no ${SPEC_FILE_NAME} in ${io.cwd} or any folder above`, {
          hint: "pass -f path/to/multiarch.yaml",
        }),
      ],
      warnings: [],
    };
  }
  // variables in registry URLs, repositories and platform lists are read now; --static: defaults only
  return loadSpec(file, { ...(values.static ? {} : { env: io.env }), ...(list(values.set) ? { sets: list(values.set)! } : {}) });
}

/** Output folder as given (relative to cwd) or .multiarch next to the spec; returned absolute. */
export const outDirOf = (values: Values, io: Io, spec: Spec): string =>
  typeof values.out === "string" ? resolve(io.cwd, values.out) : join(spec.dir, ".multiarch");

const STRATEGIES = ["auto", "bake", "manifest"] as const;

export function requestedStrategy(values: Values, spec: Spec): Requested | { error: string } {
  const s = values.strategy ?? spec.build.strategy;
  return (STRATEGIES as readonly unknown[]).includes(s) ? (s as Requested) : { error: `--strategy must be one of ${STRATEGIES.join(", ")}` };
}

/** This machine's platform, as docker names it: what --load pulls. */
export function hostPlatform(nodeArch: string = arch()): string {
  const map: Record<string, string> = {
    x64: "linux/amd64",
    arm64: "linux/arm64",
    arm: "linux/arm/v7",
    ia32: "linux/386",
    ppc64: "linux/ppc64le",
    s390x: "linux/s390x",
    riscv64: "linux/riscv64",
    loong64: "linux/loong64",
  };
  return map[nodeArch] ?? `linux/${nodeArch}`;
}

/**
 * Git facts for templates and staging names. Always asked (a staging name includes the commit, so two
 * commits never share one); an error only where a template uses git.* and none are there.
 */
type GitResult = { git: GitFacts | undefined; problem?: string };
const gitCache = new WeakMap<Io, Map<string, Promise<GitResult>>>();

/** Git facts of the spec's folder, asked once per command (which may compile more than once). */
export function gitFacts(spec: Pick<Spec, "dir">, io: Io): Promise<GitResult> {
  const mine = gitCache.get(io) ?? new Map<string, Promise<GitResult>>();
  gitCache.set(io, mine);
  let facts = mine.get(spec.dir);
  if (!facts) {
    facts = import("@multiarch/executor").then(async ({ probeGit }) => {
      const g = await probeGit(spec.dir, io.env);
      return "unavailable" in g ? { git: undefined, problem: g.unavailable } : { git: g };
    });
    mine.set(spec.dir, facts);
  }
  return facts;
}

const usesGit = (spec: Spec): boolean =>
  spec.images.some((i) =>
    [...i.tags, ...i.args.map((a) => a.value), ...i.labels.map((a) => a.value), ...i.annotations.map((a) => a.value)].some((t) => t.uses.includes("git")),
  );

/** Secret sources an apply will read: an unset variable or a missing file fails here, not mid-build. */
export function secretDiagnostics(spec: Spec, env: Io["env"], severity: Diagnostic["severity"]): Diagnostic[] {
  const out: Diagnostic[] = [];
  for (const r of spec.registries) {
    for (const [what, c] of [
      ["username", r.username],
      ["password", r.password],
    ] as const) {
      if (c?.env && !env[c.env])
        out.push(diag("env-unset", r.at, `registry ${r.name}: ${what} reads $${c.env}, which is not set`, { hint: `export ${c.env}`, severity }));
      if (c?.file && !isFile(resolve(spec.dir, c.file)))
        out.push(diag("path-missing", r.at, `registry ${r.name}: ${what} file ${c.file} does not exist`, { severity }));
    }
  }
  const sign = spec.sign?.mode === "key" ? spec.sign : undefined;
  for (const [what, c] of sign
    ? ([
        ["key", sign.key],
        ["password", sign.password],
        ["publicKey", sign.publicKey],
      ] as const)
    : []) {
    if (c?.env && !env[c.env]) out.push(diag("env-unset", sign!.at, `sign: ${what} reads $${c.env}, which is not set`, { hint: `export ${c.env}`, severity }));
    if (c?.file && !isFile(resolve(spec.dir, c.file)))
      out.push(
        diag("path-missing", sign!.at, `sign: ${what} file ${c.file} does not exist`, {
          hint: "cosign generate-key-pair writes cosign.key and cosign.pub",
          severity,
        }),
      );
  }
  for (const img of spec.images) {
    for (const s of img.secrets) {
      if (s.env && env[s.env] === undefined)
        out.push(diag("env-unset", img.at, `image ${img.name}: secret ${s.id} reads $${s.env}, which is not set`, { hint: `export ${s.env}`, severity }));
      if (s.file && !isFile(resolve(spec.dir, s.file)))
        out.push(
          diag("path-missing", img.at, `image ${img.name}: secret ${s.id} reads ${s.file}, which does not exist`, {
            hint: "create it before apply, or fix the path (relative to the spec's folder)",
            severity,
          }),
        );
    }
  }
  return out;
}

const isFile = (p: string): boolean => {
  try {
    return statSync(p).isFile();
  } catch {
    return false;
  }
};

export async function compileWith(...args: Parameters<typeof compileInputs>): Promise<CompileResult> {
  return compile(args[0], ...(await compileInputs(...args)));
}

/** The facts and options compile (or validate's check) reads, from the command's flags. */
export async function compileInputs(
  spec: Spec,
  values: Values,
  io: Io,
  strategy: Plan["strategy"],
  outAbs: string,
  extra: Partial<Facts> = {},
): Promise<[Facts, CompileOptions]> {
  // validate needs git only where a template reads it; plan and apply always (staging names, SOURCE_DATE_EPOCH)
  const facts = extra.git === undefined && values.command === "validate" && !usesGit(spec) ? { git: undefined } : await gitFacts(spec, io);
  const images = list(values.image);
  const platforms = list(values.platform);
  return [
    { git: facts.git, env: io.env, ...(facts.problem ? { gitProblem: facts.problem } : {}), ...extra },
    {
      strategy,
      outDir: posixPath(relative(spec.dir, outAbs)) || ".",
      specFromOut: posixPath(relative(outAbs, spec.dir)) || ".",
      ...(images ? { images } : {}),
      ...(list(values.group) ? { groups: list(values.group)! } : {}),
      ...(platforms ? { platforms } : {}),
      ...(values.load ? { load: true, hostPlatform: hostPlatform() } : {}),
      ...(values["no-publish"] ? { noPublish: true } : {}),
      ...(values["no-push"] ? { noPush: true } : {}),
      ...(values.rebuild ? { rebuild: true } : {}),
      ...(list(values.set) ? { sets: list(values.set)! } : {}),
      ociLabels: spec.build.ociLabels,
    },
  ];
}

const posixPath = (p: string) => p.split(sep).join("/");

/** Writes the artifacts; plan files of platforms no longer planned are removed, so DIR is exact. */
export function writeArtifacts(outAbs: string, files: Record<string, string>, archives: readonly string[] = []): string[] {
  mkdirSync(join(outAbs, "plans"), { recursive: true });
  // buildx (even --print) wants an archive's folder to exist.
  for (const a of archives) mkdirSync(dirname(a), { recursive: true });
  for (const old of readdirSync(join(outAbs, "plans"))) {
    if (!files[`plans/${old}`]) rmSync(join(outAbs, "plans", old), { force: true });
  }
  if (!files["docker-bake.publish.json"]) rmSync(join(outAbs, "docker-bake.publish.json"), { force: true });
  for (const [rel, content] of Object.entries(files)) {
    mkdirSync(dirname(join(outAbs, rel)), { recursive: true });
    writeFileSync(join(outAbs, rel), content);
  }
  return Object.keys(files).map((f) => join(outAbs, f));
}

/** A spec compiled and written under its lock: what plan prints and apply runs. The caller releases the lock. */
export type Prepared =
  | {
      ok: true;
      spec: Spec;
      plan: Plan;
      archPlans: ArchPlan[];
      files: string[];
      outAbs: string;
      engine: EngineFacts | undefined;
      lock: HeldLock;
      warnings: Diagnostic[];
      problems: string[];
      /** Wall time of each phase before anything runs (apply --timings). */
      timings: Timing[];
    }
  | { ok: false; outcome: Outcome };
/** One phase of a run and its wall time: before the plan runs, or one kind of step (apply --timings). */
export interface Timing {
  phase: string;
  ms: number;
  /** steps of this kind; their durations added up (they overlap when they run in parallel) */
  steps?: number;
  sumMs?: number;
}
type HeldLock = Extract<Lock, { ok: true }>;

/**
 * Load the spec, take its lock (before anything is written), ask the engine (always for apply; for plan
 * only when the strategy is auto), pick the strategy, compile, check secrets (apply), write the files.
 */
/** plan: writes only; apply: asks the engine, hashes inputs, reads what tags hold; merge: asks the engine. */
export async function compileAndWrite(flags: Values, io: Io, mode: "plan" | "apply" | "merge"): Promise<Prepared> {
  let values = flags;
  const timings: Timing[] = [];
  const since = (phase: string, t0: number) => timings.push({ phase, ms: performance.now() - t0 });
  let t0 = performance.now();
  // git's processes run while the spec is read (the spec's folder is the file's); compileWith reads them
  const file = specFile(values, io);
  if (file) {
    void gitFacts({ dir: dirname(file) }, io);
    await new Promise((started) => setImmediate(started));
  }
  const loaded = loadFromFlags(values, io);
  if (!loaded.ok) return { ok: false, outcome: { exit: EXIT.usage, errors: loaded.errors, warnings: loaded.warnings } };
  const spec = loaded.spec;
  const requested = requestedStrategy(values, spec);
  if (typeof requested === "object") return { ok: false, outcome: { exit: EXIT.usage, message: requested.error, warnings: loaded.warnings } };
  const { acquireLock, probeEngine } = await import("@multiarch/executor");
  const lock = acquireLock(spec.file);
  if (!lock.ok) return { ok: false, outcome: lockedOutcome(lock, io) };
  const fail = (outcome: Outcome): Prepared => {
    lock.release();
    return { ok: false, outcome };
  };
  const dryRun = values["dry-run"] === true;
  since("read the spec", t0);
  t0 = performance.now();
  const engine = mode !== "plan" || requested === "auto" ? await probeEngine(spec.dir, io.env, spec.build.builder) : undefined;
  since("ask the engine, git", t0);
  if (mode !== "plan" && !dryRun && engine && (!engine.reachable || engine.builderMissing)) {
    const builder = engine.builderMissing && spec.build.nodes ? builderOf(spec) : undefined;
    if (builder) return fail({ exit: EXIT.environment, message: `buildx builder ${builder.name} does not exist\n${await builderHowTo(builder)}` });
    return fail({ exit: EXIT.environment, message: engine.reason });
  }
  // `plan` of a multi-node builder not created yet: its driver (from the spec) builds multi-platform
  const nodes = engine?.builderMissing && spec.build.nodes;
  const facts: EngineFacts | undefined = nodes
    ? {
        reachable: true,
        buildx: true,
        multiPlatform: true,
        driver: nodes.driver,
        reason: `builder ${spec.build.builder} (not created yet): driver ${nodes.driver}`,
      }
    : engine;
  const strategy = resolveStrategy(requested, values.strategy !== undefined, facts);
  if (typeof values.since === "string") {
    const since = await changedSince(spec, values.since, strategy, io);
    if ("error" in since) return fail({ exit: EXIT.usage, message: since.error });
    const asked = list(values.image);
    const images = since.images.filter((n) => !asked || asked.includes(n));
    if (images.length === 0) return fail({ exit: EXIT.ok, message: `no image's inputs changed since ${values.since}: nothing to do`, data: { changed: [] } });
    io.stderr.write(`changed since ${values.since}: ${images.join(", ")}\n`);
    values = { ...values, image: images };
  }
  const outAbs = outDirOf(values, io, spec);
  t0 = performance.now();
  let result = await compileWith(spec, values, io, strategy, outAbs);
  since("compile", t0);
  const problems: string[] = [];
  if (mode === "apply" && result.ok) {
    // Incremental: hash each image's inputs, read what its tags hold, and compile again with both. A
    // shard builds every image of its platform: the merge needs all of them.
    const incremental = await incrementalFacts(spec, result.compiled.plan, io, values.rebuild === true || values.shard !== undefined, since);
    problems.push(...incremental.problems);
    t0 = performance.now();
    result = await compileWith(spec, values, io, strategy, outAbs, incremental.facts);
    since("compile with input facts", t0);
  }
  const secrets = mode !== "plan" && !dryRun ? secretDiagnostics(spec, io.env, "error") : [];
  const warnings = [...loaded.warnings, ...result.warnings];
  if (!result.ok || secrets.length) return fail({ exit: EXIT.usage, errors: [...(result.ok ? [] : result.errors), ...secrets], warnings });
  // What runs is on disk too: .multiarch/plan.json always matches the last apply.
  t0 = performance.now();
  const files = writeArtifacts(outAbs, result.compiled.files, archivesOf(result.compiled.plan, spec.dir));
  since("write the plan", t0);
  return { ok: true, spec, plan: result.compiled.plan, archPlans: result.compiled.archPlans, files, outAbs, engine, lock, warnings, problems, timings };
}

/** Input facts of every image (files, bases) and, unless --rebuild, what the planned user tags hold now. */
async function incrementalFacts(
  spec: Spec,
  first: Plan,
  io: Io,
  rebuild: boolean,
  since: (phase: string, t0: number) => void,
): Promise<{ facts: Partial<Facts>; problems: string[] }> {
  const { gatherInputs, readPublished } = await import("@multiarch/executor");
  const { git } = await gitFacts(spec, io);
  const { rendered } = renderImages(spec, spec.images, { git, env: io.env });
  const args = new Map(rendered.map((r) => [r.image.name, r.args]));
  let t0 = performance.now();
  const inputs = await gatherInputs(spec, spec.images, args, io.env);
  since("hash inputs (files, base image digests)", t0);
  if (rebuild) return { facts: { inputs }, problems: [] };
  const refs = first.images.filter((i) => !i.notPublished).flatMap((i) => i.refs.flatMap((r) => r.tags.map((t) => `${r.name}:${t}`)));
  const insecure = spec.registries.filter((r) => r.insecure).map((r) => r.host);
  t0 = performance.now();
  const published = await readPublished(refs, io.env, insecure);
  since("read what the tags hold (registry)", t0);
  return { facts: { inputs, published: published.tags }, problems: published.problems };
}

export const archivesOf = (plan: Plan, specDir: string): string[] => plan.images.flatMap((i) => (i.archive ? [resolve(specDir, i.archive)] : []));

/**
 * --since REF: the images whose input hash differs from what REF's commit would produce (dependents
 * follow through the Merkle chain). REF is checked out beside the working tree, read, and removed.
 */
async function changedSince(spec: Spec, ref: string, strategy: Plan["strategy"], io: Io): Promise<{ images: string[] } | { error: string }> {
  const { checkoutAt } = await import("@multiarch/executor");
  const co = await checkoutAt(spec.dir, ref, io.env);
  if (!co.ok) return { error: co.message };
  try {
    const now = await hashesOf(spec, strategy, io);
    const then = loadSpec(join(co.dir, relative(co.root, realpathSync.native(spec.file))), { env: io.env });
    // a spec that did not exist (or was broken) at REF: everything is new
    const before = then.ok ? await hashesOf(then.spec, strategy, io) : new Map<string, string>();
    return { images: spec.images.filter((i) => before.get(i.name) !== now.get(i.name)).map((i) => i.name) };
  } finally {
    await co.remove();
  }
}

async function hashesOf(spec: Spec, strategy: Plan["strategy"], io: Io): Promise<Map<string, string>> {
  const { gatherInputs } = await import("@multiarch/executor");
  const { git, problem } = await gitFacts(spec, io);
  const { rendered } = renderImages(spec, spec.images, { git, env: io.env });
  const inputs = await gatherInputs(spec, spec.images, new Map(rendered.map((r) => [r.image.name, r.args])), io.env);
  const r = compile(spec, { git, env: io.env, inputs, ...(problem ? { gitProblem: problem } : {}) }, { strategy });
  return new Map(r.ok ? r.compiled.plan.images.map((i) => [i.name, i.inputHash ?? ""]) : []);
}

/** The spec's multi-node builder: its nodes, and the commands that create it (doctor --fix runs them). */
export async function builderHowTo(builder: Builder): Promise<string> {
  const { showCommand } = await import("@multiarch/executor");
  return [
    `builder ${builder.name} (${builder.driver}): ${builder.nodes.map((n) => `${n.name} ${n.platforms.join(",")}${n.endpoint ? ` at ${n.endpoint}` : ""}`).join("; ")}`,
    "create it once with:",
    ...builder.create.map((c) => `  ${showCommand(c)}`),
  ].join("\n");
}
