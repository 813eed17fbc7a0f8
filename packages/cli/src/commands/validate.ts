import { renderImages } from "@multiarch/compiler";
import { type Diagnostic, sortDiagnostics } from "@multiarch/spec";
import { type CommandContext, EXIT, type Outcome, plural } from "../context.ts";
import { displayPath, style } from "../format.ts";
import { loadSpecOf } from "../run/load-spec.ts";
import { specProblems } from "../run/spec-problems.ts";

/** Everything plan checks, environment included, so a valid spec plans; --static reads the file alone. */
export default async function validate({ values, io, json }: CommandContext<"validate">): Promise<Outcome> {
  const loaded = loadSpecOf(values, io, { static: values.static });
  if (!loaded.ok) return { exit: EXIT.usage, errors: loaded.errors, warnings: loaded.warnings };
  const spec = loaded.spec;
  let found: Diagnostic[];
  if (values.static) {
    // Without the environment: values known only at plan time (env variables, git) are not rendered.
    found = renderImages(spec, spec.images, { git: undefined, env: {} }, true).diagnostics;
  } else found = await specProblems(spec, io, values.set);
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
