// multiarch doctor: is this machine (engine, buildx, kernel, binfmt_misc, QEMU, builder, registries, base
// images) ready for this spec? A checklist with the fix for each problem; --fix makes the safe, local
// repairs, saying each one first, and checks again.
import type { Check, DoctorFacts, FixAction } from "@multiarch/doctor";
import { type CommandContext, EXIT, type Outcome } from "../context.ts";
import { type Io, sayWait, seconds, style, table } from "../format.ts";
import { loadSpecOf } from "../run/load-spec.ts";

const describe = (a: FixAction): string => (a.kind === "command" ? [a.program, ...a.args].join(" ") : `echo '${a.line}' > ${a.file}`);

export default async function doctor({ values, io, json, signal }: CommandContext<"doctor">): Promise<Outcome> {
  const loaded = loadSpecOf(values, io);
  if (!loaded.ok) return { exit: EXIT.usage, errors: loaded.errors, warnings: loaded.warnings };
  const spec = loaded.spec;
  const { doctorChecks, gatherDoctorFacts, runFix } = await import("@multiarch/doctor");
  const started = performance.now();
  const gather = () => gatherDoctorFacts(spec, io.env, { signal, onWait: sayWait(io) });
  const interrupted: Outcome = { exit: EXIT.interrupted, message: "interrupted: doctor was stopped before it finished its checks" };
  let facts: DoctorFacts = await gather();
  if (signal.aborted) return interrupted;
  let checks = doctorChecks(spec, facts);
  const fixes: { action: string; ok: boolean; message?: string }[] = [];
  if (values.fix) {
    const todo = checks.filter((c) => c.status !== "ok" && c.actions?.length);
    for (const c of todo) {
      for (const a of c.actions!) {
        if (signal.aborted) return interrupted;
        io.stderr.write(`fixing ${c.title}: ${describe(a)}\n`);
        const r = await runFix(a, spec.dir, io.env, signal);
        fixes.push({ action: describe(a), ok: r.ok, ...(r.message ? { message: r.message } : {}) });
        if (!r.ok) io.stderr.write(`  failed: ${r.message}\n`);
      }
    }
    if (todo.length === 0) io.stderr.write("nothing doctor --fix can repair by itself\n");
    else {
      facts = await gather();
      if (signal.aborted) return interrupted;
      checks = doctorChecks(spec, facts);
    }
  }
  const failed = checks.filter((c) => c.status === "failed");
  if (!json) io.stdout.write(`${report(checks, io)}\n\n${summaryLine(checks, performance.now() - started, io)}\n`);
  return {
    exit: failed.length ? EXIT.usage : EXIT.ok,
    ...(failed.length ? { message: `${failed.length} check${failed.length === 1 ? "" : "s"} failed: ${failed.map((c) => c.title).join(", ")}` } : {}),
    warnings: loaded.warnings,
    data: { checks: checks.map(({ actions: _, ...c }) => c), ...(values.fix ? { fixes } : {}) },
  };
}

function report(checks: readonly Check[], io: Io): string {
  const s = style(io, "stdout");
  const mark = (c: Check) => (c.status === "ok" ? s.green("ok") : c.status === "warning" ? s.yellow("warn") : s.red("FAIL"));
  const rows = checks.map((c) => [mark(c), c.title, c.found]);
  const fixes = checks
    .filter((c) => c.status !== "ok" && c.fix)
    .map((c) => `  ${c.title}: ${c.fix}${c.actions?.length ? s.dim(" (doctor --fix does this)") : ""}`);
  return [table(rows, ["", "check", "found"]), ...(fixes.length ? ["", "To fix:", ...fixes] : [])].join("\n");
}

function summaryLine(checks: readonly Check[], ms: number, io: Io): string {
  const s = style(io, "stdout");
  const failed = checks.filter((c) => c.status === "failed").length;
  const warned = checks.filter((c) => c.status === "warning").length;
  return failed
    ? s.red(`${failed} failed, ${warned} warning${warned === 1 ? "" : "s"} (${seconds(ms)}): this spec cannot be applied here yet`)
    : s.green(`ready: ${checks.length} checks, ${warned} warning${warned === 1 ? "" : "s"} (${seconds(ms)})`);
}
