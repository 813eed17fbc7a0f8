// What plan and apply write into the output folder (DIR): the bake files, plan.json and plans/.
import { mkdirSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import type { Plan } from "@multiarch/plan";

/** Writes the artifacts; plan files of platforms no longer planned are removed, so DIR is exact. */
export function writeArtifacts(outAbs: string, files: Record<string, string>, archives: readonly string[] = []): string[] {
  mkdirSync(join(outAbs, "plans"), { recursive: true });
  // buildx (even --print) wants an archive's folder to exist.
  for (const a of archives) mkdirSync(dirname(a), { recursive: true });
  for (const old of readdirSync(join(outAbs, "plans"))) {
    if (!files[`plans/${old}`]) rmSync(join(outAbs, "plans", old), { force: true });
  }
  if (!files["docker-bake.publish.json"]) rmSync(join(outAbs, "docker-bake.publish.json"), { force: true });
  for (const [rel, content] of Object.entries(files)) {
    mkdirSync(dirname(join(outAbs, rel)), { recursive: true });
    writeFileSync(join(outAbs, rel), content);
  }
  return Object.keys(files).map((f) => join(outAbs, f));
}

/** The OCI archives a --no-push plan writes (their folders must exist before bake runs). */
export const archivesOf = (plan: Plan, specDir: string): string[] => plan.images.flatMap((i) => (i.archive ? [resolve(specDir, i.archive)] : []));
