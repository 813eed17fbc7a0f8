// Strategy bake: one `docker buildx bake` over the whole bake file (dependencies resolved inside the run)
// that writes no tag: on buildx's docker driver each image goes to an OCI layout in the run's folder and
// the executor pushes it by digest; other drivers push by digest themselves (the publish file). Then
// verify, test, and point the user tags at the verified index.

import {
  type Arg,
  bakeStepId,
  type PlannedImage,
  type PlannedRef,
  type Platform,
  perArchTag,
  platformSlug,
  type Stage,
  type Step,
  type Yield,
} from "@multiarch/plan";
import type { Spec } from "@multiarch/spec";
import { type BakeFile, cacheRefs } from "./bake.ts";
import { publishStages } from "./publish-stages.ts";
import { archCheckSteps, docker, layoutOutput, layoutPushStep, loginSteps, publishStep, testSteps, verifySteps } from "./steps.ts";

export interface BakePaths {
  bakeFile: string;
  publishFile: string | undefined;
}

const METADATA = "bake-metadata.json";
/**
 * Targets per bake run. One bake of a few hundred targets on a small machine ends in BuildKit's
 * "context deadline exceeded" (seen with 200 here). An image and everything it builds FROM stay in one
 * batch: a later bake would build the base again through its target: link and export it over the
 * first one (another digest: provenance carries build times), which the run then refuses to push.
 */
export const BAKE_BATCH = 32;
/**
 * Targets per bake run when bake writes OCI layouts (buildx's docker driver): its exports stream every
 * layer to buildx over one session, and 30 of them at once ended in "context deadline exceeded" on 2
 * busy cores where 10 took 16 s and 20 took 45-65 s (measured).
 */
export const LAYOUT_BAKE_BATCH = 10;

/** Connected groups of images (image: links), packed into batches of at most `max`; a larger group is one batch. */
export function bakeBatches<T extends { name: string; dependsOn: readonly string[] }>(images: readonly T[], max = BAKE_BATCH): T[][] {
  const parent = new Map(images.map((i) => [i.name, i.name]));
  const find = (n: string): string => {
    const p = parent.get(n)!;
    if (p === n) return n;
    const root = find(p);
    parent.set(n, root);
    return root;
  };
  for (const i of images) for (const d of i.dependsOn) if (parent.has(d)) parent.set(find(i.name), find(d));
  const groups = new Map<string, T[]>();
  for (const i of images) {
    const root = find(i.name);
    const group = groups.get(root);
    if (group) group.push(i);
    else groups.set(root, [i]);
  }
  const batches: T[][] = [];
  for (const group of groups.values()) {
    const last = batches.at(-1);
    if (last && last.length + group.length <= max) last.push(...group);
    else batches.push([...group]);
  }
  // within a batch, spec (dependency) order
  const order = new Map(images.map((i, n) => [i.name, n]));
  return batches.map((b) => b.sort((x, y) => order.get(x.name)! - order.get(y.name)!));
}

/** bake's own arguments; its metadata file (the digest of each target it built) goes to the run's private folder. */
export function bakeFileArgs(paths: BakePaths, builder: string | undefined, metadata = METADATA): Arg[] {
  return [
    "buildx",
    "bake",
    "-f",
    paths.bakeFile,
    ...(paths.publishFile ? ["-f", paths.publishFile] : []),
    ...(builder ? ["--builder", builder] : []),
    "--metadata-file",
    { runFile: metadata },
  ];
}

/** What bake built for each image under each staging ref (one digest per target), and whether bake pushed it. */
const bakeYields = (images: readonly PlannedImage[], pushed: boolean, ref: (img: PlannedImage, r: PlannedRef) => string, file = METADATA): Yield[] =>
  images.flatMap((img) => img.refs.map((r): Yield => ({ ref: ref(img, r), pushed, from: "metadata", file, target: img.name })));

/** The OCI layouts bake writes (buildx's docker driver): one per target, in the run's folder. */
export interface LayoutOutputs {
  /** rewrite-timestamp=true: layer timestamps clamped to SOURCE_DATE_EPOCH (reproducible digests). */
  rewriteTimestamp: boolean;
  /**
   * The images whose digests can repeat (provenance off, no SBOM): only they get rewrite-timestamp, which
   * costs about 2 s per export even from cache (measured); an attestation records build times anyway.
   */
  reproducible: ReadonlySet<string>;
}

const layoutSets = (images: readonly PlannedImage[], layout: LayoutOutputs, slug = ""): Arg[] =>
  images.flatMap((i) => ["--set", layoutOutput(`${i.name}.output=`, layoutDir(slug), layout.rewriteTimestamp && layout.reproducible.has(i.name))]);
/**
 * Every target of a bake writes into one layout (each image an entry of its index.json, found by the
 * digest bake reports): buildx holds one lock per blob across all its stores, so targets writing their
 * own layouts wrote each shared base layer one after another, and 30 targets ended in "context deadline
 * exceeded" (20 targets: 1,046 "locked" retries and 65 s apart, 29 and 45 s in one layout; measured).
 */
const layoutDir = (slug: string) => `oci${slug ? `-${slug}` : ""}`;

export function bakeStages(spec: Spec, all: readonly PlannedImage[], paths: BakePaths, layout: LayoutOutputs | undefined): Stage[] {
  // Reused images (their inputs' index is already published under another tag) are verified and published, not built.
  const images = all.filter((i) => !i.reuse);
  const batches = bakeBatches(images, layout ? LAYOUT_BAKE_BATCH : BAKE_BATCH);
  const builds = batches.map((batch, n): Step => {
    const metadata = batches.length > 1 ? `bake-metadata-${n + 1}.json` : METADATA;
    return {
      id: bakeStepId(batches.length > 1 ? n + 1 : undefined),
      kind: "bake",
      commands: [
        docker(
          [
            ...bakeFileArgs(paths, spec.build.builder, metadata),
            ...(layout
              ? layoutSets(
                  batch.filter((i) => i.refs.length),
                  layout,
                )
              : []),
            ...batch.map((i) => i.name),
          ],
          bakeEnv(secretEnv(spec, batch)),
        ),
      ],
      inputs: [paths.bakeFile, ...(paths.publishFile ? [paths.publishFile] : [])],
      produces: batch.flatMap((i) => (i.archive ? [i.archive] : i.refs.map((r) => r.staging))),
      yields: bakeYields(batch, !layout, (_i, r) => r.staging, metadata),
      targets: batch.map((i) => i.name),
    };
  });
  const push: Step[] = layout ? images.flatMap((img) => img.refs.map((ref) => layoutPushStep(img.name, ref, ref.staging, layoutDir("")))) : [];
  return [
    { name: "login", steps: loginSteps(spec, all) },
    ...builds.map((b, n) => ({ name: builds.length > 1 ? `build-${n + 1}` : "build", steps: [b] })),
    { name: "push", steps: push },
    // Smoke tests read the staging index too, so they run beside its verification.
    { name: "verify", steps: [...verifySteps(all), ...testSteps(images)] },
    ...publishStages({ images: all, sign: spec.sign, publish: (img, ref) => publishStep(img.name, ref, spec.sign !== undefined) }),
  ].filter((s) => s.steps.length > 0);
}

/**
 * A bake's environment: the secrets' variables by name, and BUILDX_NO_DEFAULT_LOAD. bake builds a target
 * another links (contexts: target:NAME) without its outputs, and buildx's docker driver loads an image built
 * without outputs into the engine under the target's tags: a dependency nobody selected was named there
 * under the user's tags, unverified. With it, such a build stays in the build cache, as on other drivers.
 */
const bakeEnv = (names: string[]) => ({ ...(names.length ? { env: names } : {}), setEnv: { BUILDX_NO_DEFAULT_LOAD: "1" } });

/** Env variable names build secrets read; bake needs them set, the plan records only names. */
export function secretEnv(spec: Spec, images: readonly PlannedImage[]): string[] {
  const names = new Set(images.map((i) => i.name));
  return [...new Set(spec.images.filter((i) => names.has(i.name)).flatMap((i) => i.secrets.flatMap((s) => (s.env ? [s.env] : []))))].sort();
}

/**
 * The share of one platform: the same bake file restricted with --set to that platform, pushed by digest
 * (recorded under per-arch keys, no tag), with that platform's own cache (shards never overwrite each
 * other's cache).
 */
export function bakeArchSteps(
  spec: Spec,
  images: readonly PlannedImage[],
  bake: BakeFile,
  paths: BakePaths,
  p: Platform,
  layout: LayoutOutputs | undefined,
): Step[] {
  const mine = images.filter((i) => i.platforms.includes(p));
  const sets: string[] = ["--set", `*.platform=${p}`];
  const byName = new Map(spec.images.map((i) => [i.name, i]));
  for (const img of mine) {
    const spImg = byName.get(img.name)!;
    const cache = cacheRefs(spec, spImg, p);
    if (cache && bake.target[img.name]) sets.push("--set", `${img.name}.cache-from=${cache.from}`, "--set", `${img.name}.cache-to=${cache.to}`);
  }
  return [
    ...loginSteps(spec, mine),
    {
      id: bakeStepId(p),
      kind: "bake",
      platform: p,
      commands: [
        docker(
          [
            ...bakeFileArgs(paths, spec.build.builder),
            ...sets,
            ...(layout
              ? layoutSets(
                  mine.filter((i) => i.refs.length),
                  layout,
                  platformSlug(p),
                )
              : []),
            ...mine.map((i) => i.name),
          ],
          bakeEnv(secretEnv(spec, mine)),
        ),
      ],
      inputs: [paths.bakeFile, ...(paths.publishFile ? [paths.publishFile] : [])],
      produces: mine.flatMap((i) => i.refs.map((r) => perArchTag(r.staging, p))),
      yields: bakeYields(mine, !layout, (_i, r) => perArchTag(r.staging, p)),
      targets: mine.map((i) => i.name),
    },
    // On the docker driver bake writes layouts: the shard's images reach the registry here, by digest.
    ...(layout ? mine.flatMap((img) => img.refs.map((r) => layoutPushStep(img.name, r, perArchTag(r.staging, p), layoutDir(platformSlug(p)), p))) : []),
    ...archCheckSteps(mine, p),
  ];
}

/**
 * The publish file, for builders that push by digest themselves (not buildx's docker driver, whose bake
 * writes layouts): each built image's output pushed by digest, no tag.
 */
export function publishTargets(built: readonly PlannedImage[], rewriteTimestamp: boolean): Record<string, { tags: string[]; output: string[] }> {
  return Object.fromEntries(
    built
      .filter((p) => p.refs.length)
      .map((p) => [
        p.name,
        {
          tags: p.refs.map((r) => r.name),
          output: [
            `type=image,push=true,push-by-digest=true,name-canonical=true${p.refs.some((r) => r.insecure) ? ",registry.insecure=true" : ""}${rewriteTimestamp ? ",rewrite-timestamp=true" : ""}`,
          ],
        },
      ]),
  );
}
