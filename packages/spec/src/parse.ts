// parseSpec: text -> Spec | diagnostics. Pure: the file system is asked through SpecFs only.
import { type Diagnostic, hasErrors, sortDiagnostics, splitDiagnostics } from "./diagnostics.ts";
import type { Spec } from "./model.ts";
import { normalize, type SpecFs } from "./normalize.ts";
import { fastShape } from "./fast-shape.ts";
import { type SpecInput, specInputSchema } from "./schema.ts";
import { parseYaml } from "./source-map.ts";
import { zodIssuesToDiagnostics } from "./zod-issues.ts";

export type SpecResult = { ok: true; spec: Spec; warnings: Diagnostic[] } | { ok: false; errors: Diagnostic[]; warnings: Diagnostic[] };

/** `env`: where variables are read from for the fields that shape the plan; without it, defaults only (validate --static). */
export function parseSpec(text: string, opts: { file: string; root: string; fs: SpecFs; env?: Readonly<Record<string, string | undefined>> }): SpecResult {
  const yaml = parseYaml(text, opts.file);
  if (!yaml.ok) return { ok: false, errors: yaml.errors, warnings: [] };
  const fast = fastShape(yaml.data);
  const shape = fast ? { success: true as const, data: fast.value as SpecInput } : specInputSchema().safeParse(yaml.data);
  if (!shape.success) {
    return { ok: false, errors: sortDiagnostics(zodIssuesToDiagnostics(shape.error.issues, yaml.data, yaml.map)), warnings: [] };
  }
  const { spec, diagnostics } = normalize(shape.data, yaml.map, opts);
  const { errors, warnings } = splitDiagnostics(diagnostics);
  return !spec || hasErrors(errors) ? { ok: false, errors, warnings } : { ok: true, spec, warnings };
}
