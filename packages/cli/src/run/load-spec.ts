// Find and load the spec a command names (-f) or the one here or above, and where its artifacts go.
import { join, resolve } from "node:path";
import { diag, findSpec, loadSpec, SPEC_FILE_NAME, type Spec, type SpecResult } from "@multiarch/spec";
import type { Io } from "../format.ts";
import type { PlanShape } from "../options.ts";

/**
 * --static (validate): variables take their defaults; the environment is not read. `absentInputs`: for a
 * command that builds nothing, contexts and Dockerfiles need not exist.
 */
export function loadSpecOf(shape: Pick<PlanShape, "file" | "set">, io: Io, opts: { static?: boolean; absentInputs?: boolean } = {}): SpecResult {
  const file = shape.file !== undefined ? resolve(io.cwd, shape.file) : findSpec(io.cwd);
  if (!file) {
    return {
      ok: false,
      errors: [
        diag("spec-not-found", { file: join(io.cwd, SPEC_FILE_NAME), line: 0, col: 0 }, `no ${SPEC_FILE_NAME} in ${io.cwd} or any folder above`, {
          hint: "pass -f path/to/multiarch.yaml",
        }),
      ],
      warnings: [],
    };
  }
  // variables in registry URLs, repositories and platform lists are read now
  return loadSpec(file, {
    ...(opts.static ? {} : { env: io.env }),
    ...(shape.set ? { sets: shape.set } : {}),
    ...(opts.absentInputs ? { absentInputs: true } : {}),
  });
}

/** Output folder as given (relative to cwd) or .multiarch next to the spec; returned absolute. */
export const outDirOf = (shape: Pick<PlanShape, "out">, io: Io, spec: Spec): string =>
  shape.out !== undefined ? resolve(io.cwd, shape.out) : join(spec.dir, ".multiarch");
