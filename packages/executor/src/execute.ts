// Runs a plan: stages in order, the steps of a stage in parallel (bounded), the commands of a step in
// order. A failed stage stops the run before the next stage starts, so the publish stage (user tags)
// runs only when every build, verification and test before it passed.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import type { Command, Plan, Step, Yield } from "@multiarch/plan";
import { mapLimit } from "./concurrency.ts";
import { BlobLocations, pushIndex, pushLayout, repoOf, repositoryOf } from "./digest-push.ts";
import { dockerConfigFile, loggedIn } from "./docker-config.ts";
import { readTag } from "./published.ts";
import { RegistryClient, RegistryError } from "./registry.ts";
import { type Report, type StagedRef, summarize, tagOutcomes } from "./report.ts";
import { backoffMs, DEFAULT_RETRY, isTransient, lastLines, type RetryPolicy } from "./retry.ts";
import { type RunOptions, type RunResult, redactor, resolveRef, runCommand, showCommand } from "./runner.ts";
import { checkArchive, checkInspect, indexAnnotationProblems, type PlatformCheck } from "./verify.ts";

type Env = Readonly<Record<string, string | undefined>>;

export interface StepOutcome {
  id: string;
  kind: Step["kind"];
  image?: string;
  platform?: string;
  registry?: string;
  status: "ok" | "failed" | "skipped" | "unchanged" | "not-run";
  /** When the step started, in ms since the run started. */
  startMs: number;
  durationMs: number;
  /** publish, unchanged: the index the user tags already hold. */
  digest?: string;
  attempts: number;
  error?: string;
  /** Last lines of the failing command's stderr, redacted. */
  stderrTail?: string;
  check?: PlatformCheck;
  output?: string;
}

export type ExecEvent =
  | { type: "stage"; name: string; steps: number }
  | { type: "step-start"; step: Step }
  | { type: "step-end"; step: Step; outcome: StepOutcome }
  | { type: "line"; step: Step; line: string };

export interface ExecuteOptions {
  /** Folder that holds plan.json; commands run in plan.cwd relative to it. */
  planDir: string;
  env: Env;
  concurrency: number;
  signal?: AbortSignal;
  onEvent?: (e: ExecEvent) => void;
  /** Retry policy for transient registry errors; tests shorten the delays. */
  retry?: RetryPolicy;
}

/** Every secret value the plan's commands may meet, resolved now; those not set simply cannot leak. */
export function planRedactor(plan: Pick<Plan, "secrets">, cwd: string, env: Env): (s: string) => string {
  const values: string[] = [];
  for (const ref of plan.secrets) {
    try {
      values.push(resolveRef(ref, { cwd, env }));
    } catch {
      // unset or unreadable: the step that needs it fails and says so
    }
  }
  return redactor(values);
}

export async function executePlan(plan: Plan, opts: ExecuteOptions): Promise<Report> {
  const started = performance.now();
  const cwd = resolve(opts.planDir, plan.cwd);
  const outcomes = new Map<string, StepOutcome>();
  // What verification saw under each staging ref, for publish's "already there" check.
  const verified = new Map<string, PlatformCheck>();
  // What this run built or pushed under each staging ref (digest), and which of those reached a registry.
  const built = new Map<string, string>();
  const staged = new Map<string, StagedRef>();
  const moved = new Map<string, string>();
  let exitCode: Report["exitCode"] = 0;
  const redact = planRedactor(plan, cwd, opts.env);
  // buildx writes archives but does not create their folders.
  for (const img of plan.images) if (img.archive) mkdirSync(dirname(resolve(cwd, img.archive)), { recursive: true });
  // Files only this run reads and writes (bake's metadata): concurrent runs never share them.
  const runDir = mkdtempSync(join(tmpdir(), "multiarch-run-"));
  const manifestEnv = privateManifestStore(runDir, opts.env);
  const runOpts = (step: Step): RunOptions => ({
    cwd,
    env: opts.env,
    runDir,
    redact,
    verified: (v) => {
      const check = verified.get(v.verified);
      const digest = v.platform ? check?.manifests[v.platform] : check?.digest;
      return digest ? `${repoOf(v.verified)}@${digest}` : undefined;
    },
    built: (ref) => {
      const digest = built.get(ref);
      return digest ? `${repoOf(ref)}@${digest}` : undefined;
    },
    ...(opts.signal ? { signal: opts.signal } : {}),
    onLine: (line) => opts.onEvent?.({ type: "line", step, line }),
  });
  // one client for the run's pushes by digest: tokens and known blobs are shared between its steps
  const insecureHosts = [...new Set(plan.images.flatMap((i) => i.refs.filter((r) => r.insecure).map((r) => repositoryOf(r.name).host)))];
  const client = new RegistryClient({ env: opts.env, insecureHosts, ...(opts.signal ? { signal: opts.signal } : {}) });
  const registry = { client, blobs: new BlobLocations() };
  const ctx: StepContext = { verified, built, staged, moved, runDir, started, manifestEnv, registry };

  try {
    for (const stage of plan.stages) {
      if (exitCode !== 0) break;
      opts.onEvent?.({ type: "stage", name: stage.name, steps: stage.steps.length });
      // --concurrency bounds builds; pushes, reading indexes, smoke tests and tagging wait on the network and run wider.
      const heavy = stage.steps.some((s) => s.kind === "build" || s.kind === "bake");
      const results = await mapLimit(stage.steps, Math.max(1, heavy ? opts.concurrency : Math.max(opts.concurrency, 8)), async (step) => {
        opts.onEvent?.({ type: "step-start", step });
        const outcome = await runStep(step, runOpts(step), opts, ctx);
        if (outcome.check && step.expect && "ref" in step.expect) verified.set(step.expect.ref, outcome.check);
        outcomes.set(step.id, outcome);
        opts.onEvent?.({ type: "step-end", step, outcome });
        return outcome;
      });
      if (opts.signal?.aborted) exitCode = 130;
      else if (results.some((o) => o.status === "failed")) exitCode = results.some((o) => o.status === "failed" && o.kind === "verify") ? 3 : 2;
    }
  } finally {
    rmSync(runDir, { recursive: true, force: true });
  }
  const steps = plan.stages
    .flatMap((s) => s.steps)
    .map((s): StepOutcome => outcomes.get(s.id) ?? { ...identity(s), status: "not-run", startMs: 0, durationMs: 0, attempts: 0 });
  const tags = tagOutcomes(plan, outcomes, moved);
  return {
    ok: exitCode === 0,
    exitCode,
    durationMs: performance.now() - started,
    steps,
    images: summarize(plan, steps, built),
    tags,
    staged: [...staged.values()],
  };
}

interface StepContext {
  verified: Map<string, PlatformCheck>;
  built: Map<string, string>;
  staged: Map<string, StagedRef>;
  /** user tag -> the digest this run moved it to */
  moved: Map<string, string>;
  runDir: string;
  started: number;
  /** The environment `docker manifest` runs in: a docker config of this run's own (see privateManifestStore). */
  manifestEnv: Env;
  registry: { client: RegistryClient; blobs: BlobLocations };
}

/**
 * A docker config folder for this run alone, whose config.json is the user's (credentials, helpers), so
 * `docker manifest create --amend` of two concurrent runs never writes into one local list.
 */
function privateManifestStore(runDir: string, env: Env): Env {
  const dir = join(runDir, "docker-config");
  mkdirSync(dir, { recursive: true });
  const config = dockerConfigFile(env);
  if (existsSync(config)) symlinkSync(config, join(dir, "config.json"));
  return { ...env, DOCKER_CONFIG: dir };
}

const DIGEST = /sha256:[0-9a-f]{64}/;

/**
 * The digest a tag was moved to: its source's, when the command (or the `docker tag` before a legacy
 * push) copies one image by digest, e.g. a per-arch tag; else the verified index's.
 */
function movedTo(step: Step, i: number, ctx: StepContext): string {
  const cmd = step.commands[i]!;
  const copies = cmd.args[0] === "manifest" ? [] : [cmd, ...step.commands.slice(0, i).filter((c) => c.args[0] === "tag" && c.args[2] === cmd.moves)];
  for (const a of copies.flatMap((c) => c.args)) {
    if (typeof a !== "object") continue;
    if ("verified" in a && a.platform) return ctx.verified.get(a.verified)?.manifests[a.platform] ?? "";
    if ("built" in a) return ctx.built.get(a.built) ?? "";
  }
  return ctx.verified.get(step.unchangedIf?.staging ?? "")?.digest ?? "";
}

/** The digest a step produced under y.ref: from its last command's output or from a metadata file. */
function readYield(y: Yield, stdout: string, runDir: string): string | undefined {
  if (y.from === "output") {
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
  if (pushed) ctx.staged.set(ref, { ...(step.image ? { image: step.image } : {}), ref, digest });
  return undefined;
}

/**
 * A push by digest in-process (an OCI layout, or an index of pushed images): no tag. Retried like a
 * command for answers that may pass (5xx, 429, network); what was pushed is recorded under the step's ref.
 */
async function pushByDigest(step: Step, run: RunOptions, opts: ExecuteOptions, ctx: StepContext): Promise<Pick<StepOutcome, "status" | "attempts" | "error">> {
  const retry = opts.retry ?? DEFAULT_RETRY;
  const { client, blobs } = ctx.registry;
  for (let tries = 1; ; tries++) {
    try {
      let ref: string;
      let digest: string;
      if (step.layout) {
        ref = step.layout.ref;
        const pushed = await pushLayout(client, join(ctx.runDir, step.layout.dir), repositoryOf(repoOf(ref)), blobs);
        digest = pushed.descriptor.digest;
        const { present, mounted, uploaded } = pushed.blobs;
        run.onLine?.(`${digest}: blobs ${uploaded} uploaded, ${mounted} mounted, ${present} already there`, "stdout");
      } else {
        const index = step.index!;
        ref = index.ref;
        const sources = index.sources.map((s) => (typeof s === "string" ? s : run.built?.(s.built)));
        const missing = index.sources.find((_s, i) => !sources[i]);
        if (missing) return { status: "failed", attempts: tries, error: `${JSON.stringify(missing)} was not pushed by this run` };
        digest = await pushIndex(client, repositoryOf(repoOf(ref)), sources as string[], index.annotations);
      }
      const problem = record(step, ref, digest, true, ctx);
      return problem ? { status: "failed", attempts: tries, error: problem } : { status: "ok", attempts: tries };
    } catch (e) {
      const status = e instanceof RegistryError ? e.status : undefined;
      const transient = e instanceof RegistryError && (status === undefined || status >= 500 || status === 429);
      if (!transient || tries >= retry.attempts || run.signal?.aborted)
        return { status: "failed", attempts: tries, error: run.redact?.((e as Error).message) ?? (e as Error).message };
      await sleep(backoffMs(retry, tries), run.signal);
    }
  }
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
  if (step.unchangedIf) {
    const held = await alreadyPublished(step.unchangedIf, opts.env, ctx.verified);
    if (held) return done({ status: "unchanged", attempts: 0, digest: held });
  }
  if (step.expect && "archive" in step.expect) {
    const path = resolve(run.cwd, step.expect.archive);
    if (!existsSync(path)) return done({ status: "failed", attempts: 1, error: `${step.expect.archive} was not written` });
    const check = checkArchive(path, step.expect.platforms);
    return done({ status: check.ok ? "ok" : "failed", attempts: 1, check, ...(check.ok ? {} : { error: platformError(check) }) });
  }
  if (step.layout || step.index) return done(await pushByDigest(step, run, opts, ctx));

  let attempts = 0; // the most any one command needed
  let last: RunResult | undefined;
  for (const [i, cmd] of step.commands.entries()) {
    const retry = opts.retry ?? DEFAULT_RETRY;
    for (let tries = 1; ; tries++) {
      attempts = Math.max(attempts, tries);
      // `docker manifest` keeps lists in $DOCKER_CONFIG/manifests: two runs at once would amend each other's
      last = await runCommand(cmd, cmd.args[0] === "manifest" ? { ...run, env: ctx.manifestEnv } : run);
      if (last.ok || cmd.mayFail || last.reason !== "exit" || tries >= retry.attempts || !isTransient(step.kind, last.stdout, last.stderr)) break;
      await sleep(backoffMs(retry, tries), run.signal);
    }
    if (!last.ok && !cmd.mayFail) return done({ status: "failed", attempts, error: failure(cmd, last), stderrTail: lastLines(last.stderr || last.stdout) });
    if (cmd.moves && last.ok) ctx.moved.set(cmd.moves, movedTo(step, i, ctx));
  }
  if (step.yields && last?.ok) {
    const problem = recordYields(step, last.stdout, ctx);
    if (problem) return done({ status: "failed", attempts, error: problem });
  }
  if (step.kind === "verify" && step.expect && "ref" in step.expect && last?.ok) {
    let check: PlatformCheck;
    try {
      check = checkInspect(last.stdout, step.expect.platforms);
    } catch {
      return done({ status: "failed", attempts, error: `could not read the index of ${step.expect.ref}`, stderrTail: lastLines(last.stdout) });
    }
    // merge: the index must hold exactly the images the shards pushed, not merely the right platforms
    const want = step.expect.manifests ?? {};
    const other = Object.entries(want)
      .filter(([p, d]) => check.manifests[p] !== undefined && check.manifests[p] !== d)
      .map(([p]) => p);
    if (check.ok && other.length) {
      return done({
        status: "failed",
        attempts,
        check,
        error: `${step.expect.ref} holds other images than the shards pushed for ${other.join(", ")} (another merge at once?)`,
      });
    }
    const annotations = check.ok && step.expect.annotations ? indexAnnotationProblems(last.stdout, step.expect.annotations) : [];
    if (annotations.length) return done({ status: "failed", attempts, check, error: `the index of ${step.expect.ref}: annotation ${annotations.join(", ")}` });
    return done({ status: check.ok ? "ok" : "failed", attempts, check, ...(check.ok ? {} : { error: platformError(check) }) });
  }
  return done({ status: "ok", attempts, ...(step.kind === "test" && last?.ok ? { output: last.stdout.trim().slice(0, 400) } : {}) });
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
 * Whether every user tag already holds exactly the verified images (same platform manifests); then the
 * digest they hold. A missing tag or any difference: undefined.
 */
/**
 * Whether every user tag already holds exactly the verified images (the same index, or the same image
 * manifest per platform); then the digest they hold. Read in-process over the registry API: a missing
 * tag, an unreadable one, or any difference means publishing.
 */
async function alreadyPublished(u: NonNullable<Step["unchangedIf"]>, env: Env, verified: ReadonlyMap<string, PlatformCheck>): Promise<string | undefined> {
  const want = verified.get(u.staging);
  if (!want) return undefined;
  const host = (ref: string) => ref.slice(0, ref.indexOf("/"));
  const client = new RegistryClient({ env, insecureHosts: u.insecure ? [...new Set(u.tags.map(host))] : [] });
  const held = await Promise.all(
    u.tags.map(async (t) => {
      try {
        const now = await readTag(client, t);
        if (!now) return undefined;
        const same =
          now.digest === want.digest || (want.found.length > 0 && JSON.stringify(sortKeys(now.manifests ?? {})) === JSON.stringify(sortKeys(want.manifests)));
        return same ? now.digest : undefined;
      } catch {
        return undefined;
      }
    }),
  );
  return held.every((d) => d !== undefined) ? held[0] : undefined;
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
