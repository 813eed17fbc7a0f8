// Verification of what was pushed or written: the set of platforms must equal the requested set exactly
// (attestation entries, unknown/unknown, are not platforms), and each platform's image config must
// name the architecture its descriptor claims. What a registry holds is read with the registry client.

import { readFileSync } from "node:fs";
import { configPlatform, descriptorPlatform, INPUT_HASH_LABEL, type ImageRef, isImageEntry } from "@multiarch/plan";
import type { ManifestResponse, RegistryClient } from "./registry.ts";

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

export interface Descriptor {
  mediaType?: string;
  size?: number;
  digest: string;
  platform?: { os: string; architecture: string; variant?: string };
  annotations?: Record<string, string>;
}

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

/** An image config, as far as verification reads it. */
interface ImageConfig {
  os?: string;
  architecture?: string;
  variant?: string;
  config?: { Labels?: Record<string, string> | null };
}

/** What a registry holds under a reference, as verification reads it over the registry API. */
export interface Inspection {
  digest: string;
  mediaType: string;
  /** An index (or list); otherwise one image manifest. */
  index: boolean;
  /** The index's annotations (none for one image). */
  annotations: Record<string, string>;
  /** Each image (attestations aside) with its manifest and config: for one image, its platform is its config's. */
  images: { descriptor: Descriptor; manifest: Record<string, unknown>; config: ImageConfig }[];
  /** The index's other entries (attestation manifests), not read. */
  others: Descriptor[];
}

/**
 * Reads the index (or the one image) `ref` names, each image's manifest and config: 1 + 2 requests per
 * platform. What verification checks, and what `multiarch inspect` shows.
 */
export async function inspectImage(client: RegistryClient, ref: ImageRef): Promise<Inspection> {
  const top = await client.manifest(ref);
  const configOf = async (m: ManifestResponse): Promise<ImageConfig> => {
    const digest = (m.json.config as { digest?: string } | undefined)?.digest;
    return digest ? ((await client.blob(ref, digest)) as ImageConfig) : {};
  };
  const manifests = top.json.manifests as Descriptor[] | undefined;
  if (!manifests) {
    const config = await configOf(top);
    const descriptor = { mediaType: top.mediaType, digest: top.digest, size: top.size, platform: configPlatform(config) };
    return { digest: top.digest, mediaType: top.mediaType, index: false, annotations: {}, images: [{ descriptor, manifest: top.json, config }], others: [] };
  }
  const images = await Promise.all(
    manifests.filter(isImageEntry).map(async (descriptor) => {
      const manifest = await client.manifest({ host: ref.host, path: ref.path, digest: descriptor.digest });
      return { descriptor, manifest: manifest.json, config: await configOf(manifest) };
    }),
  );
  const annotations = (top.json.annotations as Record<string, string> | undefined) ?? {};
  return { digest: top.digest, mediaType: top.mediaType, index: true, annotations, images, others: manifests.filter((d) => !isImageEntry(d)) };
}

/** The platforms an inspection holds against `expected`, and each index entry whose config names another platform. */
export function checkImage(seen: Inspection, expected: readonly string[]): PlatformCheck {
  const mismatched = seen.index
    ? seen.images
        .filter(({ descriptor, config: c }) => {
          const p = descriptorPlatform(descriptor.platform!);
          return (
            c.architecture !== undefined &&
            descriptorPlatform({ os: c.os ?? "linux", architecture: c.architecture, variant: c.variant ?? p.split("/")[2] }) !== p
          );
        })
        .map(({ descriptor }) => descriptorPlatform(descriptor.platform!))
    : [];
  return compare(
    expected,
    seen.images.map((i) => i.descriptor),
    mismatched,
    seen.digest,
  );
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
      else if (isImageEntry(d)) images.push(d);
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

/** The annotations the index lacks or holds with another value. */
export function indexAnnotationProblems(seen: Inspection, want: Readonly<Record<string, string>>): string[] {
  return Object.entries(want)
    .filter(([k, v]) => seen.annotations[k] !== v)
    .map(([k]) => (k in seen.annotations ? `${k} differs` : `${k} is missing`));
}

/** Each image read, by its platform ("the image" for a single one), with its config's labels. */
const perConfig = (seen: Inspection, problems: (who: string, labels: Readonly<Record<string, string>>) => string[]): string[] =>
  seen.images.flatMap(({ descriptor, config }) => problems(seen.index ? descriptorPlatform(descriptor.platform!) : "the image", config.config?.Labels ?? {}));

/** The platforms whose image config lacks one of `labels`, each with what it lacks. */
export function configLabelProblems(seen: Inspection, labels: readonly string[]): string[] {
  if (seen.images.length === 0) return [`no image config to read ${labels.join(", ")} from`];
  return perConfig(seen, (who, has) => {
    const lacking = labels.filter((l) => !has[l]);
    return lacking.length ? [`${who} has no ${lacking.join(", ")}`] : [];
  });
}

/** Each platform whose image config carries another input hash than `hash` (or none), said as "P was built from H". */
export function inputHashProblems(seen: Inspection, hash: string): string[] {
  if (seen.images.length === 0) return ["no image config to read the input hash from"];
  return perConfig(seen, (who, has) => {
    const built = has[INPUT_HASH_LABEL];
    return built === hash ? [] : [`${who} was built from ${built ? built.slice(0, 12) : "no recorded inputs"}`];
  });
}
