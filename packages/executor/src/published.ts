// What the user tags hold now, read over the registry API before the run: each tag's index digest,
// its platforms (attestations aside) and the input hash it was built from (the index's annotation, or
// the label on its first image's config for indexes `docker manifest` made).
import {
  configPlatform,
  descriptorPlatform,
  INPUT_HASH_LABEL,
  INPUT_PARTS_LABEL,
  isImageEntry,
  type PublishedTag,
  parseImageRef,
  parsePartsText,
} from "@multiarch/plan";
import { mapLimit } from "./concurrency.ts";
import { RegistryClient, type RegistryClientOptions, RegistryError } from "./registry.ts";

type Env = Readonly<Record<string, string | undefined>>;

interface Descriptor {
  digest: string;
  platform?: { os: string; architecture: string; variant?: string };
  annotations?: Record<string, string>;
}

type Labelled = { blob?: Record<string, unknown>; labels: Record<string, string> };

/** `configs`: what each image manifest's config said, by digest, shared by the tags read in one run. */
export async function readTag(client: RegistryClient, ref: string, configs = new Map<string, Promise<Labelled>>()): Promise<PublishedTag | null> {
  const parsed = parseImageRef(ref);
  if (!parsed.ok) return null;
  let m: Awaited<ReturnType<RegistryClient["manifest"]>>;
  try {
    m = await client.manifest(parsed.value);
  } catch (e) {
    if (e instanceof RegistryError && e.status === 404) return null;
    throw e;
  }
  const manifests = (m.json.manifests as Descriptor[] | undefined) ?? [];
  const images = manifests.filter(isImageEntry);
  const platforms = images.map((d) => descriptorPlatform(d.platform!));
  const byPlatform = Object.fromEntries(images.map((d, i) => [platforms[i]!, d.digest]));
  const annotations = (m.json.annotations as Record<string, string> | undefined) ?? {};
  let hash = annotations[INPUT_HASH_LABEL];
  let parts = annotations[INPUT_PARTS_LABEL];
  if (!hash) {
    // An index without our annotation (docker manifest), or a single image: the labels of its images'
    // configs, every one of them. A list someone made of one build's amd64 and another's arm64 holds two
    // hashes: it is none of them (the first alone was trusted, and such a list reused onto a new tag).
    const read = async (digest: string): Promise<Labelled> => {
      const manifest = digest === m.digest ? m : await client.manifest({ ...parsed.value, digest });
      const config = (manifest.json.config as { digest?: string } | undefined)?.digest;
      const blob = config ? await client.blob(parsed.value, config) : undefined;
      return { blob, labels: ((blob?.config as { Labels?: Record<string, string> } | undefined)?.Labels ?? {}) as Record<string, string> };
    };
    // an image's tags usually hold one index: its images are read once
    const labelsOf = (digest: string) => {
      const known = configs.get(digest);
      if (known) return known;
      const p = read(digest);
      configs.set(digest, p);
      return p;
    };
    const digests = manifests.length === 0 ? [m.digest] : images.map((d) => d.digest);
    const found = await Promise.all(digests.map(labelsOf));
    const hashes = new Set(found.map((r) => r.labels[INPUT_HASH_LABEL]));
    if (found.length > 0 && hashes.size === 1) {
      hash = found[0]!.labels[INPUT_HASH_LABEL];
      parts = found[0]!.labels[INPUT_PARTS_LABEL];
    }
    const single = manifests.length === 0 ? found[0]?.blob : undefined;
    if (single) platforms.push(descriptorPlatform(configPlatform(single)));
  }
  const p = parsePartsText(parts);
  return { digest: m.digest, platforms, manifests: byPlatform, ...(hash ? { inputHash: hash } : {}), ...(p ? { inputParts: p } : {}) };
}

/**
 * Every ref's state, at most 16 requests at once over kept-alive connections. A tag that cannot be read
 * counts as holding nothing (the image is built), and is reported in `problems`; a registry that did not
 * answer at all (no answer in time, or the connection refused) is in `unanswered` too, with its first error.
 */
export async function readPublished(
  refs: readonly string[],
  env: Env,
  insecureHosts: readonly string[],
  opts: Pick<RegistryClientOptions, "credentials" | "onWait" | "signal"> = {},
): Promise<{ tags: Record<string, PublishedTag | null>; problems: string[]; unanswered: Record<string, string> }> {
  // the spec's own credentials first: a CI runner may have nothing in docker's config before the login step
  const client = new RegistryClient({ env, insecureHosts, ...opts });
  const tags: Record<string, PublishedTag | null> = {};
  const problems: string[] = [];
  const unanswered: Record<string, string> = {};
  const configs = new Map<string, Promise<Labelled>>();
  await mapLimit([...new Set(refs)], 16, async (ref) => {
    try {
      tags[ref] = await readTag(client, ref, configs);
    } catch (e) {
      // left out: unknown, which is not "no such tag" (null)
      problems.push(`${ref}: ${(e as Error).message}`);
      const host = parseImageRef(ref);
      if (e instanceof RegistryError && e.noAnswer && host.ok) unanswered[host.value.host] ??= e.message;
    }
  });
  return { tags, problems, unanswered };
}
