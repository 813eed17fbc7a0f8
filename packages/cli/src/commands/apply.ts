import { appendFileSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import { dirname, resolve } from "node:path";
import type { EngineFacts, ExecEvent, Lock, Report } from "@multiarch/executor";
import { asPlan, type Plan, parsePlanFile } from "@multiarch/plan";
import { type CommandContext, EXIT, type Outcome, plural, type Values } from "../context.ts";
import { displayPath, type Io, seconds, style, table } from "../format.ts";
import { htmlReport, stepSummary } from "../html-report.ts";
import { githubOutputLines, metadataOf } from "../metadata.ts";
import { compileAndWrite, hostPlatform } from "./load.ts";
import { lockedOutcome } from "./lock.ts";
import { summary } from "./plan.ts";

const FIXED_BY_PLAN = ["image", "group", "platform", "strategy", "out", "load", "no-publish", "file", "rebuild", "since", "shard"] as const;

export const concurrencyOf = (values: Values): number | undefined => {
  const n = values.concurrency === undefined ? availableParallelism() : Number(values.concurrency);
  return Number.isInteger(n) && n >= 1 ? n : undefined;
};

export default async function apply(ctx: CommandContext): Promise<Outcome> {
  const { values, io } = ctx;
  const concurrency = concurrencyOf(values);
  if (concurrency === undefined) return { exit: EXIT.usage, message: "--concurrency takes a whole number >= 1" };
  if (typeof values.plan === "string") {
    const fixed = FIXED_BY_PLAN.filter((f) => values[f] !== undefined);
    if (fixed.length)
      return {
        exit: EXIT.usage,
        message: `${fixed.map((f) => `--${f}`).join(", ")} cannot change a saved plan; run multiarch plan with ${fixed.length === 1 ? "it" : "them"}, then apply --plan`,
      };
  }
  if (values.shard) return (await import("./shard.ts")).default(ctx, concurrency);
  const { acquireLock } = await import("@multiarch/executor");
  const loaded = await planFor(values, io, (specFile) => acquireLock(specFile));
  if ("outcome" in loaded) return loaded.outcome;
  const { plan, planDir, lock, warnings } = loaded;
  try {
    return await runPlan(ctx, plan, planDir, concurrency, warnings, loaded.engine);
  } finally {
    lock.release();
  }
}

type Loaded = { plan: Plan; planDir: string; engine?: EngineFacts; lock: Extract<Lock, { ok: true }>; warnings: Outcome["warnings"] } | { outcome: Outcome };

/** Reads --plan, or compiles the spec; the spec's lock is taken before anything is written. */
async function planFor(values: Values, io: Io, lockOf: (specFile: string) => Lock): Promise<Loaded> {
  if (typeof values.plan === "string") {
    const file = resolve(io.cwd, values.plan);
    let json: unknown;
    try {
      json = JSON.parse(readFileSync(file, "utf8"));
    } catch (e) {
      return { outcome: { exit: EXIT.usage, message: `cannot read plan ${displayPath(file, io.cwd)}: ${(e as Error).message}` } };
    }
    const parsed = parsePlanFile(json);
    if (!parsed.ok)
      return {
        outcome: {
          exit: EXIT.usage,
          message: `${displayPath(file, io.cwd)} cannot be run (write it again with multiarch plan):\n${parsed.problems.map((p) => `  ${p}`).join("\n")}`,
        },
      };
    const planDir = dirname(file);
    const lock = lockOf(resolve(planDir, parsed.plan.spec));
    if (!lock.ok) return { outcome: lockedOutcome(lock, io) };
    return { plan: asPlan(parsed.plan), planDir, lock, warnings: [] };
  }
  const prepared = await compileAndWrite(values, io, "apply");
  if (!prepared.ok) return { outcome: prepared.outcome };
  const err = style(io, "stderr");
  for (const p of prepared.problems) io.stderr.write(err.yellow(`warning: could not read ${p}; its image is built\n`));
  if (values.explain) io.stderr.write(`${explain(prepared.plan)}\n`);
  return {
    plan: prepared.plan,
    planDir: prepared.outAbs,
    ...(prepared.engine ? { engine: prepared.engine } : {}),
    lock: prepared.lock,
    warnings: prepared.warnings,
  };
}

export async function runPlan(
  ctx: CommandContext,
  plan: Plan,
  planDir: string,
  concurrency: number,
  warnings: Outcome["warnings"],
  probed?: EngineFacts,
): Promise<Outcome> {
  const { values, io, signal, json } = ctx;
  const { checkEmulation, executePlan, preflight, showCommand, showDigestPush, probeEngine } = await import("@multiarch/executor");
  if (values["dry-run"]) {
    const dryRun = plan.stages.flatMap((stage) =>
      stage.steps.flatMap((step) => {
        const inProcess = showDigestPush(step);
        if (inProcess) return [{ stage: stage.name, step: step.id, command: inProcess }];
        return step.commands.map((c) => ({ stage: stage.name, step: step.id, command: `${showCommand(c)}${c.mayFail ? "   # may fail" : ""}` }));
      }),
    );
    if (!json) {
      const out = [summary(plan, io)];
      for (const stage of plan.stages) out.push("", `# ${stage.name}`, ...dryRun.filter((d) => d.stage === stage.name).map((d) => d.command));
      io.stdout.write(`${out.join("\n")}\n`);
    }
    return { exit: EXIT.ok, warnings, data: { plan, dryRun } };
  }

  // Preflight: nothing starts unless the engine can run what was planned.
  const engine = probed ?? (await probeEngine(resolve(planDir, plan.cwd), io.env));
  // A builder on this machine's kernel runs foreign RUN steps through binfmt_misc: check the QEMU
  // handlers now rather than fail halfway with "exec format error".
  const localKernel = (!io.env.DOCKER_HOST || io.env.DOCKER_HOST.startsWith("unix://")) && (engine.driver === "docker" || engine.driver === "docker-container");
  const platforms = [...new Set(plan.images.flatMap((i) => i.platforms))];
  const emulation =
    engine.reachable && localKernel ? checkEmulation(platforms, io.env.MULTIARCH_BINFMT_DIR ? { binfmtDir: io.env.MULTIARCH_BINFMT_DIR } : {}) : [];
  const problem = preflight(plan, engine, emulation);
  if (problem) return { exit: EXIT.environment, message: problem, warnings };

  const err = style(io, "stderr");
  // Long steps (a bake under QEMU can take many minutes) say they are alive every 30 s.
  const running = new Map<string, number>();
  const heartbeat = setInterval(() => {
    for (const [id, since] of running) io.stderr.write(err.dim(`   ${id} still running (${Math.round((Date.now() - since) / 1000)}s)\n`));
  }, 30_000);
  heartbeat.unref();
  const progress = (e: ExecEvent) => {
    if (e.type === "step-start" && !values.verbose) running.set(e.step.id, Date.now());
    if (e.type === "step-end") running.delete(e.step.id);
    if (e.type === "stage") io.stderr.write(`${err.bold(`== ${e.name}`)} ${err.dim(`(${plural(e.steps, "step")})`)}\n`);
    else if (e.type === "step-start") io.stderr.write(`   ${e.step.id} ...\n`);
    else if (e.type === "line" && values.verbose) io.stderr.write(err.dim(`   | ${e.line}\n`));
    else if (e.type === "step-end") {
      const o = e.outcome;
      const mark = o.status === "ok" ? err.green("ok") : o.status === "skipped" || o.status === "unchanged" ? err.dim(o.status) : err.red("FAILED");
      io.stderr.write(`   ${e.step.id} ${mark} ${err.dim(seconds(o.durationMs))}${o.attempts > 1 ? err.dim(` (${o.attempts} attempts)`) : ""}\n`);
      if (o.status === "failed") {
        io.stderr.write(`     ${err.red(o.error ?? "failed")}\n`);
        if (o.stderrTail) io.stderr.write(`${o.stderrTail.replace(/^/gm, "     | ")}\n`);
        if (o.check) io.stderr.write(`${checkTable(o.check, e.step.expect?.platforms ?? []).replace(/^/gm, "     ")}\n`);
      }
    }
  };
  let report: Report;
  try {
    report = await executePlan(plan, { planDir, env: io.env, concurrency, signal, onEvent: progress });
  } finally {
    clearInterval(heartbeat);
  }
  const text = finalSummary(report, io);
  if (json) io.stderr.write(`${text}\n`);
  else io.stdout.write(`${text}\n`);
  // a shard's result is its shard file; merge writes the metadata and report of what it published
  const unwritten = values.shard ? undefined : (writeMetadata(values, io, report) ?? writeReports(ctx, report, plan, planDir));
  const { steps, images, tags, staged, durationMs } = report;
  return {
    exit: report.exitCode || (unwritten ? EXIT.usage : EXIT.ok),
    ...(unwritten ? { message: unwritten } : {}),
    warnings,
    data: { plan, report: { strategy: plan.strategy, durationMs, steps, images, tags, staged } },
  };
}

/**
 * --metadata-file FILE, and under GitHub Actions $GITHUB_OUTPUT: what was published, for signing and
 * attesting. Written on failure too (statuses say what happened). A file that cannot be written is exit 1.
 */
function writeMetadata(values: Values, io: Io, report: Report): string | undefined {
  const meta = metadataOf(report);
  const file = typeof values["metadata-file"] === "string" ? resolve(io.cwd, values["metadata-file"]) : undefined;
  const github = io.env.GITHUB_ACTIONS === "true" ? io.env.GITHUB_OUTPUT : undefined;
  try {
    if (file) writeFileSync(file, `${JSON.stringify(meta, null, 2)}\n`);
    if (github) appendFileSync(github, githubOutputLines(meta));
  } catch (e) {
    return `cannot write the metadata: ${(e as Error).message}`;
  }
  return undefined;
}

/** --report FILE.html (written on failure too) and, under GitHub Actions, the job summary. */
function writeReports({ values, io }: CommandContext, report: Report, plan: Plan, planDir: string): string | undefined {
  const title = `multiarch ${typeof values.command === "string" ? values.command : "apply"}: ${displayPath(resolve(planDir, plan.spec), io.cwd)}`;
  try {
    if (typeof values.report === "string") {
      const file = resolve(io.cwd, values.report);
      mkdirSync(dirname(file), { recursive: true });
      writeFileSync(file, htmlReport(report, plan, { title, hostPlatform: hostPlatform(), generatedAt: new Date().toISOString() }));
      io.stderr.write(`report: ${displayPath(file, io.cwd)}\n`);
    }
    if (io.env.GITHUB_STEP_SUMMARY) appendFileSync(io.env.GITHUB_STEP_SUMMARY, stepSummary(report, plan, title));
  } catch (e) {
    return `cannot write the report: ${(e as Error).message}`;
  }
  return undefined;
}

function checkTable(check: NonNullable<Report["steps"][number]["check"]>, expected: readonly string[]): string {
  const all = [...new Set([...expected, ...check.found])];
  return table(
    all.map((p) => [p, expected.includes(p) ? "yes" : "no", check.found.includes(p) ? "yes" : "no", check.mismatched.includes(p) ? "config arch differs" : ""]),
    ["platform", "requested", "pushed", ""],
  );
}

export function finalSummary(report: Report, io: Io): string {
  const s = style(io, "stdout");
  const good = new Set(["published", "written", "loaded", "verified", "built"]);
  const rows = report.images.map((i) => [
    i.name,
    good.has(i.status) ? s.green(i.status) : i.status === "unchanged" || i.status === "up-to-date" ? s.dim(i.status) : s.red(i.status),
    i.platforms.join(","),
    i.digest ? i.digest.slice(0, 19) : "-",
    seconds(i.durationMs),
    i.tags.join(" "),
  ]);
  const out = ["", table(rows, ["image", "status", "platforms", "digest", "time", "tags"])];
  const held = report.images.filter((i) => i.notPublished);
  if (held.length) out.push("", ...held.map((i) => s.dim(`${i.name}: not published: ${i.notPublished}`)));
  const movedTags = report.tags.filter((t) => t.status === "moved");
  if (report.exitCode === 0) {
    if (report.images.length && report.images.every((i) => i.status === "unchanged" || i.status === "up-to-date"))
      out.push("", s.green(`nothing changed: every tag already held these images (${seconds(report.durationMs)})`));
    else if (held.length === report.images.length) out.push("", s.green(`built and verified in ${seconds(report.durationMs)}; nothing published (see above)`));
    else out.push("", s.green(`done in ${seconds(report.durationMs)}`));
    return out.join("\n");
  }
  const failed = report.steps.filter((st) => st.status === "failed");
  const notRun = report.steps.filter((st) => st.status === "not-run").length;
  // by digest: no tag names them (the key's tag part is the run's own bookkeeping)
  if (report.staged.length)
    out.push("", s.dim(`pushed by this run: ${report.staged.map((r) => `${r.ref.slice(0, r.ref.lastIndexOf(":"))}@${r.digest}`).join(" ")}`));
  const why = report.exitCode === 130 ? "interrupted" : `${plural(failed.length, "step")} failed (${failed.map((f) => f.id).join(", ")}), ${notRun} not run`;
  const tagsLine = movedTags.length
    ? `; these tags had already moved to the new, verified images: ${movedTags.map((t) => t.ref).join(" ")}; a re-run moves the rest (${report.tags.filter((t) => t.status === "not-moved").length} left)`
    : "; no user tag was moved";
  out.push("", s.red(`${why}${tagsLine}`));
  return out.join("\n");
}

/** Per image: up to date, reused from another tag, or built, and why; and the tags this run does not give. */
export function explain(plan: Plan): string {
  return plan.images.map((i) => `${why(i)}${i.droppedTags?.length ? `\n${i.name}: no tag from ${i.droppedTags.join(", ")} in this run` : ""}`).join("\n");
}

function why(i: Plan["images"][number]): string {
  if (i.upToDate) return `${i.name}: up to date (${i.upToDate.digest.slice(0, 19)}): every tag holds the result of these inputs`;
  if (i.reuse)
    return `${i.name}: unchanged inputs already published as ${Object.entries(i.reuse)
      .map(([n, d]) => `${n}@${d.slice(0, 19)}`)
      .join(", ")}: published without building`;
  if (i.notPublished) return `${i.name}: built, not published (${i.notPublished})`;
  return `${i.name}: built: ${i.changed?.length ? `changed: ${i.changed.join(", ")}` : "--rebuild, or no input facts"}`;
}
