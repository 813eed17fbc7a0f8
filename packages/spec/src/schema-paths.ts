// What the spec's schema says at a path of the YAML: the keys allowed there (for "did you mean"), and a
// value it accepts there (a stand-in for a required value of the wrong type, so the rest gets checked).
import type { z } from "zod";
import { specInputSchema } from "./schema.ts";
import type { Path } from "./source-map.ts";

type Def = {
  type: string;
  shape?: Record<string, Schema>;
  innerType?: Schema;
  valueType?: Schema;
  element?: Schema;
  options?: Schema[];
  values?: unknown[];
  entries?: Record<string, unknown>;
  checks?: { _zod: { def: { check: string } } }[];
};
type Schema = z.ZodType & { _zod: { def: Def } };

const unwrap = (s: Schema): Schema[] => {
  const d = s._zod.def;
  return d.type === "optional" || d.type === "default" ? unwrap(d.innerType!) : d.type === "union" ? d.options!.flatMap(unwrap) : [s];
};

/** The schemas a value at path may have to satisfy (several where a union allows several shapes). */
function schemasAt(path: Path): Schema[] {
  let at: Schema[] = [specInputSchema() as unknown as Schema];
  for (const seg of path) {
    at = at.flatMap(unwrap).flatMap((s): Schema[] => {
      const d = s._zod.def;
      if (d.type === "object" && typeof seg === "string" && d.shape?.[seg]) return [d.shape[seg]];
      if (d.type === "record") return [d.valueType!];
      if (d.type === "array") return [d.element!];
      return [];
    });
  }
  return at;
}

/** Keys the schema allows for the object at path. */
export const allowedKeysAt = (path: Path): string[] =>
  schemasAt(path)
    .flatMap(unwrap)
    .flatMap((s) => (s._zod.def.type === "object" ? Object.keys(s._zod.def.shape ?? {}) : []));

/** The smallest values of this shape: required keys only, as few items as allowed. */
function smallest(s: Schema): unknown[] {
  const d = s._zod.def;
  switch (d.type) {
    case "string":
      return ["_"];
    case "number":
      return [1];
    case "boolean":
      return [false];
    case "literal":
      return d.values!.slice(0, 1);
    case "enum":
      return Object.values(d.entries!).slice(0, 1);
    case "record":
      return [{}];
    case "union":
      return d.options!.flatMap(smallest);
    case "array": {
      const min = (d.checks?.find((c) => c._zod.def.check === "min_length")?._zod.def as { minimum?: number } | undefined)?.minimum ?? 0;
      const item = smallest(d.element!)[0];
      return item === undefined && min > 0 ? [] : [Array.from({ length: min }, () => item)];
    }
    case "object": {
      const out: Record<string, unknown> = {};
      for (const [key, child] of Object.entries(d.shape ?? {})) {
        if (child._zod.def.type === "optional" || child._zod.def.type === "default") continue;
        const v = smallest(child)[0];
        if (v === undefined) return [];
        out[key] = v;
      }
      return [out];
    }
    default:
      return [];
  }
}

/** A value the schema accepts at path, or undefined when none is found. */
export function standInAt(path: Path): unknown {
  for (const s of schemasAt(path)) for (const v of smallest(s)) if (s.safeParse(v).success) return v;
  return undefined;
}
