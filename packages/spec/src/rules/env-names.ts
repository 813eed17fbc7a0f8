// env: names an environment variable wherever the spec reads one (variables, credentials, signing keys,
// build secrets): a name the shell and every CI can set, nothing else. Generated pipelines write these
// names into their own syntax (GitHub's ${{ vars.NAME }}): another character there would be code.
import type { Path } from "../source-map.ts";
import { type RuleContext, report } from "./context.ts";

const ENV_NAME_RE = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Each env: of the spec, with where it is written. */
function envRefs(ctx: RuleContext): [string, Path][] {
  const refs: [string, Path][] = [];
  const of = (v: unknown, path: Path) => {
    if (v && typeof v === "object" && "env" in v && typeof v.env === "string") refs.push([v.env, [...path, "env"]]);
  };
  const input = ctx.input;
  for (const [name, v] of Object.entries(input.variables ?? {})) of(v, ["variables", name]);
  for (const [name, r] of Object.entries(input.registries ?? {})) for (const k of ["username", "password"] as const) of(r[k], ["registries", name, k]);
  for (const k of ["key", "password", "publicKey"] as const) of(input.sign?.[k], ["sign", k]);
  for (const [name, img] of Object.entries(input.images)) for (const [i, s] of (img.secrets ?? []).entries()) of(s, ["images", name, "secrets", i]);
  return refs;
}

export function envNameRules(ctx: RuleContext): void {
  for (const [name, path] of envRefs(ctx)) {
    if (ENV_NAME_RE.test(name)) continue;
    const fixed =
      name
        .replace(/[^A-Za-z0-9_]+/g, "_")
        .replace(/^_+|_+$/g, "")
        .replace(/^(?=\d)/, "_") || "NAME";
    report(ctx, "invalid-value", path, `env: "${name}" is no environment variable name: letters, digits and _, not first a digit`, `write ${fixed}`);
  }
}
