import { renderImages } from "@multiarch/compiler";
import { sortDiagnostics } from "@multiarch/spec";
import { EXIT, type Values } from "../cli.ts";
import { displayPath, type Io, printDiagnostics, style } from "../format.ts";
import { loadFromFlags } from "./load.ts";

export default async function validate(values: Values, io: Io): Promise<number> {
  const loaded = loadFromFlags(values, io);
  let errors = loaded.ok ? [] : loaded.errors;
  let warnings = loaded.warnings;
  if (loaded.ok) {
    // Render what can be rendered now (no git, env as it is): a tag that renders invalid is a
    // validation error; values known only at plan time are checked there.
    const { diagnostics } = renderImages(loaded.spec, loaded.spec.images, { git: undefined, env: io.env }, true);
    errors = diagnostics.filter((d) => d.severity === "error");
    warnings = sortDiagnostics([...warnings, ...diagnostics.filter((d) => d.severity === "warning")]);
  }
  if (values.json) {
    io.stdout.write(`${JSON.stringify({ ok: errors.length === 0, errors, warnings }, null, 2)}\n`);
  } else {
    printDiagnostics([...errors, ...warnings], io);
    if (errors.length === 0 && loaded.ok) {
      const s = style(io, "stdout");
      const n = loaded.spec.images.length;
      io.stdout.write(`${s.green("valid")}: ${displayPath(loaded.spec.file, io.cwd)} (${n} image${n === 1 ? "" : "s"}${warnings.length ? `, ${warnings.length} warning${warnings.length === 1 ? "" : "s"}` : ""})\n`);
    }
  }
  return errors.length === 0 ? EXIT.ok : EXIT.usage;
}
