// Running a compiled plan, for every command that runs one (apply, apply --shard, merge, promote):
// preflight, the executor with progress, the closing summary, metadata and reports.
import { appendFileSync, closeSync, lstatSync, openSync, rmSync, writeFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import { dirname, resolve } from "node:path";
import { type EngineFacts, type ExecEvent, makeDir, type Report, tagsLeft, tagWarnings } from "@multiarch/executor";
import type { Plan } from "@multiarch/plan";
import { diag } from "@multiarch/spec";
import { type CommandContext, EXIT, type Outcome, plural } from "../context.ts";
import { displayPath, type Io, sayWait, seconds, style, table } from "../format.ts";
import { htmlReport, stepSummary } from "../html-report.ts";
import { githubOutputLines, metadataOf } from "../metadata.ts";
import type { Values } from "../options.ts";
import { hostPlatform } from "./compile.ts";
import { summary } from "./plan-summary.ts";
import type { Timing } from "./prepare.ts";

/** The options a run reads (apply has them all; merge and promote some). */
type RunValues = Pick<Values<"apply">, "dry-run" | "verbose" | "continue" | "timings" | "shard" | "metadata-file" | "report">;

/** What runPlan needs of its command: which one it is (reports are titled with it), its options, its IO. */
export type RunContext = Pick<CommandContext, "io" | "signal" | "json"> & { command: "apply" | "merge" | "promote"; values: RunValues };

export const concurrencyOf = (values: Pick<Values<"apply">, "concurrency">): number | undefined => {
  const n = values.concurrency === undefined ? availableParallelism() : Number(values.concurrency);
  return Number.isInteger(n) && n >= 1 ? n : undefined;
};

/** What a run that compiled its plan knows already: the engine it asked, the phases before, the inputs it hashed. */
export interface KnownBefore {
  probed?: EngineFacts | undefined;
  before?: Timing[];
  /** The files of an image's inputs that changed since they were hashed (apply, apply --shard). */
  changedInputs?: (image: string) => readonly string[];
}

export async function runPlan(
  ctx: RunContext,
  plan: Plan,
  planDir: string,
  concurrency: number,
  warnings: Outcome["warnings"],
  { probed, before = [], changedInputs }: KnownBefore = {},
): Promise<Outcome> {
  const { values, io, signal, json } = ctx;
  const { checkEmulation, executePlan, kindTimings, preflight, showCommand, showInProcess, probeEngine, signerProblem } = await import("@multiarch/executor");
  if (values["dry-run"]) {
    const dryRun = plan.stages.flatMap((stage) =>
      stage.steps.flatMap((step) => {
        const inProcess = showInProcess(step);
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

  // Preflight: nothing starts unless the engine can run what was planned. A plan whose steps are all
  // in-process (merge, promote) or docker login (the CLI logs in without the engine) needs none.
  const needsEngine = plan.stages.some((s) => s.steps.some((st) => st.kind !== "login" && st.commands.some((c) => c.program === "docker")));
  const engine = needsEngine ? (probed ?? (await probeEngine(resolve(planDir, plan.cwd), io.env))) : undefined;
  // A builder on this machine's kernel runs foreign RUN steps through binfmt_misc: check the QEMU
  // handlers now rather than fail halfway with "exec format error".
  const localKernel =
    (!io.env.DOCKER_HOST || io.env.DOCKER_HOST.startsWith("unix://")) && (engine?.driver === "docker" || engine?.driver === "docker-container");
  const platforms = [...new Set(plan.images.flatMap((i) => i.platforms))];
  // merge and promote build and run nothing: no platform needs QEMU
  const runsImages = plan.stages.some((s) => s.steps.some((st) => st.kind === "bake" || st.kind === "build" || st.kind === "test"));
  const emulation =
    engine?.reachable && localKernel && runsImages
      ? checkEmulation(platforms, io.env.MULTIARCH_BINFMT_DIR ? { binfmtDir: io.env.MULTIARCH_BINFMT_DIR } : {})
      : [];
  // a plan that signs: cosign runs here, and the key opens and is the public key's pair (before any build)
  const engineProblem = engine && preflight(plan, engine, emulation);
  const signer = engineProblem ? undefined : await signerProblem(plan, { cwd: resolve(planDir, plan.cwd), env: io.env });
  const problem = engineProblem ?? (signer && `${signer.message}; ${signer.hint}`) ?? unwritable(values, io);
  if (problem) return { exit: EXIT.environment, message: problem, warnings };

  const err = style(io, "stderr");
  // Long steps (a bake under QEMU can take many minutes) say they are alive every 30 s.
  const running = new Map<string, number>();
  const heartbeat = setInterval(() => {
    for (const [id, since] of running) io.stderr.write(err.dim(`   ${id} still running (${Math.round((Date.now() - since) / 1000)}s)\n`));
  }, 30_000);
  heartbeat.unref();
  const onWait = sayWait(io);
  // said as the run starts; with --json, in the document's warnings instead (printed at the end too)
  const leftovers: string[] = [];
  const progress = (e: ExecEvent) => {
    if (e.type === "step-start" && !values.verbose) running.set(e.step.id, Date.now());
    if (e.type === "step-end") running.delete(e.step.id);
    if (e.type === "stage") io.stderr.write(`${err.bold(`== ${e.name}`)} ${err.dim(`(${plural(e.steps, "step")})`)}\n`);
    else if (e.type === "step-start") io.stderr.write(`   ${e.step.id} ...\n`);
    else if (e.type === "line" && values.verbose) io.stderr.write(err.dim(`   | ${e.line}\n`));
    else if (e.type === "note") io.stderr.write(`   ${e.step.id}: ${e.text}\n`);
    else if (e.type === "leftovers") {
      const lines = leftoversLines(e.swept, io);
      if (json) leftovers.push(...lines);
      else io.stderr.write(err.dim(`${lines.join("\n")}\n`));
    } else if (e.type === "wait") onWait(e.wait);
    else if (e.type === "step-end") {
      const o = e.outcome;
      // cut off by the interrupt: stopped, not broken
      const cut = o.status === "failed" && signal.aborted;
      const mark =
        o.status === "ok"
          ? err.green("ok")
          : o.status === "skipped" || o.status === "unchanged"
            ? err.dim(o.status)
            : cut
              ? err.yellow("stopped")
              : err.red("FAILED");
      io.stderr.write(
        `   ${e.step.id} ${mark} ${err.dim(o.reason ? `(${o.reason})` : seconds(o.durationMs))}${o.attempts > 1 ? err.dim(` (${o.attempts} attempts)`) : ""}\n`,
      );
      if (o.status === "failed" && cut) io.stderr.write(`     ${err.dim(o.error ?? "interrupted")}\n`);
      else if (o.status === "failed") {
        io.stderr.write(`     ${err.red(o.error ?? "failed")}\n`);
        if (o.stderrTail) io.stderr.write(`${o.stderrTail.replace(/^/gm, "     | ")}\n`);
        if (o.check) io.stderr.write(`${checkTable(o.check, e.step.expect?.platforms ?? []).replace(/^/gm, "     ")}\n`);
      }
    }
  };
  let report: Report;
  try {
    report = await executePlan(plan, {
      planDir,
      env: io.env,
      concurrency,
      signal,
      onEvent: progress,
      continueOnFailure: values.continue === true,
      ...(changedInputs ? { changedInputs } : {}),
    });
  } finally {
    clearInterval(heartbeat);
  }
  const timings: Timing[] = [...before, ...kindTimings(report.steps).map((k) => ({ phase: k.kind, ms: k.ms, steps: k.steps, sumMs: k.sumMs }))];
  const text = `${finalSummary(report, io)}${values.timings ? `\n\n${timingTable(timings, report.durationMs)}` : ""}`;
  if (json) io.stderr.write(`${text}\n`);
  else io.stdout.write(`${text}\n`);
  // a shard's result is its shard file; merge writes the metadata and report of what it published
  // both written, whatever the other did, and each failure named
  const failures = values.shard ? [] : [writeMetadata(values, io, report), writeReports(ctx, report, plan, planDir)].filter((f) => f !== undefined);
  const failedWrite = failures.length ? failures.join("; ") : undefined;
  // checked before the run, so this is rare (a full disk): the tags it moved stay moved, and it says so
  const moved = report.tags.filter((t) => t.status === "moved").length;
  const unwritten = failedWrite && `${failedWrite} (the run ${moved ? `moved ${plural(moved, "tag")}: see above` : "moved no tag"})`;
  const { steps, images, tags, staged, durationMs } = report;
  // a tag taken from another image (someone else's meanwhile, a release version's): printed after the summary, and in --json
  const at = { file: resolve(planDir, plan.spec), line: 0, col: 0 };
  const moves = tagWarnings(tags).map((w) => diag(w.code, at, w.message, { severity: "warning", hint: w.hint }));
  const swept = leftovers.map((line) => diag("run-leftovers", at, line, { severity: "warning" }));
  return {
    exit: report.exitCode || (unwritten ? EXIT.environment : EXIT.ok),
    // a failed run's message is its summary's last line (printed above), so --json says why too
    ...(unwritten ? { message: unwritten } : report.exitCode ? { message: stopLine(report), messageShown: true } : {}),
    warnings: [...(warnings ?? []), ...swept, ...moves],
    data: { plan, report: { strategy: plan.strategy, durationMs, steps, images, tags, staged, timings } },
  };
}

/**
 * What runs that ended without their clean-up (SIGKILL, a second Ctrl-C) left, in a line: what this run
 * removed; and a line for each such run whose command still runs (kept: said, never ended blindly).
 */
export function leftoversLines(swept: Extract<ExecEvent, { type: "leftovers" }>["swept"], io: Pick<Io, "cwd">): string[] {
  const lines: string[] = [];
  if (swept.runs) {
    const one = swept.runs === 1;
    const images = swept.images.length
      ? ` and ${swept.images.length === 1 ? "the image" : `the ${swept.images.length} images`} ${one ? "its" : "their"} tests pulled (${swept.images.join(" ")})`
      : "";
    lines.push(
      `cleaned up after ${plural(swept.runs, "run")} that ended without cleaning up: removed ${one ? "its folder" : "their folders"} (${megabytes(swept.bytes)})${images}`,
    );
  }
  for (const e of swept.emptied)
    lines.push(
      `emptied the folder of a run of ${e.spec ? displayPath(e.spec, io.cwd) : "another spec"} that ended without cleaning up (${megabytes(e.bytes)}): the ${e.images.length === 1 ? "image" : `${e.images.length} images`} its tests pulled (${e.images.join(" ")}) ${e.images.length === 1 ? "goes" : "go"} with that spec's next apply`,
    );
  for (const r of swept.running)
    lines.push(
      `a run that ended without cleaning up (pid ${r.pid}${r.spec ? `, ${displayPath(r.spec, io.cwd)}` : ""}) left ${plural(r.groups.length, "command")} running (process group ${r.groups.join(", ")}): its folder ${displayPath(r.dir, io.cwd)} is kept; end ${r.groups.length === 1 ? "it" : "them"} with ${r.groups.map((g) => `kill -- -${g}`).join("; ")}`,
    );
  return lines;
}

const megabytes = (bytes: number) => `${(bytes / 1e6).toFixed(1)} MB`;

/**
 * --metadata-file and --report name files to write after the run: their folders are made and each is
 * opened for writing now, so a path that cannot be written stops the run before anything moves.
 */
function unwritable(values: RunValues, io: Io): string | undefined {
  for (const [flag, path] of [
    ["--metadata-file", values["metadata-file"]],
    ["--report", values.report],
  ] as const) {
    if (path === undefined) continue;
    const file = resolve(io.cwd, path);
    try {
      makeDir(dirname(file));
      closeSync(openSync(file, "a"));
    } catch (e) {
      return `${flag} ${displayPath(file, io.cwd)} cannot be written (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}): nothing was run`;
    }
  }
  return undefined;
}

/**
 * A file written whole, or removed: a full disk left an empty metadata file, which CI would read as one
 * with nothing published (the file was opened, so made empty, before the run).
 */
function writeWhole(file: string, text: string): void {
  try {
    writeFileSync(file, text);
  } catch (e) {
    // (a device, /dev/full, is left alone)
    if (lstatSync(file, { throwIfNoEntry: false })?.isFile()) rmSync(file, { force: true });
    throw e;
  }
}

/**
 * --metadata-file FILE, and under GitHub Actions $GITHUB_OUTPUT: what was published, for signing and
 * attesting. Written on failure too (statuses say what happened). A file that cannot be written is exit 4.
 */
function writeMetadata(values: RunValues, io: Io, report: Report): string | undefined {
  const meta = metadataOf(report);
  const file = values["metadata-file"] !== undefined ? resolve(io.cwd, values["metadata-file"]) : undefined;
  const github = io.env.GITHUB_ACTIONS === "true" ? io.env.GITHUB_OUTPUT : undefined;
  try {
    if (file) writeWhole(file, `${JSON.stringify(meta, null, 2)}\n`);
    if (github) appendFileSync(github, githubOutputLines(meta));
  } catch (e) {
    return `cannot write the metadata: ${(e as Error).message}`;
  }
  return undefined;
}

/** --report FILE.html (written on failure too) and, under GitHub Actions, the job summary. */
function writeReports({ command, values, io }: RunContext, report: Report, plan: Plan, planDir: string): string | undefined {
  const title = `multiarch ${command}: ${displayPath(resolve(planDir, plan.spec), io.cwd)}`;
  try {
    if (values.report !== undefined) {
      const file = resolve(io.cwd, values.report);
      makeDir(dirname(file));
      writeWhole(file, htmlReport(report, plan, { title, hostPlatform: hostPlatform(), generatedAt: new Date().toISOString() }));
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
    ["platform", "requested", "in the registry", ""],
  );
}

/** apply --timings: where the time went, phase by phase (steps of one kind overlap: wall time, and their sum). */
function timingTable(timings: readonly Timing[], runMs: number): string {
  // the phases before the steps take milliseconds: said in them, not as 0.0s
  const took = (ms: number) => (ms < 1000 ? `${Math.round(ms)} ms` : seconds(ms));
  const rows = timings.map((t) => [t.phase, took(t.ms), t.steps === undefined ? "" : String(t.steps), t.sumMs === undefined ? "" : took(t.sumMs)]);
  return `${table(rows, ["where the time went", "wall", "steps", "sum of steps"])}\n(steps ran for ${seconds(runMs)} in all; the phases before them ran one after another, except hashing the inputs and reading the tags, which ran at once)`;
}

/** The tags that hold an image, then, dimmed, those this run meant to move and did not. */
function tagsCell(report: Report, image: Report["images"][number], dim: (text: string) => string): string {
  const { hold, notMoved } = tagsLeft(report, image);
  return [...hold, ...(notMoved.length ? [dim(`not moved: ${notMoved.join(" ")}`)] : [])].join(" ");
}

export function finalSummary(report: Report, io: Io): string {
  const s = style(io, "stdout");
  const good = new Set(["published", "written", "loaded", "verified", "built"]);
  const rows = report.images.map((i) => [
    i.name,
    good.has(i.status) ? s.green(i.status) : i.status === "failed" ? s.red(i.status) : s.dim(i.status),
    i.platforms.join(","),
    i.digest ? i.digest.slice(0, 19) : "-",
    seconds(i.durationMs),
    tagsCell(report, i, s.dim),
  ]);
  const out = ["", table(rows, ["image", "status", "platforms", "digest", "time", "tags"])];
  const held = report.images.filter((i) => i.notPublished);
  if (held.length) out.push("", ...held.map((i) => s.dim(`${i.name}: not published: ${i.notPublished}`)));
  // per image what went wrong: a failed one's error (for a bake, its own Dockerfile line), then why the others stopped
  const why = report.images.filter((i) => i.reason);
  if (why.length) out.push("");
  for (const i of why.filter((x) => x.status === "failed")) out.push(s.red(`${i.name} failed:`), i.reason!.replace(/^/gm, "  | "));
  // a base that broke holds back every image built FROM it: the first ones by name, then a count
  const heldBack = why.filter((x) => x.status !== "failed");
  for (const i of heldBack.slice(0, 20)) out.push(s.dim(`${i.name} ${i.status}: ${i.reason}`));
  if (heldBack.length > 20) out.push(s.dim(`… and ${heldBack.length - 20} more`));
  if (report.exitCode === 0) {
    if (report.images.length && report.images.every((i) => i.status === "unchanged" || i.status === "up-to-date"))
      out.push("", s.green(`nothing changed: every tag already held these images (${seconds(report.durationMs)})`));
    else if (held.length === report.images.length) out.push("", s.green(`built and verified in ${seconds(report.durationMs)}; nothing published (see above)`));
    else out.push("", s.green(`done in ${seconds(report.durationMs)}`));
    return out.join("\n");
  }
  // by digest: no tag names them (the key's tag part is the run's own bookkeeping)
  if (report.staged.length) out.push("", s.dim(`pushed by this run: ${report.staged.map((r) => r.ref).join(" ")}`));
  out.push("", s.red(stopLine(report)));
  return out.join("\n");
}

/** A run that did not succeed, in one line: what failed, what did not run, and every tag that moved. */
function stopLine(report: Report): string {
  const movedTags = report.tags.filter((t) => t.status === "moved");
  const failed = report.steps.filter((st) => st.status === "failed");
  const notRun = report.steps.filter((st) => st.status === "not-run").length;
  const count = (status: string) => report.images.filter((i) => i.status === status).map((i) => i.name);
  const [bad, skipped, cancelled, published] = [count("failed"), count("skipped"), count("cancelled"), count("published")];
  const images = [
    bad.length ? `${plural(bad.length, "image")} failed (${bad.join(", ")})` : "",
    skipped.length ? `${skipped.length} skipped (built FROM a failed image)` : "",
    cancelled.length ? `${cancelled.length} cancelled` : "",
  ].filter(Boolean);
  const stopped =
    report.exitCode === 130
      ? "interrupted"
      : `${images.length ? `${images.join(", ")}: ` : ""}${plural(failed.length, "step")} failed (${failed.map((f) => f.id).join(", ")}), ${plural(notRun, "step")} not run`;
  // every tag that moved is named: of the images published whole by name, of the others tag by tag
  const partly = movedTags.filter((t) => !published.includes(t.image));
  const said = [
    published.length ? `${report.exitCode === 130 ? "published" : "published the others"}: ${published.join(", ")}` : "",
    partly.length
      ? `these tags had already moved to the new, verified images: ${partly.map((t) => t.ref).join(" ")}; a re-run moves the rest (${report.tags.filter((t) => t.status === "not-moved").length} left)`
      : "",
  ].filter(Boolean);
  const tagsLine = said.length ? `; ${said.join("; ")}` : "; no user tag was moved";
  return `${stopped}${tagsLine}`;
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
  const because = i.changed?.length ? `changed: ${i.changed.join(", ")}` : "--rebuild, or no input facts";
  // why it is built, whether or not it is published
  if (i.notPublished) return `${i.name}: built (${because}), not published (${i.notPublished})`;
  return `${i.name}: built: ${because}`;
}
