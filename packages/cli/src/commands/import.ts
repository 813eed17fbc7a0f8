// multiarch import: bake's arguments in (files, targets, --set), an equivalent multiarch.yaml out. buildx
// itself resolves the bake file (--print); the spec it becomes is checked like any other before it is kept.
import { existsSync, writeFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { makeDir } from "@multiarch/executor";
import { type BakePrint, bakeDefaultPlatform, bakePrint, needsBuilderPlatform, specFromBake } from "@multiarch/import";
import { loadSpec, sortDiagnostics } from "@multiarch/spec";
import { type CommandContext, EXIT, type Outcome, plural } from "../context.ts";
import { displayPath } from "../format.ts";
import { specProblems } from "../run/spec-problems.ts";

export default async function importBake({ values, io, positionals, signal }: CommandContext<"import">): Promise<Outcome> {
  const out = resolve(io.cwd, values.out ?? "multiarch.yaml");
  if (existsSync(out) && !values.force) return { exit: EXIT.usage, message: `${displayPath(out, io.cwd)} exists; pass --force to replace it` };
  const files = values.file ?? [];
  // bake's arguments past the files: what the spec's header says it was imported with
  const picked = [...(values.set ?? []).flatMap((s) => ["--set", s]), ...positionals];
  const printed = await bakePrint([...files.flatMap((f) => ["--file", f]), ...picked], io.cwd, io.env, signal);
  if (!printed.ok) return { exit: printed.interrupted ? EXIT.interrupted : printed.input ? EXIT.usage : EXIT.environment, message: printed.message };
  const print = printed.json as BakePrint;
  if (!print || typeof print !== "object" || !print.target || Object.keys(print.target).length === 0)
    return { exit: EXIT.usage, message: "bake printed no targets: name a target or group, or pass -f FILE" };
  const defaultPlatform = needsBuilderPlatform(print) ? await bakeDefaultPlatform(io.cwd, io.env, signal) : undefined;
  if (signal.aborted) return { exit: EXIT.interrupted, message: "interrupted: nothing was written" };
  const { text, warnings } = specFromBake(print, {
    bakeDir: io.cwd,
    specDir: dirname(out),
    files,
    unprinted: printed.unprinted,
    args: picked,
    hasEnv: (name) => io.env[name] !== undefined,
    ...(defaultPlatform ? { defaultPlatform } : {}),
  });
  for (const w of warnings) io.stderr.write(`warning: ${w}\n`);
  try {
    makeDir(dirname(out));
    writeFileSync(out, text);
  } catch (e) {
    return { exit: EXIT.usage, message: `cannot write ${displayPath(out, io.cwd)}: ${(e as Error).message}`, data: { notCarried: warnings } };
  }
  // what was written must pass what validate checks: plan takes it as it is
  const loaded = loadSpec(out, { env: io.env });
  io.stderr.write(`wrote ${displayPath(out, io.cwd)} (${plural(Object.keys(print.target).length, "bake target")})\n`);
  const found = loaded.ok ? [...loaded.warnings, ...(await specProblems(loaded.spec, io, undefined, "warning"))] : loaded.errors;
  const errors = sortDiagnostics(found.filter((d) => d.severity === "error"));
  const problems = sortDiagnostics(found.filter((d) => d.severity === "warning"));
  const data = { files: [out], notCarried: warnings };
  if (errors.length) return { exit: EXIT.failed, message: "the imported spec needs editing before it plans (above)", errors, warnings: problems, data };
  return { exit: EXIT.ok, warnings: problems, data };
}
