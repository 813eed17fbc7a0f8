import { displayPath, type Io, printDiagnostics, style, table } from "../format.ts";
import { EXIT, type Values } from "../cli.ts";
import type { Plan } from "@multiarch/compiler";
import { archivesOf, compileWith, loadFromFlags, outDirOf, requestedStrategy, resolveStrategy, writeArtifacts } from "./load.ts";

export default async function plan(values: Values, io: Io): Promise<number> {
  const loaded = loadFromFlags(values, io);
  if (!loaded.ok) {
    printDiagnostics([...loaded.errors, ...loaded.warnings], io);
    return EXIT.usage;
  }
  const spec = loaded.spec;
  const requested = requestedStrategy(values, spec);
  if (typeof requested === "object") {
    io.stderr.write(`multiarch plan: ${requested.error}\n`);
    return EXIT.usage;
  }
  // Only auto needs to ask the engine; an explicit strategy plans without one (e.g. in review).
  const engine = requested === "auto" ? await (await import("@multiarch/executor")).probeEngine(spec.dir, io.env, spec.build.builder) : undefined;
  const strategy = resolveStrategy(requested, values.strategy !== undefined, engine);
  const outAbs = outDirOf(values, io, spec);
  const result = await compileWith(spec, values, io, strategy, outAbs);
  printDiagnostics([...(result.ok ? [] : result.errors), ...loaded.warnings, ...result.warnings], io);
  if (!result.ok) return EXIT.usage;
  const written = writeArtifacts(outAbs, result.compiled.files, archivesOf(result.compiled.plan, spec.dir));
  if (values.json) io.stdout.write(result.compiled.files["plan.json"]!);
  else io.stdout.write(`${summary(result.compiled.plan, io)}\nwrote ${written.map((f) => displayPath(f, io.cwd)).join(", ")}\n`);
  return EXIT.ok;
}

export function summary(plan: Plan, io: Io): string {
  const s = style(io, "stdout");
  const platforms = [...new Set(plan.images.flatMap((i) => i.platforms))];
  const rows = plan.images.map((i) => [
    i.name,
    ...platforms.map((p) => (i.platforms.includes(p) ? s.green("yes") : s.dim("-"))),
    i.archive ? i.archive : i.refs.map((r) => `${r.name}:{${r.tags.join(",")}}`).join(" "),
  ]);
  const steps = plan.stages.reduce((n, st) => n + st.steps.length, 0);
  return [
    `${s.bold(`${plan.images.length} image${plan.images.length === 1 ? "" : "s"} x ${platforms.length} platform${platforms.length === 1 ? "" : "s"}`)}, strategy ${s.bold(plan.strategy.chosen)} (${plan.strategy.reason})`,
    "",
    table(rows, ["image", ...platforms, "publishes"]),
    "",
    `${steps} steps in ${plan.stages.length} stages: ${plan.stages.map((st) => `${st.name} ${st.steps.length}`).join(", ")}`,
  ].join("\n");
}
