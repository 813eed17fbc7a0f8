// Labels and annotations added to what the spec asks for: the input hash (what incremental runs compare)
// and the reproducible-build facts (SOURCE_DATE_EPOCH, the standard OCI labels).
import { INPUT_HASH_LABEL, INPUT_PARTS_LABEL, OCI_CREATED, OCI_REVISION, OCI_SOURCE, partsText } from "@multiarch/plan";
import type { ImageHash } from "./input-hashes.ts";
import type { Facts, RenderedImage } from "./render.ts";

/** The input hash rides on what is published: a label on each image's config and, with bake, the index's annotations. */
export function decorate(r: RenderedImage, h: ImageHash, indexAnnotations: boolean): void {
  const meta = { [INPUT_HASH_LABEL]: h.hash, [INPUT_PARTS_LABEL]: partsText(h.parts) };
  r.labels = { ...r.labels, ...meta };
  if (indexAnnotations) r.indexAnnotations = { ...r.indexAnnotations, ...meta };
}

/**
 * Reproducible builds: SOURCE_DATE_EPOCH from the commit's time (BuildKit uses it for the config's
 * timestamps), and the standard OCI labels unless turned off. Added after hashing: they describe the
 * build, not its inputs, so a new commit that changes nothing an image reads rebuilds nothing.
 */
export function reproducible(r: RenderedImage, facts: Facts, ociLabels: boolean): void {
  const g = facts.git;
  if (!g) return;
  if (g.time && r.args.SOURCE_DATE_EPOCH === undefined) r.args = { ...r.args, SOURCE_DATE_EPOCH: g.time };
  if (!ociLabels) return;
  const oci: Record<string, string> = { [OCI_REVISION]: g.sha };
  if (g.time) oci[OCI_CREATED] = new Date(Number(g.time) * 1000).toISOString();
  if (g.source) oci[OCI_SOURCE] = g.source;
  r.labels = { ...oci, ...r.labels };
}
