// Verification of what was pushed or written: the set of platforms must equal the requested set exactly
// (attestation entries, unknown/unknown, are not platforms), and each platform's image config must
// name the architecture its descriptor claims.

import { readFileSync } from "node:fs";
import { descriptorPlatform, isAttestation } from "@multiarch/plan";

export interface PlatformCheck {
  digest?: string;
  /** Image manifest digest per platform: what "the same images" means (attestations aside). */
  manifests: Record<string, string>;
  found: string[];
  missing: string[];
  extra: string[];
  /** Platforms whose image config names another architecture than the index says. */
  mismatched: string[];
  ok: boolean;
}

interface Descriptor {
  mediaType?: string;
  digest: string;
  platform?: { os: string; architecture: string; variant?: string };
  annotations?: Record<string, string>;
}

/** An attestation entry: marked as one, or (written by other tools) of platform unknown/unknown. */
const notAnImage = (d: Descriptor): boolean => isAttestation(d) || (d.platform?.os === "unknown" && d.platform.architecture === "unknown");

function compare(expected: readonly string[], descriptors: Descriptor[], mismatched: string[], digest?: string): PlatformCheck {
  const found = descriptors.map((d) => descriptorPlatform(d.platform!));
  const manifests = Object.fromEntries(descriptors.map((d) => [descriptorPlatform(d.platform!), d.digest]));
  const missing = expected.filter((p) => !found.includes(p));
  const extra = found.filter((p) => !expected.includes(p));
  return {
    ...(digest ? { digest } : {}),
    manifests,
    found,
    missing,
    extra,
    mismatched,
    ok: missing.length === 0 && extra.length === 0 && mismatched.length === 0,
  };
}

/** One entry of `docker manifest inspect --verbose`: for one image, the platform its config names. */
interface VerboseEntry {
  Descriptor: Descriptor;
}

/**
 * Output of `docker buildx imagetools inspect REF --format '{{json .}}'` (index digest, descriptors and
 * each platform's image config), or of `docker manifest inspect --verbose REF` without buildx (an entry
 * per image of a list, or one for a single image).
 */
export function checkInspect(json: string, expected: readonly string[]): PlatformCheck {
  const raw = JSON.parse(json) as unknown;
  if (Array.isArray(raw) || (raw as Partial<VerboseEntry>)?.Descriptor) {
    const entries = (Array.isArray(raw) ? raw : [raw]) as VerboseEntry[];
    const descriptors = entries.map((e) => e.Descriptor).filter((d) => d.platform && !notAnImage(d));
    return compare(expected, descriptors, [], Array.isArray(raw) ? undefined : entries[0]!.Descriptor.digest);
  }
  const parsed = raw as {
    manifest?: { digest: string; manifests?: Descriptor[] };
    manifests?: Descriptor[];
    image?: Record<string, { architecture?: string; os?: string; variant?: string }> | { architecture?: string; os?: string; variant?: string };
  };
  const data = { manifest: parsed.manifest ?? { digest: "", manifests: parsed.manifests ?? [] }, image: parsed.image };
  const single = parsed.image as { architecture?: string; os?: string; variant?: string } | undefined;
  if (!data.manifest.manifests && single?.architecture) {
    // a single image, not an index (a per-arch image of the manifest strategy): its config says the platform
    const platform = { os: single.os ?? "linux", architecture: single.architecture, ...(single.variant ? { variant: single.variant } : {}) };
    return compare(expected, [{ digest: data.manifest.digest, platform }], [], data.manifest.digest || undefined);
  }
  const descriptors = (data.manifest.manifests ?? []).filter((d) => d.platform && !notAnImage(d));
  const found = descriptors.map((d) => descriptorPlatform(d.platform!));
  const configs = (data.image ?? {}) as Record<string, { architecture?: string; os?: string; variant?: string }>;
  const mismatched = found.filter((p) => {
    const c = configs[p];
    return (
      c !== undefined &&
      c.architecture !== undefined &&
      descriptorPlatform({ os: c.os ?? "linux", architecture: c.architecture, variant: c.variant ?? p.split("/")[2] }) !== p
    );
  });
  return compare(expected, descriptors, mismatched, data.manifest.digest || undefined);
}

/** A multi-platform OCI image layout archive (tar) as written by buildx's oci exporter. */
export function checkArchive(path: string, expected: readonly string[]): PlatformCheck {
  const files = readTar(readFileSync(path));
  const json = (name: string) => JSON.parse(files.get(name)?.toString("utf8") ?? "null");
  const blob = (digest: string) => json(`blobs/${digest.replace(":", "/")}`);
  const top = json("index.json") as { manifests: Descriptor[] };
  const images: Descriptor[] = [];
  const walk = (ds: Descriptor[]) => {
    for (const d of ds) {
      if (d.mediaType?.includes("index") || d.mediaType?.includes("manifest.list")) walk((blob(d.digest) as { manifests: Descriptor[] }).manifests);
      else if (d.platform && !notAnImage(d)) images.push(d);
    }
  };
  walk(top.manifests);
  return compare(expected, images, [], top.manifests[0]?.digest);
}

/** Just enough of ustar to read the small JSON files of an OCI layout. */
function readTar(buf: Buffer): Map<string, Buffer> {
  const files = new Map<string, Buffer>();
  let off = 0;
  while (off + 512 <= buf.length) {
    const header = buf.subarray(off, off + 512);
    if (header.every((b) => b === 0)) break;
    const str = (start: number, len: number) =>
      header
        .subarray(start, start + len)
        .toString("utf8")
        .replace(/\0.*$/s, "");
    const name = (str(345, 155) ? `${str(345, 155)}/` : "") + str(0, 100);
    const size = Number.parseInt(str(124, 12).trim() || "0", 8);
    const type = str(156, 1);
    if (type === "0" || type === "") files.set(name.replace(/^\.\//, ""), buf.subarray(off + 512, off + 512 + size));
    off += 512 + Math.ceil(size / 512) * 512;
  }
  return files;
}

/** The annotations the index in an imagetools inspect output lacks or holds with another value. */
export function indexAnnotationProblems(json: string, want: Readonly<Record<string, string>>): string[] {
  const held = (JSON.parse(json) as { manifest?: { annotations?: Record<string, string> } }).manifest?.annotations ?? {};
  return Object.entries(want)
    .filter(([k, v]) => held[k] !== v)
    .map(([k]) => (k in held ? `${k} differs` : `${k} is missing`));
}

/** The platforms of an imagetools inspect output whose image config lacks one of `labels`, each with what it lacks. */
export function configLabelProblems(json: string, labels: readonly string[]): string[] {
  type Config = { architecture?: string; config?: { Labels?: Record<string, string> | null } };
  const image = (JSON.parse(json) as { image?: Config | Record<string, Config> }).image ?? {};
  // one image (not an index): its config itself; an index: one config per platform
  const configs: [string, Config][] = "architecture" in image ? [["the image", image as Config]] : Object.entries(image as Record<string, Config>);
  if (configs.length === 0) return [`no image config to read ${labels.join(", ")} from`];
  return configs.flatMap(([platform, c]) => {
    const lacking = labels.filter((l) => !c.config?.Labels?.[l]);
    return lacking.length ? [`${platform} has no ${lacking.join(", ")}`] : [];
  });
}
