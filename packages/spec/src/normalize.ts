// SpecInput (what users wrote, already shape-checked by zod) -> Spec (what code uses). The cross-field
// rules live in rules/, one file per family (registries, variables, images, contexts, dependencies),
// all reporting into one shared context; this file only runs them in order.
import type { Diagnostic } from "./diagnostics.ts";
import type { Spec } from "./model.ts";
import { builderRules } from "./rules/builder.ts";
import { createContext, type SpecFs } from "./rules/context.ts";
import { contextPlatformRules, dependencyOrder } from "./rules/dependencies.ts";
import { envNameRules } from "./rules/env-names.ts";
import { groupRules } from "./rules/groups.ts";
import { imageRules } from "./rules/images.ts";
import { registryRules } from "./rules/registries.ts";
import { signRules } from "./rules/sign.ts";
import { variableRules } from "./rules/variables.ts";
import type { Override } from "./overrides.ts";
import type { SpecInput } from "./schema.ts";
import type { SourceMap } from "./source-map.ts";

export type { SpecFs };

export function normalize(
  input: SpecInput,
  map: SourceMap,
  opts: { file: string; root: string; fs: SpecFs; env?: Readonly<Record<string, string | undefined>>; overrides?: readonly Override[]; absentInputs?: boolean },
): { spec?: Spec; diagnostics: Diagnostic[] } {
  const ctx = createContext(input, map, opts);
  envNameRules(ctx);
  const variables = variableRules(ctx);
  const registries = registryRules(ctx);
  const images = imageRules(ctx, registries);
  contextPlatformRules(ctx, images);
  const builder = builderRules(ctx, images);
  const spec: Spec = {
    file: opts.file,
    dir: ctx.dir,
    root: ctx.rootReal,
    registries,
    variables,
    images: dependencyOrder(ctx, images),
    groups: groupRules(ctx, images),
    build: { strategy: input.build?.strategy ?? "auto", ociLabels: input.build?.ociLabels ?? true },
  };
  const sign = signRules(ctx);
  if (sign) spec.sign = sign;
  if (builder.name) spec.build.builder = builder.name;
  if (builder.nodes) spec.build.nodes = builder.nodes;
  if (input.build?.concurrency) spec.build.concurrency = input.build.concurrency;
  return { spec, diagnostics: ctx.diagnostics.map((d) => fromOverride(d, ctx.overridden)) };
}

/** A problem in a value --set gave is reported as the override's: it has no line in the file. */
function fromOverride(d: Diagnostic, overridden: readonly { path: readonly (string | number)[]; text: string }[]): Diagnostic {
  const o = d.path && overridden.find((x) => x.path.every((seg, i) => d.path![i] === seg));
  return o ? { ...d, line: 0, col: 0, message: `--set ${o.text}: ${d.message}` } : d;
}
