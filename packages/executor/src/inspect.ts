// multiarch inspect: what a pushed reference holds, read over the registry API (no engine needed):
// the index, each platform's image with its size (manifest + config + layers), attestations apart; read as
// verification reads it (verify.ts).
import { attestedDigest, descriptorPlatform, parseImageRef } from "@multiarch/plan";
import { RegistryClient, RegistryError } from "./registry.ts";
import { type Descriptor, inspectImage } from "./verify.ts";

type Env = Readonly<Record<string, string | undefined>>;

export interface Inspected {
  ref: string;
  digest: string;
  mediaType: string;
  images: { platform: string; digest: string; size: number }[];
  /** Attestation manifests, and the image each describes. */
  attestations: { for: string; digest: string; size: number }[];
}

export async function inspectRef(
  ref: string,
  env: Env,
  insecureHosts: readonly string[] = [],
  signal?: AbortSignal,
): Promise<{ ok: true; value: Inspected } | { ok: false; message: string }> {
  const parsed = parseImageRef(ref);
  if (!parsed.ok) return { ok: false, message: parsed.message };
  const client = new RegistryClient({ env, insecureHosts, ...(signal ? { signal } : {}) });
  // manifest + config + layers, as the registry stores them
  const sizeOf = (m: Record<string, unknown>): number => {
    const layers = (m.layers as Descriptor[] | undefined) ?? [];
    const config = m.config as Descriptor | undefined;
    return JSON.stringify(m).length + (config?.size ?? 0) + layers.reduce((n, l) => n + (l.size ?? 0), 0);
  };
  try {
    const seen = await inspectImage(client, parsed.value);
    const images = seen.images.map((i) => ({ platform: descriptorPlatform(i.descriptor.platform!), digest: i.descriptor.digest, size: sizeOf(i.manifest) }));
    const attestations = await Promise.all(
      seen.others.map(async (d) => ({
        for: attestedDigest(d),
        digest: d.digest,
        size: sizeOf((await client.manifest({ host: parsed.value.host, path: parsed.value.path, digest: d.digest })).json),
      })),
    );
    return { ok: true, value: { ref, digest: seen.digest, mediaType: seen.mediaType, images, attestations } };
  } catch (e) {
    // a 404 of the ref itself: the tag (or digest) is not there, which the registry's path does not say plainly
    const absent = e instanceof RegistryError && e.status === 404 && e.message.includes(`manifests ${parsed.value.digest ?? parsed.value.tag ?? "latest"}:`);
    return {
      ok: false,
      message: absent ? `the registry has no such ${parsed.value.digest ? "digest" : "tag"} (${(e as Error).message})` : (e as Error).message,
    };
  }
}
