// Tests' specs: a repository (has .git) holding app/Dockerfile and this multiarch.yaml, loaded.
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadSpec, type Spec } from "@multiarch/spec";

export function specRepo(yaml: string, env?: Record<string, string>): Spec {
  const dir = mkdtempSync(join(tmpdir(), "multiarch-spec-"));
  mkdirSync(join(dir, ".git"));
  mkdirSync(join(dir, "app"));
  writeFileSync(join(dir, "app/Dockerfile"), "FROM scratch\n");
  writeFileSync(join(dir, "multiarch.yaml"), yaml);
  const r = loadSpec(join(dir, "multiarch.yaml"), env ? { env } : {});
  if (!r.ok) throw new Error(JSON.stringify(r.errors));
  return r.spec;
}
