// What the user tags hold now, read over the registry API before the run: each tag's index digest,
// its platforms (attestations aside) and the input hash it was built from (the index's annotation, or
// the label on its first image's config for indexes `docker manifest` made).
import { descriptorPlatform, INPUT_HASH_LABEL, INPUT_PARTS_LABEL, isAttestation, type PublishedTag, parseImageRef, parsePartsText } from "@multiarch/plan";
import { mapLimit } from "./concurrency.ts";
import { RegistryClient, type RegistryClientOptions, RegistryError } from "./registry.ts";

type Env = Readonly<Record<string, string | undefined>>;

interface Descriptor {
  digest: string;
  platform?: { os: string; architecture: string; variant?: string };
  annotations?: Record<string, string>;
}

export async function readTag(client: RegistryClient, ref: string): Promise<PublishedTag | null> {
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
  const images = manifests.filter((d) => d.platform && d.platform.os !== "unknown" && !isAttestation(d));
  const platforms = images.map((d) => descriptorPlatform(d.platform!));
  const byPlatform = Object.fromEntries(images.map((d, i) => [platforms[i]!, d.digest]));
  const annotations = (m.json.annotations as Record<string, string> | undefined) ?? {};
  let hash = annotations[INPUT_HASH_LABEL];
  let parts = annotations[INPUT_PARTS_LABEL];
  if (!hash) {
    // an index without our annotation (docker manifest), or a single image: read the config's labels
    const first = images[0]?.digest ?? (manifests.length === 0 ? m.digest : undefined);
    if (first) {
      const manifest = first === m.digest ? m : await client.manifest({ ...parsed.value, digest: first });
      const config = (manifest.json.config as { digest?: string } | undefined)?.digest;
      if (config) {
        const blob = await client.blob(parsed.value, config);
        const labels = ((blob.config as { Labels?: Record<string, string> } | undefined)?.Labels ?? {}) as Record<string, string>;
        hash = labels[INPUT_HASH_LABEL];
        parts = labels[INPUT_PARTS_LABEL];
        if (manifests.length === 0)
          platforms.push(
            descriptorPlatform({
              os: String(blob.os ?? ""),
              architecture: String(blob.architecture ?? ""),
              variant: blob.variant ? String(blob.variant) : undefined,
            }),
          );
      }
    }
  }
  const p = parsePartsText(parts);
  return { digest: m.digest, platforms, manifests: byPlatform, ...(hash ? { inputHash: hash } : {}), ...(p ? { inputParts: p } : {}) };
}

/**
 * Every ref's state, at most 16 requests at once over kept-alive connections. A tag that cannot be read
 * counts as holding nothing (the image is built), and is reported in `problems`.
 */
export async function readPublished(
  refs: readonly string[],
  env: Env,
  insecureHosts: readonly string[],
  credentials?: RegistryClientOptions["credentials"],
): Promise<{ tags: Record<string, PublishedTag | null>; problems: string[] }> {
  // the spec's own credentials first: a CI runner may have nothing in docker's config before the login step
  const client = new RegistryClient({ env, insecureHosts, ...(credentials ? { credentials } : {}) });
  const tags: Record<string, PublishedTag | null> = {};
  const problems: string[] = [];
  await mapLimit([...new Set(refs)], 16, async (ref) => {
    try {
      tags[ref] = await readTag(client, ref);
    } catch (e) {
      tags[ref] = null;
      problems.push(`${ref}: ${(e as Error).message}`);
    }
  });
  return { tags, problems };
}
