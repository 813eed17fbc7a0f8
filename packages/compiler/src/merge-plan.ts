// merge: put per-platform shards (apply --shard on several machines) together into each image's index,
// pushed by digest (no tag; the legacy builder's `docker manifest` aside), then verify and publish as
// apply does. Pure: the full plan and the shard files in, either
// the merge plan or every reason it cannot be made (what is missing, which identities differ).
import { PLAN_VERSION, type Plan, type Platform, planIdentity, refStepId, type Shard, type Stage, type Step } from "@multiarch/plan";
import { manifestCommands, manifestPublishStep } from "./manifest-plan.ts";
import { carriedPublishStages } from "./publish-stages.ts";
import { publishStep, readIndex } from "./steps.ts";

export type MergeResult = { ok: true; plan: Plan } | { ok: false; problems: string[] };

export function mergePlan(plan: Plan, shards: readonly Shard[], commit: string): MergeResult {
  const identity = { plan: planIdentity(plan), commit };
  const problems: string[] = [];
  for (const s of shards) {
    if (s.identity.plan !== identity.plan || s.identity.commit !== identity.commit) {
      problems.push(
        `the ${s.platform} shard is of another run: plan ${s.identity.plan} at commit ${s.identity.commit.slice(0, 12)}, this one is plan ${identity.plan} at commit ${identity.commit.slice(0, 12)} (another commit, spec or --set, or a shard run with --image or --platform: merge puts every image of the spec together)`,
      );
    }
  }
  const byPlatform = new Map<Platform, Shard>();
  for (const s of shards) {
    if (byPlatform.has(s.platform)) problems.push(`two shards for ${s.platform}`);
    byPlatform.set(s.platform, s);
  }
  const images = plan.images.filter((i) => !i.notPublished && !i.archive && i.refs.length > 0);
  for (const img of images) {
    for (const p of img.platforms) {
      const entry = byPlatform.get(p)?.images[img.name];
      for (const ref of img.refs) {
        if (!entry?.refs[ref.name]) problems.push(`${img.name}: no ${p} image for ${ref.name} (missing the ${p} shard, or it did not build ${img.name})`);
      }
    }
    // One commit is not one content: a shard built from a dirty checkout, with a --set this merge was not
    // given (or the other way), or after a base image moved, hashed other inputs than this checkout has.
    // Its platform would ship beside the others' in one index, under this commit's tags.
    // (a plan compiled without input facts has no hash of its own: the shards are held to the first one's)
    const built = img.platforms.flatMap((p) => {
      const entry = byPlatform.get(p)?.images[img.name];
      return entry ? [{ p, hash: entry.inputHash ?? "none" }] : [];
    });
    const want = img.inputHash ?? built[0]?.hash;
    const hashes = new Map<string, Platform[]>();
    for (const { p, hash } of built) if (hash !== want) hashes.set(hash, [...(hashes.get(hash) ?? []), p]);
    if (hashes.size > 0) {
      const each = [...hashes].map(([hash, ps]) => `${ps.join(", ")} from ${hash.slice(0, 12)}`).join("; ");
      const whose = img.inputHash ? "this checkout's" : `the ${built[0]!.p} shard's`;
      // a base this machine could not read hashes as unknown: said, as the likelier cause (the merge job's credentials)
      const unread = img.inputsUnknown ? ` This merge could not read ${img.inputsUnknown}: give it the shards' registry access.` : "";
      problems.push(
        `${img.name}: the shards built it from other inputs than ${whose} (${want!.slice(0, 12)}): ${each}. A change not committed, a --set or an environment variable the spec reads that the shards had and this merge has not (or the other way), or a base image that moved since; run the shards again from this checkout, or merge with their --set.${unread}`,
      );
    }
  }
  if (problems.length) return { ok: false, problems };

  const { chosen, legacyBuilder } = plan.strategy;
  const legacy = legacyBuilder === true;
  const manifestSteps: Step[] = [];
  const verifySteps: Step[] = [];
  for (const img of images) {
    for (const ref of img.refs) {
      const parts = img.platforms.map((p) => ({ platform: p, ...byPlatform.get(p)!.images[img.name]!.refs[ref.name]! }));
      const sources = parts.map((x) => `${ref.name}@${x.digest}`);
      manifestSteps.push({
        id: refStepId("merge", img.name, ref),
        kind: "manifest",
        image: img.name,
        registry: ref.registry,
        inputs: sources,
        produces: [ref.staging],
        // the index of the per-platform images, by digest, with the spec's index annotations: each bake
        // shard's entries as pushed (attestations kept); the manifest strategy lists each platform's image
        // manifest. The legacy builder has only `docker manifest`, which pushes under a tag.
        ...(legacy
          ? {
              commands: manifestCommands(
                ref,
                ref.staging,
                img.platforms,
                parts.map((x) => `${ref.name}@${x.manifest}`),
                false,
              ),
              yields: [{ ref: ref.staging, pushed: true, from: "output" as const }],
            }
          : {
              commands: [],
              index: {
                ref: ref.staging,
                sources: chosen === "manifest" ? parts.map((x) => `${ref.name}@${x.manifest}`) : sources,
                ...(img.indexAnnotations ? { annotations: img.indexAnnotations } : {}),
                insecure: ref.insecure,
              },
            }),
      });
      verifySteps.push({
        id: refStepId("verify", img.name, ref),
        kind: "verify",
        image: img.name,
        registry: ref.registry,
        ...readIndex({ built: ref.staging }, ref.insecure),
        inputs: [ref.staging],
        produces: [],
        expect: {
          ref: ref.staging,
          platforms: img.platforms,
          manifests: Object.fromEntries(parts.map((x) => [x.platform, x.manifest])),
          // each platform's config says what it was built from: a shard file's digest edited to another build's image is refused
          ...(img.inputHash ? { inputHash: img.inputHash } : {}),
          ...(img.indexAnnotations ? { annotations: img.indexAnnotations } : {}),
        },
      });
    }
  }
  const logins = plan.stages.flatMap((s) => s.steps).filter((s) => s.kind === "login");
  const signed = plan.signing !== undefined;
  const stages: Stage[] = [
    { name: "login", steps: logins },
    { name: "merge", steps: manifestSteps },
    { name: "verify", steps: verifySteps },
    // the full plan's signing of each index, by the digest verification sees here too
    ...carriedPublishStages(plan, {
      images,
      // the per-arch images are in the registry, never in this engine: the manifest publish reads them there
      publish: (img, ref) =>
        chosen === "manifest" ? manifestPublishStep(img.name, ref, img.platforms, legacy, { signed }) : publishStep(img.name, ref, signed),
    }),
  ].filter((s) => s.steps.length > 0);
  return {
    ok: true,
    plan: {
      version: PLAN_VERSION,
      spec: plan.spec,
      cwd: plan.cwd,
      strategy: plan.strategy,
      images,
      stages,
      secrets: plan.secrets,
      ...(plan.signing ? { signing: plan.signing } : {}),
    },
  };
}
