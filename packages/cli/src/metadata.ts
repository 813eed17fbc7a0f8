// What CI steps after apply/merge need to sign and attest what was published: per image the index digest,
// each platform's image digest and the tags now holding it. The file uses bake's --metadata-file keys
// where they mean the same (`containerimage.digest`, `image.name`); what bake has no key for is under
// `multiarch.*`. Pure: the report in, the document and GITHUB_OUTPUT lines out.
import type { Report } from "@multiarch/executor";

export interface ImageMetadata {
  "containerimage.digest"?: string;
  /** The user tags that hold the digest after this run, comma-separated as bake writes them. */
  "image.name": string;
  "multiarch.status": Report["images"][number]["status"];
  /** Platform -> image manifest digest, as verification saw them in the index. */
  "multiarch.platforms"?: Record<string, string>;
  /** Repository -> index digest: `cosign sign REPO@DIGEST` for each. */
  "multiarch.repositories": Record<string, string>;
}

const repositoryOf = (ref: string): string => ref.replace(/:[^:/]+$/, "");

export function metadataOf(report: Report): Record<string, ImageMetadata> {
  const out: Record<string, ImageMetadata> = {};
  for (const img of report.images) {
    // an up-to-date image ran no publish step: its tags hold its digest already
    const held =
      img.status === "up-to-date" && img.digest
        ? img.tags.map((ref) => ({ ref, digest: img.digest }))
        : // the tags moved to the index
          report.tags.filter((t) => t.image === img.name && t.status !== "not-moved" && t.digest && (!img.digest || t.digest === img.digest));
    const repositories: Record<string, string> = {};
    for (const t of held) repositories[repositoryOf(t.ref)] = t.digest!;
    // the whole index's verification (a shard's per-arch checks name one platform each; take them all)
    const checks = report.steps.filter((s) => s.image === img.name && s.kind === "verify" && s.check?.ok);
    const seen = Object.assign({}, ...checks.map((s) => s.check!.manifests)) as Record<string, string>;
    // in the image's platform order
    const platforms = Object.fromEntries(img.platforms.filter((p) => seen[p]).map((p) => [p, seen[p]!]));
    out[img.name] = {
      ...(img.digest ? { "containerimage.digest": img.digest } : {}),
      "image.name": held.map((t) => t.ref).join(","),
      "multiarch.status": img.status,
      ...(Object.keys(platforms).length ? { "multiarch.platforms": platforms } : {}),
      "multiarch.repositories": repositories,
    };
  }
  return out;
}

/** GitHub output names are letters, digits, `-` and `_`. */
const outputName = (s: string): string => s.replace(/[^A-Za-z0-9_-]/g, "_");

/**
 * `$GITHUB_OUTPUT` lines: `metadata` (the whole document, one line), `digest-IMAGE` and `tags-IMAGE` per
 * image, and `digest` alone when the run has one image.
 */
export function githubOutputLines(meta: Record<string, ImageMetadata>): string {
  const lines = [`metadata=${JSON.stringify(meta)}`];
  const entries = Object.entries(meta);
  for (const [name, m] of entries) {
    if (m["containerimage.digest"]) lines.push(`digest-${outputName(name)}=${m["containerimage.digest"]}`);
    lines.push(`tags-${outputName(name)}=${m["image.name"]}`);
  }
  const only = entries.length === 1 ? entries[0]![1]["containerimage.digest"] : undefined;
  if (only) lines.push(`digest=${only}`);
  return `${lines.join("\n")}\n`;
}
