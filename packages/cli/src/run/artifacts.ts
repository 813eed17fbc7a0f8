// What plan and apply write into the output folder (DIR): the bake files, plan.json and plans/.
import { readdirSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { makeDir } from "@multiarch/executor";
import type { Plan } from "@multiarch/plan";

/** Writes the artifacts; plan files of platforms no longer planned are removed, so DIR is exact. */
export function writeArtifacts(outAbs: string, files: Record<string, string>, archives: readonly string[] = []): string[] {
  makeDir(join(outAbs, "plans"));
  // buildx (even --print) wants an archive's folder to exist.
  for (const a of archives) makeDir(dirname(a));
  for (const old of readdirSync(join(outAbs, "plans"))) {
    if (!files[`plans/${old}`]) rmSync(join(outAbs, "plans", old), { force: true });
  }
  if (!files["docker-bake.publish.json"]) rmSync(join(outAbs, "docker-bake.publish.json"), { force: true });
  for (const [rel, content] of Object.entries(files)) {
    makeDir(dirname(join(outAbs, rel)));
    writeFileSync(join(outAbs, rel), content);
  }
  return Object.keys(files).map((f) => join(outAbs, f));
}

/** The OCI archives a --no-push plan writes (their folders must exist before bake runs). */
export const archivesOf = (plan: Plan, specDir: string): string[] => plan.images.flatMap((i) => (i.archive ? [resolve(specDir, i.archive)] : []));
