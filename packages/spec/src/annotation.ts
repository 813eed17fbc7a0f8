// Where an annotation goes, written as bake writes it: `KEY` (each image manifest), `index:KEY` (the
// multi-platform index, where GHCR reads a description from), `manifest:KEY`, or `index,manifest:KEY`.

export interface AnnotationKey {
  key: string;
  index: boolean;
  manifest: boolean;
}

const LEVELS = new Set(["index", "manifest"]);

/** The key and its levels; undefined for a level multiarch does not write (descriptors, one platform's manifest). */
export function parseAnnotationKey(text: string): AnnotationKey | undefined {
  const colon = text.indexOf(":");
  if (colon < 0) return { key: text, index: false, manifest: true };
  const levels = text.slice(0, colon).split(",");
  const key = text.slice(colon + 1);
  if (!key || !levels.every((l) => LEVELS.has(l))) return undefined;
  return { key, index: levels.includes("index"), manifest: levels.includes("manifest") };
}
