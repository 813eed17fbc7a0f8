// The secret sources an apply reads (registry credentials, signing keys, build secrets): an unset
// variable or a missing file is found before anything runs, not mid-build.
import { statSync } from "node:fs";
import { resolve } from "node:path";
import type { Plan } from "@multiarch/plan";
import { type Diagnostic, diag, type Spec } from "@multiarch/spec";
import type { Io } from "../format.ts";
import { envSet } from "../env-set.ts";

/**
 * Secret sources an apply will read: an unset variable or a missing file fails here, not mid-build. With
 * the plan, only those its steps read: a run that logs in nowhere and signs nothing (--no-push, a pull
 * request's check, which is given no registry secret) needs no registry or signing secret.
 */
export function secretDiagnostics(spec: Spec, env: Io["env"], severity: Diagnostic["severity"], plan?: Plan): Diagnostic[] {
  const out: Diagnostic[] = [];
  const steps = plan?.stages.flatMap((s) => s.steps);
  const logins = steps && new Set(steps.flatMap((s) => (s.kind === "login" && s.registry ? [s.registry] : [])));
  const signs = !steps || steps.some((s) => s.kind === "sign");
  for (const r of spec.registries.filter((r) => !logins || logins.has(r.name))) {
    for (const [what, c] of [
      ["username", r.username],
      ["password", r.password],
    ] as const) {
      // whether it is set, never its value: validate's result cache keeps what validate read
      if (c?.env && !envSet(env, c.env))
        out.push(diag("env-unset", r.at, `registry ${r.name}: ${what} reads $${c.env}, which is not set`, { hint: `export ${c.env}`, severity }));
      if (c?.file && !isFile(resolve(spec.dir, c.file)))
        out.push(diag("path-missing", r.at, `registry ${r.name}: ${what} file ${c.file} does not exist`, { severity }));
    }
  }
  const sign = spec.sign?.mode === "key" && signs ? spec.sign : undefined;
  for (const [what, c] of sign
    ? ([
        ["key", sign.key],
        ["password", sign.password],
        ["publicKey", sign.publicKey],
      ] as const)
    : []) {
    if (c?.env && !envSet(env, c.env))
      out.push(diag("env-unset", sign!.at, `sign: ${what} reads $${c.env}, which is not set`, { hint: `export ${c.env}`, severity }));
    if (c?.file && !isFile(resolve(spec.dir, c.file)))
      out.push(
        diag("path-missing", sign!.at, `sign: ${what} file ${c.file} does not exist`, {
          hint: "cosign generate-key-pair writes cosign.key and cosign.pub",
          severity,
        }),
      );
  }
  for (const img of spec.images) {
    for (const s of img.secrets) {
      if (s.env && envSet(env, s.env) === undefined)
        out.push(diag("env-unset", img.at, `image ${img.name}: secret ${s.id} reads $${s.env}, which is not set`, { hint: `export ${s.env}`, severity }));
      if (s.file && !isFile(resolve(spec.dir, s.file)))
        out.push(
          diag("path-missing", img.at, `image ${img.name}: secret ${s.id} reads ${s.file}, which does not exist`, {
            hint: "create it before apply, or fix the path (relative to the spec's folder)",
            severity,
          }),
        );
    }
  }
  return out;
}

const isFile = (p: string): boolean => {
  try {
    return statSync(p).isFile();
  } catch {
    return false;
  }
};
