// multiarch inspect: what a pushed reference holds, read over the registry API (no engine needed):
// the index, each platform's image with its size (manifest + config + layers), attestations apart.
import { attestedDigest, descriptorPlatform, isAttestation, parseImageRef } from "@multiarch/plan";
import { RegistryClient } from "./registry.ts";

type Env = Readonly<Record<string, string | undefined>>;

interface Descriptor {
  digest: string;
  size?: number;
  mediaType?: string;
  platform?: { os: string; architecture: string; variant?: string };
  annotations?: Record<string, string>;
}

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
): Promise<{ ok: true; value: Inspected } | { ok: false; message: string }> {
  const parsed = parseImageRef(ref);
  if (!parsed.ok) return { ok: false, message: parsed.message };
  const client = new RegistryClient({ env, insecureHosts });
  const sizeOf = async (digest: string): Promise<number> => {
    const m = await client.manifest({ ...parsed.value, digest });
    const layers = (m.json.layers as Descriptor[] | undefined) ?? [];
    const config = m.json.config as Descriptor | undefined;
    return JSON.stringify(m.json).length + (config?.size ?? 0) + layers.reduce((n, l) => n + (l.size ?? 0), 0);
  };
  try {
    const top = await client.manifest(parsed.value);
    const value: Inspected = { ref, digest: top.digest, mediaType: top.mediaType, images: [], attestations: [] };
    const list = top.json.manifests as Descriptor[] | undefined;
    if (!list) {
      // a single image: its config says the platform
      const config = top.json.config as Descriptor;
      const c = await client.blob(parsed.value, config.digest);
      const platform = descriptorPlatform({
        os: String(c.os ?? "linux"),
        architecture: String(c.architecture ?? "unknown"),
        ...(c.variant ? { variant: String(c.variant) } : {}),
      });
      value.images.push({ platform, digest: top.digest, size: await sizeOf(top.digest) });
      return { ok: true, value };
    }
    await Promise.all(
      list.map(async (d) => {
        const attestation = isAttestation(d);
        const size = await sizeOf(d.digest);
        if (attestation) value.attestations.push({ for: attestedDigest(d), digest: d.digest, size });
        else if (d.platform) value.images.push({ platform: descriptorPlatform(d.platform), digest: d.digest, size });
      }),
    );
    const order = list.map((d) => d.digest);
    value.images.sort((a, b) => order.indexOf(a.digest) - order.indexOf(b.digest));
    return { ok: true, value };
  } catch (e) {
    return { ok: false, message: (e as Error).message };
  }
}
