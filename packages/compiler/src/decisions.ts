// What a run decides per image before any step exists: why its user tags stay where they are (a subset,
// a dependency, --no-publish, --load), and, from its input hash and what its tags hold now, whether it
// is up to date, can reuse a published index, or builds.
import { type Platform, type PlannedRef, sha256 } from "@multiarch/plan";
import type { Image, Spec } from "@multiarch/spec";
import { type Decision, decide, type ImageHash } from "./input-hashes.ts";
import type { Facts, RenderedImage } from "./render.ts";
import { plannedRefs } from "./steps.ts";

/** Who signs, as the input hash records it: the public key's source, or the keyless identity. */
export const signer = (spec: Spec): string | undefined =>
  spec.sign?.mode === "key" ? `key ${JSON.stringify(spec.sign.publicKey)}` : spec.sign ? `keyless ${spec.sign.issuer} ${spec.sign.identity}` : undefined;

/**
 * Where apply --no-push names its OCI archives (multiarch.local/CHECKOUT/IMAGE:TAG): loaded for their tests,
 * they never take a name the engine already had (app:latest, docker.io/library's), and they go after them.
 * CHECKOUT is a hash of the spec's path: two checkouts sharing an engine (two jobs of one self-hosted
 * runner's machine) test and remove their own images, not each other's; one checkout's runs take turns (the lock).
 */
export const checkNamespace = (spec: Spec): string => `multiarch.local/${sha256(spec.file).slice(0, 8)}`;

/** --no-push: each image an OCI archive (no registry, so no credentials); a registry cache is not read or written. */
export function localOnly(spec: Spec): Spec {
  return {
    ...spec,
    images: spec.images.map(({ cache, ...i }) => ({ ...i, registries: [], ...(cache && cache.type !== "registry" ? { cache } : {}) })),
  };
}

/** Why an image's user tags stay where they are in this run; absent: it publishes. */
export function publishDecisions(
  spec: Spec,
  images: readonly Image[],
  selected: ReadonlySet<string>,
  options: { load?: boolean; noPublish?: boolean },
): Map<string, string> {
  const out = new Map<string, string>();
  const full = new Map(spec.images.map((i) => [i.name, i.platforms]));
  // the selected images that build on each image, in images' order
  const usersOf = new Map<string, string[]>();
  for (const i of images) {
    if (!selected.has(i.name)) continue;
    for (const d of new Set(i.dependsOn)) {
      const users = usersOf.get(d);
      if (users) users.push(i.name);
      else usersOf.set(d, [i.name]);
    }
  }
  for (const img of images) {
    const users = usersOf.get(img.name) ?? [];
    if (img.registries.length === 0) {
      // an OCI archive is written, never published; bake builds an unselected one through its users' links only
      if (!selected.has(img.name))
        out.set(
          img.name,
          `dependency of ${users.join(", ") || "a selected image"}: built with it, no archive written (select it with --image ${img.name} to write one)`,
        );
      continue;
    }
    const planned = full.get(img.name)!;
    const built = img.platforms;
    if (!img.publish) {
      out.set(img.name, `internal image (publish: false)${users.length ? `: built for ${users.join(", ")}` : ""}`);
    } else if (!selected.has(img.name)) {
      out.set(
        img.name,
        `dependency of ${users.join(", ") || "a selected image"}: built with it when it is built, never published (select it with --image ${img.name} to publish it)`,
      );
    } else if (built.length < planned.length) {
      out.set(
        img.name,
        `subset of the planned platforms: built ${built.join(", ")} of ${planned.join(", ")}; a tag only moves to an index with every planned platform`,
      );
    } else if (options.load) out.set(img.name, "--load: loaded into the engine instead of published");
    else if (options.noPublish) out.set(img.name, "--no-publish");
  }
  return out;
}

/**
 * Incremental runs: for each image that may publish, what its tags hold now against its input hash
 * (up to date, reusable elsewhere, or what changed). Absent: built without a comparison.
 */
export function incrementalDecisions(
  spec: Spec,
  rendered: readonly RenderedImage[],
  hashes: ReadonlyMap<string, ImageHash>,
  published: Facts["published"],
  /** The platforms an image's tags must hold to be up to date; undefined: no decision, it is built. */
  platformsFor: (r: RenderedImage) => readonly Platform[] | undefined,
): Map<string, Decision> {
  const decisions = new Map<string, Decision>();
  for (const r of rendered) {
    const h = hashes.get(r.image.name);
    const platforms = platformsFor(r);
    if (h && published && platforms) {
      const refs: PlannedRef[] = plannedRefs(spec, r, "");
      decisions.set(r.image.name, decide({ name: r.image.name, platforms: [...platforms], dependsOn: [], refs }, h, published));
    }
  }
  return decisions;
}

/** An image not built in this run is FROM'd by digest: what its tags hold (or are about to). */
export function externalBases(spec: Spec, rendered: readonly RenderedImage[], decisions: ReadonlyMap<string, Decision>): Map<string, string> {
  const external = new Map<string, string>();
  for (const r of rendered) {
    const d = decisions.get(r.image.name);
    const first = plannedRefs(spec, r, "")[0];
    if (first && d?.kind === "up-to-date") external.set(r.image.name, `docker-image://${first.name}@${d.digest}`);
    if (first && d?.kind === "reuse") external.set(r.image.name, `docker-image://${first.name}@${d.digests[first.name]}`);
  }
  return external;
}
