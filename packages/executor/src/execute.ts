// Runs a plan: stages in order, the steps of a stage in parallel (bounded), the commands of a step in
// order. A failed stage stops the run before the next stage starts, so the publish stage (user tags)
// runs only when every build, verification and test before it passed; clean-up still runs then (and
// after an interrupt), so a failed run leaves the engine as a good one does. With `continueOnFailure` a
// failure stops only its image and the images built FROM it: their later steps are skipped, the others
// go on to be published.
import { setMaxListeners } from "node:events";
import { existsSync, readFileSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, dirname, join, resolve } from "node:path";
import { type Arg, type Built, byDigest, type Command, type Plan, parseImageRef, runsAfterStop, type Step, type Yield } from "@multiarch/plan";
import { type BakeTargetResult, readBakeLog } from "./bake-log.ts";
import { mapLimit } from "./concurrency.ts";
import { BlobLocations, copyImage, pushIndex, pushLayout, repositoryOf } from "./digest-push.ts";
import { dockerConfigFile, loggedIn } from "./docker-config.ts";
import { makeDir } from "./make-dir.ts";
import { readTag } from "./published.ts";
import { RegistryClient, RegistryError, type RegistryWait } from "./registry.ts";
import { type Replaced, type Report, type StagedRef, type StepOutcome, summarize, tagOutcomes } from "./report.ts";
import { backoffMs, DEFAULT_RETRY, isTransient, lastLines, type RetryPolicy } from "./retry.ts";
import { openRunFolder, type Swept, sweepDeadRuns } from "./run-folder.ts";
import { planRedactor, type RunOptions, type RunResult, resolveArg, runCommand, showCommand, UnresolvedRef } from "./runner.ts";
import { removeStraySignature, signatureTag, tagState } from "./signer.ts";
import {
  checkArchive,
  checkImage,
  configLabelProblems,
  type Inspection,
  indexAnnotationProblems,
  inputHashProblems,
  inspectImage,
  type PlatformCheck,
} from "./verify.ts";

type Env = Readonly<Record<string, string | undefined>>;

export type ExecEvent =
  | { type: "stage"; name: string; steps: number }
  | { type: "step-start"; step: Step }
  | { type: "step-end"; step: Step; outcome: StepOutcome }
  | { type: "line"; step: Step; line: string }
  | { type: "note"; step: Step; text: string }
  /** What runs that ended without their clean-up left, and this run removed (or found still running). */
  | { type: "leftovers"; swept: Swept }
  /** A registry request with no answer for a while (the run's, so no one step's). */
  | { type: "wait"; wait: RegistryWait };

export interface ExecuteOptions {
  /** Folder that holds plan.json; commands run in plan.cwd relative to it. */
  planDir: string;
  env: Env;
  concurrency: number;
  signal?: AbortSignal;
  onEvent?: (e: ExecEvent) => void;
  /** Retry policy for transient registry errors; tests shorten the delays. */
  retry?: RetryPolicy;
  /**
   * apply --continue: a failed image holds back only itself and the images built FROM it; the others
   * are built, verified, tested and published (a failed bake runs again without the failed targets).
   */
  continueOnFailure?: boolean;
  /**
   * apply: the files of an image's inputs that changed since its input hash was computed, read again
   * after each build of it. Any: the image is failed, as its label names inputs it may not be built from.
   */
  changedInputs?: (image: string) => readonly string[];
}

export async function executePlan(plan: Plan, opts: ExecuteOptions): Promise<Report> {
  const started = performance.now();
  // every step running at once, and each child of it, listens to the run's one signal: Node's leak
  // warning (at 11) would print on stderr of any run with 6 smoke tests at once
  if (opts.signal) setMaxListeners(0, opts.signal);
  const cwd = resolve(opts.planDir, plan.cwd);
  const outcomes = new Map<string, StepOutcome>();
  // What verification saw under each staging ref, for publish's "already there" check.
  const verified = new Map<string, PlatformCheck>();
  // What this run built or pushed under each staging ref (digest), and which of those reached a registry.
  const built = new Map<string, string>();
  const staged = new Map<string, StagedRef>();
  const moved = new Map<string, string>();
  const kept = new Map<string, string>();
  const replaced = new Map<string, Replaced>();
  let exitCode: Report["exitCode"] = 0;
  const redact = planRedactor(plan, cwd, opts.env);
  // buildx writes archives but does not create their folders.
  for (const img of plan.images) if (img.archive) makeDir(dirname(resolve(cwd, img.archive)));
  // Files only this run reads and writes (bake's metadata, layouts): concurrent runs never share them. What
  // runs that are gone left there (and in the engine) goes first; the caller holds the spec's lock.
  const spec = resolve(opts.planDir, plan.spec);
  const swept = await sweepDeadRuns(tmpdir(), spec, opts.env);
  if (swept.runs || swept.emptied.length || swept.running.length) opts.onEvent?.({ type: "leftovers", swept });
  const folder = openRunFolder(tmpdir(), spec, opts.env);
  const runDir = folder.dir;
  // a second Ctrl-C exits at once: the groups end, the folder goes but for its record (the images for the next run)
  process.on("exit", folder.abandon);
  const manifestEnv = privateManifestStore(runDir, opts.env);
  const runOpts = (step: Step, signal = opts.signal): RunOptions => ({
    cwd,
    env: opts.env,
    runDir,
    onGroup: folder.adopt,
    redact,
    verified: (v) => {
      const check = verified.get(v.verified);
      const digest = v.platform ? check?.manifests[v.platform] : check?.digest;
      return digest ? byDigest(v.verified, digest) : undefined;
    },
    built: (ref) => {
      const digest = built.get(ref);
      return digest ? byDigest(ref, digest) : undefined;
    },
    ...(signal ? { signal } : {}),
    onLine: (line) => opts.onEvent?.({ type: "line", step, line }),
  });
  // one client for the run's pushes by digest: tokens and known blobs are shared between its steps
  const insecureHosts = [
    ...new Set([
      ...plan.images.flatMap((i) => i.refs.filter((r) => r.insecure).map((r) => repositoryOf(r.name).host)),
      ...plan.stages.flatMap((s) => s.steps.flatMap((st) => (st.copy?.fromInsecure ? [repositoryOf(st.copy.from).host] : []))),
      ...plan.stages.flatMap((s) =>
        s.steps.flatMap((st) => [
          ...(st.read?.insecure ? [repositoryOf(typeof st.read.ref === "string" ? st.read.ref : st.read.ref.built).host] : []),
          ...(st.moveTags?.insecure ? st.moveTags.tags.map((t) => repositoryOf(t).host) : []),
        ]),
      ),
    ]),
  ];
  const client = new RegistryClient({
    env: opts.env,
    insecureHosts,
    onWait: (wait) => opts.onEvent?.({ type: "wait", wait }),
    ...(opts.signal ? { signal: opts.signal } : {}),
  });
  // asks what a request the interrupt cut off did, after it: not stopped by that signal, and briefly
  const settle = new RegistryClient({ env: opts.env, insecureHosts, timeoutMs: 5_000 });
  const registry = { client, settle, blobs: new BlobLocations() };
  const dependsOn = new Map(plan.images.map((i) => [i.name, i.dependsOn]));
  // read as the first stage after the logins starts (the client keeps what credentials it found: asked
  // before a login, it would push without them), while its steps run; publish compares each tag with it
  let readAtStart: Promise<Map<string, string | null>> | undefined;
  const atStart = () => (readAtStart ??= tagsAtStart(plan, client));
  const ctx: StepContext = {
    verified,
    built,
    staged,
    moved,
    kept,
    replaced,
    atStart,
    loads: new Map(),
    runDir,
    started,
    manifestEnv,
    dependsOn,
    registry,
  };
  // --continue: the images that failed, by their own steps
  const failedImages = new Set<string>();
  const dependents = (failed: readonly string[], among: readonly string[]) => among.filter((t) => heldBy(t, new Set(failed), dependsOn) !== undefined);
  // a failure no image owns (a login) stops even a --continue run
  let stop = false;

  try {
    for (const stage of plan.stages) {
      // stopped (a failure, an interrupt): only the steps that run whatever happened (clean-up), to their end
      const stopped: boolean = exitCode !== 0 && (!opts.continueOnFailure || stop || exitCode === 130);
      const steps: readonly Step[] = stopped ? stage.steps.filter((s) => runsAfterStop(s.kind)) : stage.steps;
      if (!steps.length) continue;
      if (!steps.some((s) => s.kind === "login")) atStart();
      opts.onEvent?.({ type: "stage", name: stage.name, steps: steps.length });
      // --concurrency bounds builds; pushes, reading indexes, smoke tests and tagging wait on the network and run wider.
      const heavy = steps.some((s) => s.kind === "build" || s.kind === "bake");
      // docker login reads, changes and writes back the one config file: two at once lose one's entry
      const width = steps.some((s) => s.kind === "login") ? 1 : Math.max(1, heavy ? opts.concurrency : Math.max(opts.concurrency, 8));
      const results = await mapLimit(steps, width, async (step) => {
        const held = step.image ? heldBy(step.image, failedImages, dependsOn) : undefined;
        let outcome: StepOutcome;
        if (held) {
          const reason = held === step.image ? `${held} failed` : `needs ${held}, which failed`;
          outcome = { ...identity(step), status: "skipped", reason, startMs: 0, durationMs: 0, attempts: 0 };
        } else {
          folder.leaves(engineLeftovers(plan, runOpts(step)));
          opts.onEvent?.({ type: "step-start", step });
          // once stopped, what still runs (clean-up) is not cut short by the signal that stopped the run
          const run = runOpts(step, stopped ? undefined : opts.signal);
          outcome = await (step.kind === "bake" && opts.continueOnFailure
            ? runBake(step, run, opts, ctx, dependents)
            : step.signs
              ? runSign(step, run, opts, ctx)
              : runStep(step, run, opts, ctx));
          if (opts.changedInputs && (step.kind === "build" || step.kind === "bake")) outcome = inputsStill(step, outcome, opts.changedInputs);
        }
        if (outcome.check && step.expect && "ref" in step.expect) verified.set(step.expect.ref, outcome.check);
        outcomes.set(step.id, outcome);
        opts.onEvent?.({ type: "step-end", step, outcome });
        return outcome;
      });
      for (const o of results.filter((r) => r.status === "failed")) {
        const owners = o.image ? [o.image] : (o.targets ?? []).filter((t) => t.status === "failed").map((t) => t.target);
        if (!owners.length) stop = true;
        for (const image of owners) failedImages.add(image);
      }
      if (opts.signal?.aborted) exitCode = 130;
      else if (exitCode === 0 && results.some((o) => o.status === "failed"))
        // 3 when a check found the image wrong (or missing), not when the registry could not be read
        exitCode = results.some((o) => o.status === "failed" && o.kind === "verify" && !o.unreadable) ? 3 : 2;
    }
  } finally {
    process.off("exit", folder.abandon);
    folder.remove();
  }
  const steps = plan.stages
    .flatMap((s) => s.steps)
    .map((s): StepOutcome => outcomes.get(s.id) ?? { ...identity(s), status: "not-run", startMs: 0, durationMs: 0, attempts: 0 });
  const tags = tagOutcomes(plan, outcomes, moved, kept, replaced);
  return {
    ok: exitCode === 0,
    exitCode,
    durationMs: performance.now() - started,
    steps,
    images: summarize(plan, steps, built, exitCode === 130),
    tags,
    staged: [...staged.values()],
  };
}

/** The failed image that holds `image` back: itself, or one it builds FROM (through image: links). */
function heldBy(image: string, failed: ReadonlySet<string>, dependsOn: ReadonlyMap<string, readonly string[]>, seen = new Set<string>()): string | undefined {
  if (failed.has(image)) return image;
  if (seen.has(image)) return undefined;
  seen.add(image);
  for (const d of dependsOn.get(image) ?? []) {
    const h = heldBy(d, failed, dependsOn, seen);
    if (h) return h;
  }
  return undefined;
}

/**
 * apply --continue's bake: when bake fails, BuildKit's log names the target that broke; bake runs again
 * without it and the targets built FROM it (the rest come from the build cache), until a run succeeds or
 * no target is left. Only the run that succeeds writes the metadata the later steps read.
 */
async function runBake(
  step: Step,
  run: RunOptions,
  opts: ExecuteOptions,
  ctx: StepContext,
  dependents: (failed: readonly string[], among: readonly string[]) => string[],
): Promise<StepOutcome> {
  const all = step.targets;
  const cmd = step.commands[0];
  // the targets are the command's last arguments; a plan written otherwise runs once, all or nothing
  if (!all?.length || step.commands.length !== 1 || !cmd || JSON.stringify(cmd.args.slice(-all.length)) !== JSON.stringify(all))
    return runStep(step, run, opts, ctx);
  const results = new Map<string, BakeTargetResult>();
  const rounds: NonNullable<StepOutcome["rounds"]> = [];
  let remaining = all;
  let first: StepOutcome | undefined;
  for (;;) {
    const keep = new Set(remaining);
    const round: Step = {
      ...step,
      commands: [{ ...cmd, args: [...cmd.args.slice(0, -all.length), ...remaining] }],
      targets: remaining,
      ...(step.yields ? { yields: step.yields.filter((y) => y.from !== "metadata" || !y.target || keep.has(y.target)) } : {}),
    };
    if (rounds.length) opts.onEvent?.({ type: "note", step, text: `baking again without ${all.filter((t) => !keep.has(t)).join(", ")}` });
    const o = await runStep(round, run, opts, ctx);
    first ??= o;
    rounds.push({ targets: remaining, ok: o.status === "ok", durationMs: o.durationMs });
    for (const t of o.targets ?? remaining.map((target): BakeTargetResult => ({ target, status: o.status === "ok" ? "built" : "failed" })))
      results.set(t.target, t);
    const failed = (o.targets ?? []).filter((t) => t.status === "failed").map((t) => t.target);
    if (o.status !== "failed" || !failed.length) break;
    const out = new Set(dependents(failed, remaining));
    for (const t of out) if (!failed.includes(t)) results.set(t, { target: t, status: "skipped" });
    remaining = remaining.filter((t) => !out.has(t));
    if (!remaining.length) break;
  }
  const targets = all.map((t) => results.get(t)!);
  const failed = targets.filter((t) => t.status === "failed").map((t) => t.target);
  const last = rounds.at(-1)!;
  return {
    ...first!,
    status: failed.length || !last.ok ? "failed" : "ok",
    durationMs: rounds.reduce((n, r) => n + r.durationMs, 0),
    targets,
    ...(rounds.length > 1 ? { rounds, error: `${failed.join(", ")} failed; the others were baked again (${last.ok ? "ok" : "failed"})` } : {}),
  };
}

/**
 * After a build: an image whose input files changed since they were hashed (edited while BuildKit read
 * the context) may hold the new files under the old files' hash, so a later run on the old files would
 * call it up to date. It fails as a broken build does: none of its tags move, and what builds FROM it is
 * held back (apply --continue publishes the others).
 */
function inputsStill(step: Step, outcome: StepOutcome, changedInputs: (image: string) => readonly string[]): StepOutcome {
  const built =
    step.kind === "bake"
      ? (outcome.targets?.filter((t) => t.status === "built").map((t) => t.target) ?? (outcome.status === "ok" ? (step.targets ?? []) : []))
      : outcome.status === "ok" && step.image
        ? [step.image]
        : [];
  const changed = new Map(
    built.flatMap((image) => {
      const files = changedInputs(image);
      const shown = files.length > 3 ? `${files.slice(0, 3).join(", ")} and ${files.length - 3} more` : files.join(", ");
      return files.length
        ? [[image, `the inputs of ${image} changed during the build (${shown}): nothing of it was published; run the command again`] as const]
        : [];
    }),
  );
  if (!changed.size) return outcome;
  const error = [outcome.error, ...changed.values()].filter(Boolean).join("; ");
  if (step.kind !== "bake" || !step.targets) return { ...outcome, status: "failed", error };
  const targets = step.targets.map(
    (target): BakeTargetResult =>
      changed.has(target)
        ? { target, status: "failed", error: changed.get(target)! }
        : (outcome.targets?.find((t) => t.target === target) ?? { target, status: "built" }),
  );
  return { ...outcome, status: "failed", targets, error };
}

/**
 * sign: when the step fails after cosign pushed a signature (its check refused it), the signature tag it
 * pushed is deleted, so the failed run leaves no tag; what cannot be deleted is said in the step's error.
 */
async function runSign(step: Step, run: RunOptions, opts: ExecuteOptions, ctx: StepContext): Promise<StepOutcome> {
  const index = run.verified?.({ verified: step.signs! });
  const tag = index ? signatureTag(index) : undefined;
  const before = tag ? await tagState(ctx.registry.client, tag) : undefined;
  const outcome = await runStep(step, run, opts, ctx);
  if (outcome.status !== "failed" || !tag || !before) return outcome;
  // outside the run's signal: after an interrupt the tag cosign pushed must still be read and deleted
  const left = await removeStraySignature(ctx.registry.settle, tag, before);
  return left ? { ...outcome, error: `${outcome.error}; ${left}` } : outcome;
}

interface StepContext {
  verified: Map<string, PlatformCheck>;
  built: Map<string, string>;
  staged: Map<string, StagedRef>;
  /** user tag -> the digest this run moved it to */
  moved: Map<string, string>;
  /** user tag -> the verified index it already held, so it was left alone */
  kept: Map<string, string>;
  /** user tag this run moved -> what it held before (see TagOutcome) */
  replaced: Map<string, Replaced>;
  /** user tag -> what it held as the run started (null: no such tag); one that could not be read is left out */
  atStart: () => Promise<ReadonlyMap<string, string | null>>;
  /** archive -> its `docker load` running now (one at a time each) */
  loads: Map<string, Promise<unknown>>;
  runDir: string;
  started: number;
  /** The environment `docker manifest` runs in: a docker config of this run's own (see privateManifestStore). */
  manifestEnv: Env;
  /** What each image builds FROM (image: links). */
  dependsOn: ReadonlyMap<string, readonly string[]>;
  registry: { client: RegistryClient; settle: RegistryClient; blobs: BlobLocations };
}

/**
 * A docker config folder for this run alone, whose config.json is the user's (credentials, helpers), so
 * `docker manifest create --amend` of two concurrent runs never writes into one local list.
 */
function privateManifestStore(runDir: string, env: Env): Env {
  const dir = join(runDir, "docker-config");
  makeDir(dir);
  const config = dockerConfigFile(env);
  if (existsSync(config)) symlinkSync(config, join(dir, "config.json"));
  return { ...env, DOCKER_CONFIG: dir };
}

const DIGEST = /sha256:[0-9a-f]{64}/;

/**
 * The digest a legacy publish command moved a tag to: its source's, when the command (or the `docker tag`
 * before a push) copies one image by digest; none for a list `docker manifest` made again.
 */
function movedTo(step: Step, i: number, ctx: StepContext): string {
  const cmd = step.commands[i]!;
  const copies = cmd.args[0] === "manifest" ? [] : [cmd, ...step.commands.slice(0, i).filter((c) => c.args[0] === "tag" && c.args[2] === cmd.moves)];
  for (const a of copies.flatMap((c) => c.args)) {
    if (typeof a !== "object") continue;
    if ("verified" in a && a.platform) return ctx.verified.get(a.verified)?.manifests[a.platform] ?? "";
    if ("built" in a) return ctx.built.get(a.built) ?? "";
  }
  return "";
}

/** The digest a step produced under y.ref: from its last command's output or from a metadata file. */
function readYield(y: Yield, stdout: string, runDir: string): string | undefined {
  if (y.from === "output") {
    // docker push: "digest: sha256:…"; docker manifest push: the digest alone
    const pushed = [...stdout.matchAll(/digest: (sha256:[0-9a-f]{64})/g)].at(-1)?.[1];
    return pushed ?? /^(sha256:[0-9a-f]{64})\s*$/m.exec(stdout)?.[1];
  }
  try {
    const json = JSON.parse(readFileSync(join(runDir, y.file), "utf8")) as Record<string, unknown>;
    const entry = (y.target ? json[y.target] : json) as Record<string, unknown> | undefined;
    const digest = entry?.["containerimage.digest"];
    return typeof digest === "string" && DIGEST.test(digest) ? digest : undefined;
  } catch {
    return undefined;
  }
}

/** Records what a step produced; a ref that already holds another digest from this run is an error. */
function recordYields(step: Step, stdout: string, ctx: StepContext): string | undefined {
  for (const y of step.yields ?? []) {
    const digest = readYield(y, stdout, ctx.runDir);
    if (!digest) return `could not read the digest this step produced for ${y.ref}`;
    const problem = record(step, y.ref, digest, y.pushed, ctx);
    if (problem) return problem;
  }
  return undefined;
}

function record(step: Step, ref: string, digest: string, pushed: boolean, ctx: StepContext): string | undefined {
  const before = ctx.built.get(ref);
  if (before && before !== digest) {
    return `${ref}: this run built ${before} but pushed ${digest}: the local image changed during the run (another run of this spec on this engine?); nothing of it is published`;
  }
  ctx.built.set(ref, digest);
  // reported as name@digest: what was pushed, whether or not a tag names it (pushes by digest write none)
  if (pushed) ctx.staged.set(ref, { ...(step.image ? { image: step.image } : {}), ref: byDigest(ref, digest), digest, key: ref });
  return undefined;
}

/**
 * Work over the registry API, in-process (a push by digest, publish's tag moves, verification's reads),
 * retried like a command for answers that may pass (5xx, 429, network; not timeouts: the client retried
 * those already); `work` returns a problem, if any.
 */
async function withRegistryRetry(
  run: RunOptions,
  opts: ExecuteOptions,
  work: () => Promise<string | undefined>,
): Promise<Pick<StepOutcome, "status" | "attempts" | "error">> {
  const retry = opts.retry ?? DEFAULT_RETRY;
  for (let tries = 1; ; tries++) {
    try {
      const problem = await work();
      return problem ? { status: "failed", attempts: tries, error: problem } : { status: "ok", attempts: tries };
    } catch (e) {
      const status = e instanceof RegistryError ? e.status : undefined;
      // a registry that let each of the client's attempts time out is not asked that many times again
      const transient = e instanceof RegistryError && e.noAnswer !== "timeout" && (status === undefined || status >= 500 || status === 429);
      if (!transient || tries >= retry.attempts || run.signal?.aborted)
        return { status: "failed", attempts: tries, error: run.redact?.((e as Error).message) ?? (e as Error).message };
      await sleep(backoffMs(retry, tries), run.signal);
    }
  }
}

/** verify, in-process: what `read` names, its images' manifests and configs, judged against `expect`. */
async function verifyRead(
  read: NonNullable<Step["read"]>,
  expect: Extract<NonNullable<Step["expect"]>, { ref: string }>,
  run: RunOptions,
  opts: ExecuteOptions,
  ctx: StepContext,
): Promise<Omit<StepOutcome, keyof ReturnType<typeof identity> | "durationMs" | "startMs">> {
  const target = typeof read.ref === "string" ? read.ref : run.built?.(read.ref.built);
  if (!target) return { status: "failed", attempts: 1, error: `${expect.ref} was not pushed by this run` };
  const parsed = parseImageRef(target);
  if (!parsed.ok) return { status: "failed", attempts: 1, error: `${target}: ${parsed.message}` };
  let seen: Inspection | undefined;
  let missing = false;
  const r = await withRegistryRetry(run, opts, async () => {
    try {
      seen = await inspectImage(ctx.registry.client, parsed.value);
    } catch (e) {
      // a tag or digest the registry does not have (promote of a version never published) says so plainly
      missing = e instanceof RegistryError && e.status === 404;
      throw e;
    }
    return undefined;
  });
  if (!seen)
    return missing
      ? { ...r, error: `${target}: the registry has no such image (HTTP 404)` }
      : { ...r, unreadable: true, error: `could not read the index of ${expect.ref}: ${r.error}` };
  return { attempts: r.attempts, ...judge(expect, seen, ctx) };
}

/** What verification says of an index it read: the platforms, and what else `expect` asks. */
function judge(
  expect: Extract<NonNullable<Step["expect"]>, { ref: string }>,
  seen: Inspection,
  ctx: StepContext,
): Pick<StepOutcome, "status" | "check" | "error"> {
  const check = checkImage(seen, expect.platforms);
  const failed = (error: string) => ({ status: "failed" as const, check, error });
  if (!check.ok) return failed(platformError(check));
  // merge: the index must hold exactly the images the shards pushed, not merely the right platforms
  const other = Object.entries(expect.manifests ?? {})
    .filter(([p, d]) => check.manifests[p] !== undefined && check.manifests[p] !== d)
    .map(([p]) => p);
  const same = expect.sameAs ? ctx.verified.get(expect.sameAs)?.digest : undefined;
  if (expect.sameAs && (!same || check.digest !== same))
    return failed(
      `${expect.ref} holds ${check.digest ?? "an unknown index"}, not ${expect.sameAs}'s verified ${same ?? "index"}: a copy by digest must be the very same index`,
    );
  if (other.length) return failed(`${expect.ref} holds other images than the shards pushed for ${other.join(", ")} (another merge at once?)`);
  const annotations = expect.annotations ? indexAnnotationProblems(seen, expect.annotations) : [];
  if (annotations.length) return failed(`the index of ${expect.ref}: annotation ${annotations.join(", ")}`);
  const unlabeled = expect.labels ? configLabelProblems(seen, expect.labels) : [];
  if (unlabeled.length) return failed(`${expect.ref} was not built by multiarch (${unlabeled.join("; ")}): only an index an apply published is promoted`);
  const foreign = expect.inputHash ? inputHashProblems(seen, expect.inputHash) : [];
  if (foreign.length)
    return failed(
      `${expect.ref}: ${foreign.join("; ")}, not from this checkout's inputs (${expect.inputHash!.slice(0, 12)}): a shard file names another build's image`,
    );
  return { status: "ok", check };
}

/** A push by digest; what was pushed is recorded under the step's ref. Returns a problem, if any. */
async function pushByDigest(step: Step, run: RunOptions, ctx: StepContext): Promise<string | undefined> {
  const { client, blobs } = ctx.registry;
  let ref: string;
  let digest: string;
  if (step.layout) {
    ref = step.layout.ref;
    // the image the build reported for this ref (a bake writes all its targets into one layout)
    const pushed = await pushLayout(client, join(ctx.runDir, step.layout.dir), repositoryOf(ref), blobs, ctx.built.get(ref));
    digest = pushed.descriptor.digest;
    const { present, mounted, uploaded } = pushed.blobs;
    run.onLine?.(`${digest}: blobs ${uploaded} uploaded, ${mounted} mounted, ${present} already there`, "stdout");
  } else if (step.copy) {
    ref = step.copy.ref;
    const from = ctx.verified.get(step.copy.from)?.digest;
    if (!from) return `${step.copy.from} was not verified by this run`;
    const source = { ...repositoryOf(step.copy.from), digest: from };
    const copied = await copyImage(client, source, repositoryOf(ref), blobs);
    digest = copied.descriptor.digest;
    const { present, mounted, uploaded } = copied.blobs;
    run.onLine?.(`${step.copy.from}@${from} -> ${digest}: blobs ${uploaded} copied, ${mounted} mounted, ${present} already there`, "stdout");
  } else {
    const index = step.index!;
    ref = index.ref;
    const sources = index.sources.map((s) => (typeof s === "string" ? s : run.built?.(s.built)));
    const missing = index.sources.find((_s, i) => !sources[i]);
    if (missing) return `${JSON.stringify(missing)} was not pushed by this run`;
    digest = await pushIndex(
      client,
      repositoryOf(ref),
      sources.filter((s) => s !== undefined),
      index.annotations,
    );
  }
  return record(step, ref, digest, true, ctx);
}

/**
 * publish: each tag, in order, made to hold the verified index's very bytes (a manifest PUT per tag, the
 * same digest); tags in `held` already do and stay. Tags moved before a retry are not written again.
 */
async function moveTags(m: NonNullable<Step["moveTags"]>, run: RunOptions, ctx: StepContext, held: ReadonlyMap<string, string>): Promise<string | undefined> {
  const digest = ctx.verified.get(m.staging)?.digest;
  if (!digest) return `${m.staging} was not verified by this run`;
  const { client, blobs } = ctx.registry;
  const from = { ...repositoryOf(m.staging), digest };
  let index: Awaited<ReturnType<RegistryClient["manifest"]>> | undefined;
  for (const tag of m.tags) {
    const keep = held.get(tag);
    if (keep) {
      ctx.kept.set(tag, keep);
      continue;
    }
    if (ctx.moved.has(tag)) continue;
    const to = parseImageRef(tag);
    if (!to.ok || !to.value.tag) return `${tag}: not a tag`;
    index ??= await client.manifest(from);
    if (index.digest !== digest) return `${m.staging}@${digest}: the registry answered ${index.digest}`;
    // another repository (promote between registries copied it by digest first): its images come along
    if (to.value.host !== from.host || to.value.path !== from.path) await copyImage(client, from, to.value, blobs);
    try {
      await client.putManifest(to.value, digest, index.mediaType, index.bytes, to.value.tag);
    } catch (e) {
      // a PUT cut off (Ctrl-C, a lost answer) may have been applied all the same, or be a moment from it:
      // the report says what the tag holds, asked for a while (a tag still elsewhere then is reported not moved)
      if (await comesToHold(ctx.registry.settle, tag, digest, run.signal?.aborted ? 10 : 1)) ctx.moved.set(tag, digest);
      throw e;
    }
    ctx.moved.set(tag, digest);
    run.onLine?.(`${tag} -> ${digest}`, "stdout");
  }
  return undefined;
}

/** What each user tag the plan moves holds (null: no such tag), read at once; one that cannot be read is left out. */
async function tagsAtStart(plan: Plan, client: RegistryClient): Promise<Map<string, string | null>> {
  const tags = plan.stages.flatMap((s) => s.steps.flatMap((st) => st.moveTags?.tags ?? []));
  const states = await mapLimit(tags, 16, (t) => tagState(client, t));
  return new Map(tags.flatMap((t, i) => (states[i] && "digest" in states[i] ? [[t, states[i].digest] as const] : [])));
}

/** Whether the tag holds digest, asked `tries` times 200 ms apart (a registry may commit a PUT after the client stopped waiting). */
async function comesToHold(client: RegistryClient, tag: string, digest: string, tries: number): Promise<boolean> {
  for (let i = 0; i < tries; i++) {
    if (i > 0) await new Promise((r) => setTimeout(r, 200));
    if ((await readTag(client, tag).catch(() => null))?.digest === digest) return true;
  }
  return false;
}

const identity = (s: Step) => ({
  id: s.id,
  kind: s.kind,
  ...(s.image ? { image: s.image } : {}),
  ...(s.platform ? { platform: s.platform } : {}),
  ...(s.registry ? { registry: s.registry } : {}),
});

async function runStep(step: Step, run: RunOptions, opts: ExecuteOptions, ctx: StepContext): Promise<StepOutcome> {
  const t0 = performance.now();
  const base = identity(step);
  const done = (o: Omit<StepOutcome, keyof ReturnType<typeof identity> | "durationMs" | "startMs">): StepOutcome => ({
    ...base,
    startMs: t0 - ctx.started,
    durationMs: performance.now() - t0,
    ...o,
  });

  if (step.skipIfLoggedIn && loggedIn(step.skipIfLoggedIn, opts.env)) return done({ status: "skipped", attempts: 0 });
  // publish: tags that already hold the verified images stay untouched; all of them: nothing runs
  const { held, before } = step.moveTags
    ? await alreadyPublished(step.moveTags, ctx.registry.client, ctx.verified)
    : { held: new Map<string, string>(), before: new Map<string, string | null>() };
  if (step.moveTags && held.size === step.moveTags.tags.length) return done({ status: "unchanged", attempts: 0, digest: [...held.values()][0]! });
  if (step.doneIf && (await runCommand(step.doneIf, run)).ok) return done({ status: "unchanged", attempts: 0 });
  if (step.expect && "archive" in step.expect) {
    const path = resolve(run.cwd, step.expect.archive);
    if (!existsSync(path)) return done({ status: "failed", attempts: 1, error: `${step.expect.archive} was not written` });
    const check = checkArchive(path, step.expect.platforms);
    return done({ status: check.ok ? "ok" : "failed", attempts: 1, check, ...(check.ok ? {} : { error: platformError(check) }) });
  }
  if (step.read && step.expect && "ref" in step.expect) return done(await verifyRead(step.read, step.expect, run, opts, ctx));
  if (step.layout || step.index || step.copy || step.moveTags) {
    const outcome = done(await withRegistryRetry(run, opts, () => (step.moveTags ? moveTags(step.moveTags, run, ctx, held) : pushByDigest(step, run, ctx))));
    // what each tag it moved held: read just before the move, and as the run started (report.ts's tagWarnings says what differs)
    const start = step.moveTags ? await ctx.atStart() : new Map<string, string | null>();
    for (const [tag, previous] of before) {
      if (!ctx.moved.has(tag)) continue;
      const was = start.get(tag);
      ctx.replaced.set(tag, { previous, ...(was !== undefined && was !== previous ? { heldAtStart: was } : {}) });
    }
    return outcome;
  }

  let attempts = 0; // the most any one command needed
  let last: RunResult | undefined;
  for (const [i, written] of step.commands.entries()) {
    const cmd = step.kind === "cleanup" ? leftByThisRun(written, run) : written;
    if (!cmd) continue;
    const retry = opts.retry ?? DEFAULT_RETRY;
    for (let tries = 1; ; tries++) {
      attempts = Math.max(attempts, tries);
      // `docker manifest` keeps lists in $DOCKER_CONFIG/manifests: two runs at once would amend each other's
      const running = () => runCommand(cmd, cmd.args[0] === "manifest" ? { ...run, env: ctx.manifestEnv } : run);
      // two loads of one archive at once (each platform's test) fail one on a containerd image store ("already exists")
      last = cmd.args[0] === "load" && typeof cmd.args[2] === "string" ? await oneAtATime(ctx.loads, cmd.args[2], running) : await running();
      if (last.ok || cmd.mayFail || last.reason !== "exit" || tries >= retry.attempts || !isTransient(step.kind, last.stdout, last.stderr)) break;
      await sleep(backoffMs(retry, tries), run.signal);
    }
    if (!last.ok && !cmd.mayFail) {
      // a bake builds every target at once: its log says which one broke; a build's, where (its Dockerfile line)
      const targets =
        step.kind === "bake" && step.targets
          ? { targets: readBakeLog(last.stderr, step.targets, ctx.dependsOn, ...bakeDockerfiles(run.cwd, step.inputs[0])) }
          : {};
      const said = step.kind === "build" && step.image ? readBakeLog(last.stderr, [step.image])[0]?.error : undefined;
      const quoted = said?.startsWith(" > [") ? said : undefined;
      // a test's own words may be on either stream (docker run --quiet keeps the pull's off them)
      const output = step.kind === "test" ? [last.stdout, last.stderr].filter((s) => s.trim()).join("\n") : last.stderr || last.stdout;
      return done({ status: "failed", attempts, error: failure(cmd, last), stderrTail: quoted ?? lastLines(output), ...targets });
    }
    if (cmd.moves && last.ok) ctx.moved.set(cmd.moves, movedTo(step, i, ctx));
  }
  if (step.yields && last?.ok) {
    // the digest a push printed, on either stream
    const problem = recordYields(step, `${last.stdout}\n${last.stderr}`, ctx);
    if (problem) return done({ status: "failed", attempts, error: problem });
  }
  return done({ status: "ok", attempts, ...(step.kind === "test" && last?.ok ? { output: last.stdout.trim().slice(0, 400) } : {}) });
}

const isBuilt = (a: Arg): a is Built => typeof a === "object" && "built" in a;

/** fn once every earlier call of the same key has settled: one at a time per key. */
function oneAtATime<T>(chains: Map<string, Promise<unknown>>, key: string, fn: () => Promise<T>): Promise<T> {
  const next = (chains.get(key) ?? Promise.resolve()).then(fn, fn);
  chains.set(
    key,
    next.catch(() => undefined),
  );
  return next;
}

/**
 * A clean-up command without the images this run did not build, which it never pulled either (a run
 * stopped before, an image --continue held back): the others still leave the engine. None left: nothing runs.
 */
function leftByThisRun(cmd: Command, run: RunOptions): Command | undefined {
  const args = cmd.args.filter((a) => !isBuilt(a) || run.built?.(a.built) !== undefined);
  if (args.length === cmd.args.length) return cmd;
  return args.some(isBuilt) ? { ...cmd, args } : undefined;
}

/**
 * The images the plan's clean-up would remove from the engine now (`docker image rm [--force] NAME…`),
 * resolved: the run's record says them, for the next run if this one ends without its clean-up.
 */
function engineLeftovers(plan: Plan, run: RunOptions): string[] {
  const commands = plan.stages.flatMap((s) => s.steps.filter((st) => st.kind === "cleanup").flatMap((st) => st.commands));
  return commands.flatMap((written) => {
    const cmd = leftByThisRun(written, run);
    if (cmd?.program !== "docker" || cmd.args[0] !== "image" || cmd.args[1] !== "rm") return [];
    try {
      return cmd.args
        .slice(2)
        .map((a) => resolveArg(a, run))
        .filter((a) => !a.startsWith("-"));
    } catch (e) {
      if (e instanceof UnresolvedRef) return [];
      throw e;
    }
  });
}

/**
 * A bake target's Dockerfile, where the bake file (relative to `cwd`, as bake reads it) puts it: its text
 * (undefined when unreadable: BuildKit's name stands), and its name as BuildKit's excerpts give it.
 */
function bakeDockerfiles(cwd: string, bakeFile: string | undefined): [(target: string) => string | undefined, (target: string) => string] {
  let targets: Record<string, { context?: string; dockerfile?: string }> | undefined;
  const targetOf = (target: string) => {
    try {
      targets ??= (JSON.parse(readFileSync(resolve(cwd, bakeFile ?? ""), "utf8")) as { target?: typeof targets }).target ?? {};
    } catch {
      targets = {};
    }
    return targets[target];
  };
  const texts = new Map<string, string | undefined>();
  const text = (target: string) => {
    if (!texts.has(target)) {
      const t = targetOf(target);
      try {
        texts.set(target, t ? readFileSync(resolve(cwd, t.context ?? ".", t.dockerfile ?? "Dockerfile"), "utf8") : undefined);
      } catch {
        texts.set(target, undefined);
      }
    }
    return texts.get(target);
  };
  // BuildKit names it by its file name ("c.Dockerfile:2" for ../c.Dockerfile)
  return [text, (target) => basename(targetOf(target)?.dockerfile ?? "Dockerfile")];
}

const failure = (cmd: Command, r: Exclude<RunResult, { ok: true }>) => `${showCommand(cmd)}: ${r.message}`;
const platformError = (c: PlatformCheck) =>
  [
    c.missing.length ? `missing ${c.missing.join(", ")}` : "",
    c.extra.length ? `unexpected ${c.extra.join(", ")}` : "",
    c.mismatched.length ? `config architecture differs for ${c.mismatched.join(", ")}` : "",
  ]
    .filter(Boolean)
    .join("; ");

/**
 * The user tags that already hold exactly the verified images (the same index, or the same image
 * manifest per platform; only the very index when it was signed), with the digest each holds (`held`),
 * and what the others hold (`before`; null: no such tag). Read in-process over the registry API: a
 * missing tag, an unreadable one (in neither map), or any difference means publishing.
 */
async function alreadyPublished(
  u: NonNullable<Step["moveTags"]>,
  client: RegistryClient,
  verified: ReadonlyMap<string, PlatformCheck>,
): Promise<{ held: Map<string, string>; before: Map<string, string | null> }> {
  const held = new Map<string, string>();
  const before = new Map<string, string | null>();
  const want = verified.get(u.staging);
  if (!want) return { held, before };
  await Promise.all(
    u.tags.map(async (t) => {
      try {
        const now = await readTag(client, t);
        if (!now) {
          before.set(t, null);
          return;
        }
        const same =
          now.digest === want.digest ||
          (!u.signed && want.found.length > 0 && JSON.stringify(sortKeys(now.manifests ?? {})) === JSON.stringify(sortKeys(want.manifests)));
        (same ? held : before).set(t, now.digest);
      } catch {
        // unreadable: published
      }
    }),
  );
  return { held, before };
}

const sortKeys = (o: Record<string, string>) => Object.fromEntries(Object.entries(o).sort(([a], [b]) => a.localeCompare(b)));

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((res) => {
    const t = setTimeout(res, ms);
    const stop = () => {
      clearTimeout(t);
      res();
    };
    signal?.addEventListener("abort", stop, { once: true });
  });
