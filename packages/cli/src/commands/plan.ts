import { resolveStrategy } from "@multiarch/compiler";
import type { Plan } from "@multiarch/plan";
import { type CommandContext, EXIT, type Outcome, plural } from "../context.ts";
import { displayPath, type Io, style, table } from "../format.ts";
import { archivesOf, compileWith, loadFromFlags, outDirOf, requestedStrategy, writeArtifacts } from "./load.ts";
import { lockedOutcome } from "./lock.ts";

export default async function plan({ values, io, json }: CommandContext): Promise<Outcome> {
  const loaded = loadFromFlags(values, io);
  if (!loaded.ok) return { exit: EXIT.usage, errors: loaded.errors, warnings: loaded.warnings };
  const spec = loaded.spec;
  const requested = requestedStrategy(values, spec);
  if (typeof requested === "object") return { exit: EXIT.usage, message: requested.error, warnings: loaded.warnings };
  const { acquireLock, probeEngine } = await import("@multiarch/executor");
  // An apply of this spec may be about to run the files this would rewrite.
  const lock = acquireLock(spec.file);
  if (!lock.ok) return lockedOutcome(lock, io);
  try {
    // Only auto needs to ask the engine; an explicit strategy plans without one (e.g. in review).
    const engine = requested === "auto" ? await probeEngine(spec.dir, io.env, spec.build.builder) : undefined;
    const strategy = resolveStrategy(requested, values.strategy !== undefined, engine);
    const outAbs = outDirOf(values, io, spec);
    const result = await compileWith(spec, values, io, strategy, outAbs);
    if (!result.ok) return { exit: EXIT.usage, errors: result.errors, warnings: [...loaded.warnings, ...result.warnings] };
    const written = writeArtifacts(outAbs, result.compiled.files, archivesOf(result.compiled.plan, spec.dir));
    if (!json) io.stdout.write(`${summary(result.compiled.plan, io)}\nwrote ${written.map((f) => displayPath(f, io.cwd)).join(", ")}\n`);
    return { exit: EXIT.ok, warnings: [...loaded.warnings, ...result.warnings], data: { plan: result.compiled.plan, files: written } };
  } finally {
    lock.release();
  }
}

export function summary(plan: Plan, io: Io): string {
  const s = style(io, "stdout");
  const platforms = [...new Set(plan.images.flatMap((i) => i.platforms))];
  const rows = plan.images.map((i) => [
    i.name,
    ...platforms.map((p) => (i.platforms.includes(p) ? s.green("yes") : s.dim("-"))),
    i.archive ? i.archive : i.notPublished ? s.dim(`not published: ${i.notPublished}`) : i.refs.map((r) => `${r.name}:{${r.tags.join(",")}}`).join(" "),
  ]);
  const steps = plan.stages.reduce((n, st) => n + st.steps.length, 0);
  return [
    `${s.bold(`${plural(plan.images.length, "image")} x ${plural(platforms.length, "platform")}`)}, strategy ${s.bold(plan.strategy.chosen)} (${plan.strategy.reason})`,
    "",
    table(rows, ["image", ...platforms, "publishes"]),
    "",
    `${plural(steps, "step")} in ${plural(plan.stages.length, "stage")}: ${plan.stages.map((st) => `${st.name} ${st.steps.length}`).join(", ")}`,
  ].join("\n");
}
