import { renderImages } from "@multiarch/compiler";
import { type Diagnostic, type Spec, sortDiagnostics } from "@multiarch/spec";
import { type CommandContext, EXIT, type Outcome, plural } from "../context.ts";
import { displayPath, style } from "../format.ts";
import type { Io } from "../format.ts";
import { loadSpecOf } from "../run/load-spec.ts";
import { specProblems } from "../run/spec-problems.ts";

/** Everything plan checks, environment included, so a valid spec plans; --static reads the file alone. */
export default async function validate({ values, io, json }: CommandContext<"validate">): Promise<Outcome> {
  const loaded = loadSpecOf(values, io, { static: values.static });
  if (!loaded.ok) {
    // every problem in one run: the images the file's errors leave alone are checked as plan would
    const more = loaded.unaffected ? (await problemsOf(loaded.unaffected, io, values)).filter((d) => d.severity === "error") : [];
    return { exit: EXIT.usage, errors: sortDiagnostics([...loaded.errors, ...more]), warnings: loaded.warnings };
  }
  const spec = loaded.spec;
  const found = await problemsOf(spec, io, values);
  const errors = sortDiagnostics(found.filter((d) => d.severity === "error"));
  const warnings = sortDiagnostics([...loaded.warnings, ...found.filter((d) => d.severity === "warning")]);
  const valid = { file: spec.file, images: spec.images.length, static: values.static === true };
  if (errors.length === 0 && !json) {
    const s = style(io, "stdout");
    io.stdout.write(
      `${s.green("valid")}: ${displayPath(spec.file, io.cwd)} (${plural(spec.images.length, "image")}${warnings.length ? `, ${plural(warnings.length, "warning")}` : ""})\n`,
    );
  }
  return { exit: errors.length === 0 ? EXIT.ok : EXIT.usage, errors, warnings, data: { valid } };
}

/** What rendering and compiling find; --static without the environment (values known only at plan time are not rendered). */
const problemsOf = async (spec: Spec, io: Io, values: { static?: boolean; set?: string[] }): Promise<Diagnostic[]> =>
  values.static ? renderImages(spec, spec.images, { git: undefined, env: {} }, true).diagnostics : await specProblems(spec, io, values.set);
