// variables: names (not built-ins), literals or environment references with defaults.
import type { Variable } from "../model.ts";
import { HELPER_NAMES } from "../template.ts";
import { type RuleContext, report } from "./context.ts";

const VARIABLE_NAME_RE = /^[A-Za-z_][A-Za-z0-9_]*$/;
const RESERVED_VARIABLES = new Set(["git", "image", "platform", "ci", "matrix"]);

export function variableRules(ctx: RuleContext): Variable[] {
  const variables: Variable[] = [];
  for (const [name, v] of Object.entries(ctx.input.variables ?? {})) {
    const path = ["variables", name];
    if (!VARIABLE_NAME_RE.test(name)) report(ctx, "invalid-value", path, `variable name "${name}" must match [A-Za-z_][A-Za-z0-9_]*`, undefined, true);
    else if (RESERVED_VARIABLES.has(name)) report(ctx, "invalid-value", path, `"${name}" is a built-in name`, "choose another variable name", true);
    // {{sha}} would call the helper, never read the variable
    else if (HELPER_NAMES.includes(name))
      report(ctx, "invalid-value", path, `"${name}" is the name of a template helper`, "choose another variable name", true);
    const at = ctx.map.keyAt(path);
    variables.push(
      typeof v === "string"
        ? { name, value: v, at }
        : "map" in v
          ? { name, map: v.map, at }
          : { name, env: v.env, ...(v.default !== undefined ? { default: v.default } : {}), ...(v.split !== undefined ? { split: v.split } : {}), at },
    );
  }
  ctx.variableNames = new Set(variables.map((v) => v.name));
  // Values now, for the fields that shape the plan (registry URLs, repositories, platform lists): the
  // environment given (plan, apply, validate), or only defaults (validate --static).
  for (const v of variables) {
    const value = v.value ?? (v.env !== undefined && ctx.env ? ctx.env[v.env] : undefined) ?? v.default;
    if (value !== undefined) ctx.values.set(v.name, value);
  }
  ctx.listVariables = new Map(variables.filter((v) => v.split !== undefined).map((v) => [v.name, v.split!]));
  return variables;
}
