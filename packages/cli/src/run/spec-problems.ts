// What validate checks beyond the file (environment included), for every command that must say whether a
// spec plans: validate, and import for the spec it wrote.
import { check, resolveStrategy } from "@multiarch/compiler";
import type { Diagnostic, Spec } from "@multiarch/spec";
import type { Io } from "../format.ts";
import { compileRequest, requestedStrategy } from "./compile.ts";
import { outDirOf } from "./load-spec.ts";
import { secretDiagnostics } from "./secret-sources.ts";

/**
 * compile's diagnostics, and secret sources not set here (errors for validate: apply needs them; for
 * import, warnings: plan does not read them, and the machine importing may not hold them).
 */
export async function specProblems(spec: Spec, io: Io, set?: string[], secrets: "error" | "warning" = "error"): Promise<Diagnostic[]> {
  const requested = requestedStrategy({}, spec);
  const strategy = resolveStrategy(typeof requested === "object" ? "auto" : requested, false, undefined);
  // checked, not planned: validate needs compile's diagnostics only
  const result = check(spec, ...(await compileRequest(spec, { set }, io, strategy, outDirOf({}, io, spec), "validate")));
  return [...result.errors, ...result.warnings, ...secretDiagnostics(spec, io.env, secrets)];
}
