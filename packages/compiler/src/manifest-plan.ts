// Strategy manifest, for engines that cannot build several platforms at once: one `docker build` per
// image and platform (plain manifests: --provenance=false, so each per-arch image is one manifest), each
// written as an OCI layout into the run's folder and pushed by digest, then an index of them pushed by
// digest (in-process, no tag). Images build in dependency order; a dependent image builds FROM its
// base's image of the same arch, by digest. User tags (the multi-arch ones and the per-arch <tag>-<arch>
// ones) are written in the publish stage, after verification and tests passed. The legacy builder
// (no buildx) cannot write layouts: it tags, pushes and merges with `docker manifest` under staging tags.
// An image whose spec asks for attestations builds a per-arch index instead (image and attestation
// manifests, with its cache, as any image with cache:); the index of the run takes them as they are.

import {
  type Arg,
  buildStepId,
  type Command,
  type EngineFacts,
  type PlannedImage,
  type PlannedRef,
  type Platform,
  perArchTag,
  platformParts,
  platformSlug,
  refStepId,
  type Stage,
  type Step,
  tagPushStepId,
  type Yield,
} from "@multiarch/plan";
import { type Diagnostic, diag, type Image, type Spec } from "@multiarch/spec";
import { cacheRefs, secretFlag } from "./bake.ts";
import { buildFlags, buildOptions } from "./build-options.ts";
import type { RenderedImage } from "./render.ts";
import { publishStages } from "./publish-stages.ts";
import { docker, layoutOutput, layoutPushStep, loginSteps, moveTags, testSteps, verifySteps } from "./steps.ts";

/** Per-arch staging reference: what this run pushes, merges, and what dependents build FROM. */
const archRef = (ref: PlannedRef, p: Platform): string => perArchTag(ref.staging, p);

/** Attestations the spec asked for (attest: written): per-arch images are then indexes, whose entries the run's index takes as they are. */
export const attests = (img: Image): boolean => img.attest.asked && (img.attest.provenance !== false || img.attest.sbom);

/** buildx flags for attestations and this platform's cache (the same cache a shard of this platform uses). */
function buildxFlags(spec: Spec, img: Image, p: Platform): string[] {
  // unasked, none: a plain image manifest, which `docker manifest create` takes
  const flags = attests(img)
    ? [img.attest.provenance === false ? "--provenance=false" : `--provenance=mode=${img.attest.provenance}`, ...(img.attest.sbom ? ["--sbom=true"] : [])]
    : ["--provenance=false"];
  const cache = cacheRefs(spec, img, p);
  if (cache) flags.push(...[cache.from, ...img.cache!.from].flatMap((f) => ["--cache-from", f]), "--cache-to", cache.to);
  return flags;
}

/** The OCI layout one image's build for one platform writes (buildx), in the run's folder. */
const layoutDir = (image: string, p: Platform) => `oci-${image}-${platformSlug(p)}`;

/** `rewriteTimestamp`: layouts' layer timestamps clamped to SOURCE_DATE_EPOCH; undefined: the legacy builder's tags. */
function buildStep(
  spec: Spec,
  r: RenderedImage,
  planned: PlannedImage,
  all: ReadonlyMap<string, PlannedImage>,
  p: Platform,
  rewriteTimestamp: boolean | undefined,
): Step {
  const legacy = rewriteTimestamp === undefined;
  const img = r.image;
  const slug = platformSlug(p);
  // buildx writes what it built (its digest) to a metadata file in the run's folder; the legacy builder
  // (no buildx) cannot, and knows neither attestations nor cache flags (manifestRules refuses them there).
  const metadata = `build-${img.name}-${slug}.json`;
  const args: Command["args"] = [
    "build",
    "--platform",
    p,
    ...(legacy ? [] : [...buildxFlags(spec, img, p), "--metadata-file", { runFile: metadata }]),
    "--file",
    `${img.context}/${img.dockerfile}`,
    ...buildFlags(buildOptions(img)),
  ];
  for (const [k, v] of Object.entries(r.args)) args.push("--build-arg", `${k}=${v}`);
  for (const [k, v] of Object.entries(r.labels)) args.push("--label", `${k}=${v}`);
  for (const s of img.secrets) args.push("--secret", secretFlag(s));
  const inputs: string[] = [];
  for (const c of img.contexts) {
    if (c.kind === "image") {
      const dep = all.get(c.image)!;
      const depRef = archRef(dep.refs[0]!, p);
      const published = dep.upToDate?.digest ?? dep.reuse?.[dep.refs[0]!.name];
      // FROM the base image this run built, by digest (a concurrent run may have moved its staging tag),
      // or the published index of a base this run does not build.
      if (published) args.push("--build-context", `${c.name}=docker-image://${dep.refs[0]!.name}@${published}`);
      else args.push("--build-context", { built: depRef, prefix: `${c.name}=docker-image://` });
      inputs.push(depRef);
    } else args.push("--build-context", `${c.name}=${c.kind === "local" ? c.path : c.ref}`);
  }
  const produces = planned.refs.map((ref) => archRef(ref, p));
  if (legacy) for (const ref of produces) args.push("--tag", ref);
  else args.push("--output", layoutOutput("", layoutDir(img.name, p), rewriteTimestamp));
  args.push(img.context);
  return {
    id: buildStepId(img.name, p),
    kind: "build",
    image: img.name,
    platform: p,
    commands: [docker(args, img.secrets.some((s) => s.env) ? { env: img.secrets.flatMap((s) => (s.env ? [s.env] : [])) } : {})],
    inputs,
    produces,
    ...(legacy ? {} : { yields: produces.map((ref): Yield => ({ ref, pushed: false, from: "metadata", file: metadata })) }),
  };
}

/**
 * rm (a stale local list makes create fail), create --amend each arch, annotate variants, push. `sources`
 * name each platform's image by digest (what this run pushed, or what verification saw), never by tag.
 */
export function manifestCommands(ref: PlannedRef, target: string, platforms: readonly Platform[], sources: readonly Arg[], moves: boolean): Command[] {
  const insecure = ref.insecure ? ["--insecure"] : [];
  return [
    docker(["manifest", "rm", target], { mayFail: true }),
    docker(["manifest", "create", ...insecure, target, ...sources.flatMap((s) => ["--amend", s])]),
    // Only the variant: os and arch stay what the image's config says, so a wrong-arch build shows.
    ...platforms.flatMap((p, i) => {
      const { variant } = platformParts(p);
      return variant ? [docker(["manifest", "annotate", target, sources[i]!, "--variant", variant])] : [];
    }),
    docker(["manifest", "push", ...insecure, target], moves ? { moves: target } : {}),
  ];
}

/**
 * The manifest strategy's publish of one repository: its tags, each to the verified multi-arch index (its
 * very bytes, in-process), or to a list `docker manifest` makes again of the verified per-arch images
 * (the legacy builder, which has no imagetools). Never a tag of one platform: a user tag moves only to an
 * index of every planned platform.
 */
export function manifestPublishStep(image: string, ref: PlannedRef, platforms: readonly Platform[], legacy: boolean, copy: { signed?: boolean } = {}): Step {
  const verified = (p: Platform): Arg => ({ verified: ref.staging, platform: p });
  const targets = ref.tags.map((t) => `${ref.name}:${t}`);
  return {
    id: refStepId("publish", image, ref),
    kind: "publish",
    image,
    registry: ref.registry,
    // the multi-arch tags: the verified index itself (buildx), or a list `docker manifest` makes again (legacy)
    commands: legacy ? targets.flatMap((t) => manifestCommands(ref, t, platforms, platforms.map(verified), true)) : [],
    ...(legacy ? {} : { moveTags: moveTags(ref, copy.signed) }),
    inputs: platforms.map((p) => archRef(ref, p)),
    produces: targets,
  };
}

/**
 * What only the manifest strategy needs: a registry to merge in, buildx for secrets and named contexts,
 * and for attestations and cache export an engine that can store them (buildx's docker driver only
 * with the containerd image store). `engine`: what the engine can do, when it was asked.
 */
export function manifestRules(rendered: readonly RenderedImage[], legacy: boolean, engine?: EngineFacts): Diagnostic[] {
  const out: Diagnostic[] = [];
  const cannot = legacy ? "this engine has no docker buildx" : engine && !engine.multiPlatform ? engine.reason : undefined;
  for (const r of rendered) {
    const wanted = [...(attests(r.image) ? ["attestations (attest:)"] : []), ...(r.image.cache ? ["a build cache (cache:)"] : [])];
    if (cannot && wanted.length) {
      out.push(
        diag("invalid-value", r.image.at, `image ${r.image.name}: the manifest strategy cannot attach ${wanted.join(" or ")} here: ${cannot}`, {
          hint: "turn on the containerd image store or use a docker-container builder (then both strategies carry them), or remove attest: / cache: from the image",
        }),
      );
    }
    if (r.image.registries.length === 0) {
      out.push(
        diag("registry-unknown", r.image.at, `image ${r.image.name}: the manifest strategy needs a registry to merge per-arch images in`, {
          hint: "add a registry, or use strategy bake (OCI archive output)",
        }),
      );
    }
    if (r.indexAnnotations) {
      out.push(
        diag(
          "invalid-value",
          r.image.at,
          `image ${r.image.name}: annotations on the index need the bake strategy (docker manifest writes lists without annotations)`,
          {
            hint: `set strategy: bake, or annotate the image manifests only (drop index: from ${Object.keys(r.indexAnnotations).join(", ")})`,
          },
        ),
      );
    }
    if (legacy && (r.image.secrets.length > 0 || r.image.contexts.length > 0)) {
      out.push(
        diag("invalid-value", r.image.at, `image ${r.image.name}: build secrets and named contexts need docker buildx, which this engine lacks`, {
          hint: "install docker buildx (package docker-buildx)",
        }),
      );
    }
  }
  return out;
}

/**
 * `rendered`/`images`: what this run builds or publishes; `everyone`: every planned image, for the
 * dependencies this run does not build (up to date or reused), which dependents FROM by digest.
 */
export function manifestStages(
  spec: Spec,
  rendered: readonly RenderedImage[],
  images: readonly PlannedImage[],
  legacy: boolean,
  everyone: readonly PlannedImage[] = images,
  rewriteTimestamp = false,
): Stage[] {
  const all = new Map(everyone.map((i) => [i.name, i]));
  const reused = (r: RenderedImage) => all.get(r.image.name)!.reuse !== undefined;
  // depth = 1 + the deepest dependency: images of one depth build in parallel.
  const depth = new Map<string, number>();
  for (const r of rendered) depth.set(r.image.name, Math.max(-1, ...r.image.dependsOn.map((d) => depth.get(d) ?? 0)) + 1);
  const levels = Math.max(0, ...depth.values()) + 1;
  const stages: Stage[] = [{ name: "login", steps: loginSteps(spec, images) }];
  for (let level = 0; level < levels; level++) {
    const here = rendered.filter((r) => depth.get(r.image.name) === level && !reused(r));
    const builds = here.flatMap((r) => r.image.platforms.map((p) => buildStep(spec, r, all.get(r.image.name)!, all, p, legacy ? undefined : rewriteTimestamp)));
    stages.push({ name: levels > 1 ? `build-${level + 1}` : "build", steps: builds });
    const pushes = legacy
      ? builds.flatMap((b) =>
          b.produces.map(
            (ref): Step => ({
              id: tagPushStepId(ref),
              kind: "push",
              image: b.image!,
              platform: b.platform!,
              commands: [docker(["push", ref])],
              inputs: [ref],
              produces: [ref],
              yields: [{ ref, pushed: true, from: "output" }],
            }),
          ),
        )
      : here.flatMap((r) =>
          r.image.platforms.flatMap((p) =>
            all.get(r.image.name)!.refs.map((ref) => layoutPushStep(r.image.name, ref, archRef(ref, p), layoutDir(r.image.name, p), p)),
          ),
        );
    stages.push({ name: levels > 1 ? `push-${level + 1}` : "push", steps: pushes });
  }
  const lists: Step[] = rendered
    .filter((r) => !reused(r))
    .flatMap((r) =>
      all.get(r.image.name)!.refs.map(
        (ref): Step => ({
          id: refStepId("manifest", r.image.name, ref),
          kind: "manifest",
          image: r.image.name,
          registry: ref.registry,
          inputs: r.image.platforms.map((p) => archRef(ref, p)),
          produces: [ref.staging],
          ...(legacy
            ? {
                commands: manifestCommands(
                  ref,
                  ref.staging,
                  r.image.platforms,
                  r.image.platforms.map((p) => ({ built: archRef(ref, p) })),
                  false,
                ),
                yields: [{ ref: ref.staging, pushed: true, from: "output" as const }],
              }
            : { commands: [], index: { ref: ref.staging, sources: r.image.platforms.map((p) => ({ built: archRef(ref, p) })), insecure: ref.insecure } }),
        }),
      ),
    );
  stages.push(
    { name: "manifest", steps: lists },
    { name: "verify", steps: [...verifySteps(images), ...testSteps(images.filter((i) => !i.reuse))] },
    ...publishStages({
      images,
      sign: spec.sign,
      publish: (img, ref) => manifestPublishStep(img.name, ref, img.platforms, legacy, { signed: spec.sign !== undefined }),
    }),
  );
  return stages.filter((s) => s.steps.length > 0);
}
