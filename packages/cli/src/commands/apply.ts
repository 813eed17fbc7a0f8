import { readFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import { dirname, resolve } from "node:path";
import { type ArchPlan, PLAN_VERSION, type Plan, parsePlanFile } from "@multiarch/compiler";
import type { EngineFacts, ExecEvent, Report } from "@multiarch/executor";
import { EXIT, type Values } from "../cli.ts";
import { displayPath, type Io, printDiagnostics, seconds, style, table } from "../format.ts";
import { archivesOf, compileWith, loadFromFlags, outDirOf, requestedStrategy, resolveStrategy, writeArtifacts } from "./load.ts";
import { summary } from "./plan.ts";

export default async function apply(values: Values, io: Io, signal: AbortSignal): Promise<number> {
  const concurrency = values.concurrency === undefined ? availableParallelism() : Number(values.concurrency);
  if (!Number.isInteger(concurrency) || concurrency < 1) {
    io.stderr.write("multiarch apply: --concurrency takes a whole number >= 1\n");
    return EXIT.usage;
  }
  const loaded = await planFor(values, io);
  if ("exit" in loaded) return loaded.exit;
  const { plan, planDir } = loaded;
  const { acquireLock, checkEmulation, executePlan, showCommand, probeEngine } = await import("@multiarch/executor");

  if (values["dry-run"]) {
    const out = [summary(plan, io), ""];
    for (const stage of plan.stages) {
      out.push(`# ${stage.name}`);
      for (const step of stage.steps) for (const c of step.commands) out.push(`${showCommand(c)}${c.mayFail ? "   # may fail" : ""}`);
    }
    io.stdout.write(`${out.join("\n")}\n`);
    return EXIT.ok;
  }

  // Preflight: nothing starts unless the engine can run what was planned.
  const engine = loaded.engine ?? (await probeEngine(resolve(planDir, plan.cwd), io.env));
  const multi = plan.images.some((i) => i.platforms.length > 1);
  const needsBuildx = plan.strategy.chosen === "bake" || !plan.strategy.legacyBuilder;
  const problem = !engine.reachable
    ? engine.reason
    : needsBuildx && !engine.buildx
      ? `this plan needs docker buildx, which the engine lacks; ${plan.strategy.chosen === "bake" ? "use --strategy manifest" : "plan again on this machine"}`
      : plan.strategy.pushWithDocker && engine.driver !== "docker"
        ? `this plan was made for buildx's docker driver, but the builder is ${engine.driver ?? "another driver"}; plan again on this machine`
        : plan.strategy.chosen === "bake" && multi && !engine.multiPlatform
          ? `${engine.reason}; use --strategy manifest, enable the containerd image store, or create a docker-container builder`
          : undefined;
  if (problem) {
    io.stderr.write(`multiarch apply: ${problem}\n`);
    return EXIT.environment;
  }
  // A builder on this machine's kernel runs foreign RUN steps through binfmt_misc: check the QEMU
  // handlers now rather than fail halfway with "exec format error".
  const localKernel = (!io.env.DOCKER_HOST || io.env.DOCKER_HOST.startsWith("unix://")) && (engine.driver === "docker" || engine.driver === "docker-container");
  const emulation = localKernel ? checkEmulation([...new Set(plan.images.flatMap((i) => i.platforms))], io.env.MULTIARCH_BINFMT_DIR ? { binfmtDir: io.env.MULTIARCH_BINFMT_DIR } : {}) : [];
  if (emulation.length > 0) {
    const lines = emulation.map((e) => `  ${e.platform}: binfmt_misc handler ${e.handler} is ${e.problem === "missing" ? "not registered" : e.problem === "disabled" ? "disabled" : "registered without the F (fix-binary) flag"}`);
    io.stderr.write(
      `multiarch apply: this machine cannot run the build steps of every planned platform:\n${lines.join("\n")}\n  hint: install qemu-user-static and register its handlers with the F flag (test/env/up.sh does), or run docker run --privileged --rm tonistiigi/binfmt --install all\n`,
    );
    return EXIT.environment;
  }

  const err = style(io, "stderr");
  // Long steps (a bake under QEMU can take many minutes) say they are alive every 30 s.
  const running = new Map<string, number>();
  const heartbeat = setInterval(() => {
    for (const [id, since] of running) io.stderr.write(err.dim(`   ${id} still running (${Math.round((Date.now() - since) / 1000)}s)\n`));
  }, 30_000);
  heartbeat.unref();
  const progress = (e: ExecEvent) => {
    if (values.json) return;
    if (e.type === "step-start" && !values.verbose) running.set(e.step.id, Date.now());
    if (e.type === "step-end") running.delete(e.step.id);
    if (e.type === "stage") io.stderr.write(`${err.bold(`== ${e.name}`)} ${err.dim(`(${e.steps} step${e.steps === 1 ? "" : "s"})`)}\n`);
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
  const lock = acquireLock(planDir);
  if (!lock.ok) {
    const h = lock.holder;
    io.stderr.write(`multiarch apply: another apply of this spec is running (pid ${h.pid} on ${h.host}, since ${h.since}); wait for it to finish, or remove ${displayPath(lock.file, io.cwd)} if that process is gone\n`);
    return EXIT.locked;
  }
  let report: Report;
  try {
    report = await executePlan(plan, { planDir, env: io.env, concurrency, signal, onEvent: progress });
  } finally {
    clearInterval(heartbeat);
    lock.release();
  }
  if (values.json) io.stdout.write(`${JSON.stringify({ strategy: plan.strategy, ...report }, null, 2)}\n`);
  else io.stdout.write(`${finalSummary(report, plan, io)}\n`);
  return report.exitCode;
}

async function planFor(values: Values, io: Io): Promise<{ plan: Plan; planDir: string; engine?: EngineFacts } | { exit: number }> {
  if (typeof values.plan === "string") {
    const file = resolve(io.cwd, values.plan);
    let json: unknown;
    try {
      json = JSON.parse(readFileSync(file, "utf8"));
    } catch (e) {
      io.stderr.write(`multiarch apply: cannot read plan ${displayPath(file, io.cwd)}: ${(e as Error).message}\n`);
      return { exit: EXIT.usage };
    }
    const parsed = parsePlanFile(json);
    if (!parsed.ok) {
      io.stderr.write(`multiarch apply: ${displayPath(file, io.cwd)} is not a version ${PLAN_VERSION} plan (write it again with multiarch plan):\n${parsed.problems.map((p) => `  ${p}`).join("\n")}\n`);
      return { exit: EXIT.usage };
    }
    const plan = asPlan(parsed.plan);
    return { plan, planDir: dirname(file) };
  }
  const loaded = loadFromFlags(values, io);
  if (!loaded.ok) {
    printDiagnostics([...loaded.errors, ...loaded.warnings], io);
    return { exit: EXIT.usage };
  }
  const requested = requestedStrategy(values, loaded.spec);
  if (typeof requested === "object") {
    io.stderr.write(`multiarch apply: ${requested.error}\n`);
    return { exit: EXIT.usage };
  }
  const { probeEngine } = await import("@multiarch/executor");
  const engine = await probeEngine(loaded.spec.dir, io.env, loaded.spec.build.builder);
  if (!engine.reachable && !values["dry-run"]) {
    io.stderr.write(`multiarch apply: ${engine.reason}\n`);
    return { exit: EXIT.environment };
  }
  const strategy = resolveStrategy(requested, values.strategy !== undefined, engine);
  const outAbs = outDirOf(values, io, loaded.spec);
  const result = await compileWith(loaded.spec, values, io, strategy, outAbs);
  printDiagnostics([...(result.ok ? [] : result.errors), ...loaded.warnings, ...result.warnings], io);
  if (!result.ok) return { exit: EXIT.usage };
  // What runs is on disk too: .multiarch/plan.json always matches the last apply.
  writeArtifacts(outAbs, result.compiled.files, archivesOf(result.compiled.plan, loaded.spec.dir));
  return { plan: result.compiled.plan, planDir: outAbs, engine };
}

function checkTable(check: NonNullable<Report["steps"][number]["check"]>, expected: readonly string[]): string {
  const all = [...new Set([...expected, ...check.found])];
  return table(
    all.map((p) => [p, expected.includes(p) ? "yes" : "no", check.found.includes(p) ? "yes" : "no", check.mismatched.includes(p) ? "config arch differs" : ""]),
    ["platform", "requested", "pushed", ""],
  );
}

function finalSummary(report: Report, plan: Plan, io: Io): string {
  const s = style(io, "stdout");
  const rows = report.images.map((i) => [
    i.name,
    i.status === "published" || i.status === "written" || i.status === "built" ? s.green(i.status) : i.status === "unchanged" ? s.dim(i.status) : s.red(i.status),
    i.platforms.join(","),
    i.digest ? i.digest.slice(0, 19) : "-",
    seconds(i.durationMs),
    i.tags.join(" "),
  ]);
  const failed = report.steps.filter((st) => st.status === "failed");
  const notRun = report.steps.filter((st) => st.status === "not-run").length;
  const tail =
    report.exitCode === 0
      ? report.images.every((i) => i.status === "unchanged")
        ? s.green(`nothing changed: every tag already held these images (${seconds(report.durationMs)})`)
        : s.green(`done in ${seconds(report.durationMs)}`)
      : s.red(`${failed.length} step${failed.length === 1 ? "" : "s"} failed (${failed.map((f) => f.id).join(", ")}), ${notRun} not run; no user tag was moved unless its image shows "published"`);
  // On failure, say what exists where: staging refs this run pushed (user tags are in the table).
  const ok = new Set(report.steps.filter((st) => st.status === "ok").map((st) => st.id));
  const staged =
    report.exitCode === 0
      ? []
      : plan.stages.flatMap((st) => st.steps.filter((x) => ok.has(x.id) && x.kind !== "publish").flatMap((x) => x.produces)).filter((p) => p.includes(":multiarch-staging-"));
  const pushed = staged.length ? ["", s.dim(`pushed by this run, under staging tags only: ${[...new Set(staged)].join(" ")}`)] : [];
  return ["", table(rows, ["image", "status", "platforms", "digest", "time", "tags"]), ...pushed, "", tail].join("\n");
}


/** A per-arch plan (plans/<platform>.json) runs as a plan whose stages are its steps grouped by kind. */
function asPlan(p: Plan | ArchPlan): Plan {
  if (!("platform" in p) || !Array.isArray(p.steps)) return p as Plan;
  const stages: Plan["stages"] = [];
  for (const step of p.steps) {
    const last = stages.at(-1);
    if (last?.name === step.kind) last.steps.push(step);
    else stages.push({ name: step.kind, steps: [step] });
  }
  return { version: p.version, spec: p.spec, cwd: p.cwd, strategy: { requested: p.strategy, chosen: p.strategy, reason: `per-arch plan for ${p.platform}` }, images: p.images, stages };
}
