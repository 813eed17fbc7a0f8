// What plan and apply write into the output folder (DIR): the bake files, plan.json and plans/. Nothing
// in DIR is followed through a link (ownDir, writeOwnFile): a repository may commit one.
import { readdirSync, rmSync } from "node:fs";
import { join, resolve } from "node:path";
import { ownDir, ownFile, writeOwnFile } from "@multiarch/executor";
import type { Plan } from "@multiarch/plan";

/** Writes the artifacts; plan files of platforms no longer planned are removed, so DIR is exact. */
export function writeArtifacts(outAbs: string, files: Record<string, string>, archives: readonly string[] = []): string[] {
  ownDir(outAbs, join(outAbs, "plans"));
  // buildx (even --print) wants an archive's folder to exist; it writes through a link where the archive goes
  for (const a of archives) ownFile(outAbs, a);
  // in a folder of its own (checked above): removing an entry, even a link, touches nothing elsewhere
  for (const old of readdirSync(join(outAbs, "plans"))) {
    if (!files[`plans/${old}`]) rmSync(join(outAbs, "plans", old), { force: true, recursive: true });
  }
  if (!files["docker-bake.publish.json"]) rmSync(join(outAbs, "docker-bake.publish.json"), { force: true });
  for (const [rel, content] of Object.entries(files)) writeOwnFile(outAbs, join(outAbs, rel), content);
  return Object.keys(files).map((f) => join(outAbs, f));
}

/** The OCI archives a --no-push plan writes (their folders must exist before bake runs). */
export const archivesOf = (plan: Plan, specDir: string): string[] => plan.images.flatMap((i) => (i.archive ? [resolve(specDir, i.archive)] : []));
