// plan, apply and merge: load the spec, take its lock, ask the engine and git, pick the strategy, compile
// (twice for apply: again with each image's input facts), check secret sources, write the artifacts.
import { builderOf, resolveStrategy, selectImages } from "@multiarch/compiler";
import type { Lock } from "@multiarch/executor";
import type { ArchPlan, EngineFacts, Plan } from "@multiarch/plan";
import type { Diagnostic, Spec } from "@multiarch/spec";
import { EXIT, type Outcome } from "../context.ts";
import type { Io } from "../format.ts";
import type { PlanShape } from "../options.ts";
import { archivesOf, writeArtifacts } from "./artifacts.ts";
import { builderHowTo } from "./builder-help.ts";
import { compileWith, requestedStrategy } from "./compile.ts";
import { gitFacts } from "./git-facts.ts";
import { incrementalFacts } from "./incremental.ts";
import { loadSpecOf, outDirOf } from "./load-spec.ts";
import { lockedOutcome } from "./lock.ts";
import { secretDiagnostics } from "./secret-sources.ts";
import { changedSince } from "./since.ts";

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
      /** apply, apply --shard: the files of an image's inputs that changed since they were hashed (read after each build). */
      changedInputs?: (image: string) => readonly string[];
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

/** Which command prepares, and whether it will only print the commands (no engine or secrets needed then). */
export interface PrepareJob {
  command: "plan" | "apply" | "merge";
  dryRun?: boolean;
  /** the run's Ctrl-C: it stops the engine probe too (a hung engine is asked for up to 15 s) */
  signal?: AbortSignal;
}

/**
 * Load the spec, take its lock (before anything is written), ask the engine (always for apply; for plan
 * only when the strategy is auto), pick the strategy, compile, check secrets (apply), write the files.
 * plan: writes only; apply: asks the engine, hashes inputs, reads what tags hold; merge: asks the engine.
 * Reads no option but those that shape the plan (PlanShape).
 */
export async function compileAndWrite(shape: PlanShape, io: Io, job: PrepareJob): Promise<Prepared> {
  let values = shape;
  const mode = job.command;
  const timings: Timing[] = [];
  const since = (phase: string, t0: number) => timings.push({ phase, ms: performance.now() - t0 });
  let t0 = performance.now();
  const { acquireLock, acquireOutputLock, defaultOutProblem, engineInfoOverSocket, probeEngine } = await import("@multiarch/executor");
  // The engine is asked while the spec is read, unless no strategy but auto could need it; a spec that
  // names its strategy withdraws the question.
  const withdraw = new AbortController();
  const asking = job.signal ? AbortSignal.any([withdraw.signal, job.signal]) : withdraw.signal;
  const early = mode !== "plan" || (values.strategy ?? "auto") === "auto" ? engineInfoOverSocket(io.env, asking) : undefined;
  // one turn of the event loop: the socket connects and the request goes out now, so the engine
  // answers while the spec is read (reading it blocks the loop, and the request would wait for it)
  if (early) await new Promise((resolve) => setImmediate(resolve));
  const loaded = loadSpecOf(values, io);
  const leave = (outcome: Outcome): Prepared => {
    withdraw.abort();
    return { ok: false, outcome };
  };
  if (!loaded.ok) return leave({ exit: EXIT.usage, errors: loaded.errors, warnings: loaded.warnings });
  const spec = loaded.spec;
  const requested = requestedStrategy(values, spec);
  if (typeof requested === "object") return leave({ exit: EXIT.usage, message: requested.error, warnings: loaded.warnings });
  // a selection that names nothing is the user's mistake whatever the engine says: not kept waiting for it
  const selection = selectImages(spec, { images: values.image, groups: values.group, platforms: values.platform });
  if (!selection.ok) return leave({ exit: EXIT.usage, errors: selection.errors, warnings: loaded.warnings });
  const lock = acquireLock(spec.file);
  if (!lock.ok) return leave(lockedOutcome(lock, io));
  // the spec's lock, and from when the output folder is known, that folder's too
  let release = () => lock.release();
  const fail = (outcome: Outcome): Prepared => {
    release();
    return leave(outcome);
  };
  const dryRun = job.dryRun === true;
  void gitFacts(spec, io); // started now, beside the engine probe; compileWith reads it
  since("read the spec", t0);
  t0 = performance.now();
  const askEngine = mode !== "plan" || requested === "auto";
  if (!askEngine) withdraw.abort();
  const engine = askEngine ? await probeEngine(spec.dir, io.env, spec.build.builder, early, job.signal) : undefined;
  if (job.signal?.aborted) return fail({ exit: EXIT.interrupted, message: "stopped while asking the engine: nothing was built or written" });
  since("ask the engine, git", t0);
  // merge builds nothing: its steps run in-process (run-plan asks for an engine only if a step needs one)
  if (mode !== "plan" && mode !== "merge" && !dryRun && engine && (!engine.reachable || engine.builderMissing)) {
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
    const asked = values.image;
    const images = since.images.filter((n) => !asked || asked.includes(n));
    if (images.length === 0) {
      // --image narrowed what changed to nothing: say which changed, not that none did
      const others = asked && since.images.length ? `; changed, but not asked for with --image: ${since.images.join(", ")}` : "";
      const which = asked ? `none of ${asked.join(", ")}` : "no image's inputs";
      return fail({ exit: EXIT.ok, message: `${which} changed since ${values.since}: nothing to do${others}`, data: { changed: [] } });
    }
    io.stderr.write(`changed since ${values.since}: ${images.join(", ")}\n`);
    values = { ...values, image: images };
  }
  const outAbs = outDirOf(values, io, spec);
  // -o names a folder the user chose, link or not; the default one is the repository's, which may commit a link
  const linked = values.out === undefined ? defaultOutProblem(outAbs) : undefined;
  if (linked) return fail({ exit: EXIT.environment, message: linked });
  let outLock: Lock;
  try {
    outLock = acquireOutputLock(outAbs, spec.file);
  } catch (e) {
    // a folder that cannot be made or written: said by the CLI
    release();
    throw e;
  }
  if (!outLock.ok) return fail(lockedOutcome(outLock, io, outAbs));
  const held = outLock;
  release = () => {
    held.release();
    lock.release();
  };
  t0 = performance.now();
  let result = await compileWith(spec, values, io, strategy, outAbs, mode);
  since("compile", t0);
  const problems: string[] = [];
  let changedInputs: ((image: string) => readonly string[]) | undefined;
  if (mode !== "plan" && result.ok) {
    // Incremental: hash each image's inputs, read what its tags hold, and compile again with both. A
    // shard builds every image of its platform: the merge needs all of them. merge: the hashes alone,
    // which every shard must have built from.
    const hashOnly = mode === "merge" || values.rebuild === true || values.shard !== undefined;
    const incremental = await incrementalFacts(spec, result.compiled.plan, io, hashOnly, since, outAbs);
    // a registry this run pushes to (each tag read is one it publishes) that did not answer: the build would
    // end in a push that waits as long again; registries that answered with an error are warned about
    const silent = Object.entries(incremental.unanswered);
    if (silent.length && !dryRun)
      return fail({
        exit: EXIT.failed,
        message: `${silent.map(([host, error]) => `registry ${host} did not answer: ${error}`).join("; ")}; nothing was built or published (multiarch doctor checks each registry)`,
      });
    problems.push(...incremental.problems);
    changedInputs = incremental.changedInputs;
    t0 = performance.now();
    result = await compileWith(spec, values, io, strategy, outAbs, mode, incremental.facts);
    since("compile with input facts", t0);
  }
  const secrets = mode !== "plan" && !dryRun && result.ok ? secretDiagnostics(spec, io.env, "error", result.compiled.plan) : [];
  const warnings = [...loaded.warnings, ...result.warnings];
  if (!result.ok || secrets.length) return fail({ exit: EXIT.usage, errors: [...(result.ok ? [] : result.errors), ...secrets], warnings });
  // What runs is on disk too: .multiarch/plan.json always matches the last apply.
  t0 = performance.now();
  let files: string[];
  try {
    files = writeArtifacts(outAbs, result.compiled.files, archivesOf(result.compiled.plan, spec.dir));
  } catch (e) {
    // a folder that cannot be written (a link refused, a read-only file system): said by the CLI, the locks released
    release();
    throw e;
  }
  since("write the plan", t0);
  return {
    ok: true,
    spec,
    plan: result.compiled.plan,
    archPlans: result.compiled.archPlans,
    files,
    outAbs,
    engine,
    lock: { ...lock, release },
    warnings,
    problems,
    timings,
    ...(changedInputs ? { changedInputs } : {}),
  };
}
