// What the plan says about each image (plan.json's images): its refs and staging keys, archive, test,
// why it is not published, its input hash and what the incremental decision found.
import type { PlannedImage } from "@multiarch/plan";
import type { Spec } from "@multiarch/spec";
import { archiveOf, type BakeFile } from "./bake.ts";
import type { Decision, ImageHash } from "./input-hashes.ts";
import type { RenderedImage } from "./render.ts";
import { plannedRefs, stagingTag } from "./steps.ts";

/** What compile decided before assembling the plan, per image name. */
export interface ImageFacts {
  /** The spec's own index annotations, before the input hash joins them: what verify checks. */
  indexAnnotations: ReadonlyMap<string, Record<string, string>>;
  notPublished: ReadonlyMap<string, string>;
  hashes: ReadonlyMap<string, ImageHash>;
  decisions: ReadonlyMap<string, Decision>;
}

export function plannedImage(spec: Spec, r: RenderedImage, bake: BakeFile, outDir: string, gitSha: string | undefined, facts: ImageFacts): PlannedImage {
  const staging = stagingTag(bake.target[r.image.name], r.image, r, gitSha);
  const p: PlannedImage = {
    name: r.image.name,
    platforms: [...r.image.platforms],
    dependsOn: r.image.dependsOn,
    refs: plannedRefs(spec, r, staging),
  };
  const why = facts.notPublished.get(r.image.name);
  // an archive not written (a dependency built through its users' links) is no archive of the run
  if (p.refs.length === 0 && !why) {
    p.archive = archiveOf(outDir, r.image);
    // what its test runs after loading it
    const name = bake.target[r.image.name]?.tags?.[0];
    if (name && r.image.test) p.archiveName = name;
  }
  if (r.image.test) p.test = r.image.test.run;
  if (r.dropped.length) p.droppedTags = r.dropped;
  const annotations = facts.indexAnnotations.get(r.image.name);
  if (annotations) p.indexAnnotations = annotations;
  if (why) p.notPublished = why;
  const h = facts.hashes.get(r.image.name);
  if (h) {
    p.inputHash = h.hash;
    p.inputParts = Object.fromEntries(Object.entries(h.parts).map(([k, v]) => [k, v.slice(0, 12)]));
    if (h.unknown) p.inputsUnknown = h.unknown;
  }
  const d = facts.decisions.get(r.image.name);
  if (d?.kind === "up-to-date") p.upToDate = { digest: d.digest };
  else if (d?.kind === "reuse") p.reuse = d.digests;
  else if (d?.kind === "build") p.changed = d.changed;
  return p;
}
