// The plan file format (plan.json, plans/<platform>.json): versioned data that apply executes as is.
// Stages run in order; the steps of a stage may run in parallel; a step's commands run in order.
// The zod schemas are the definition; every type is inferred from them, so the compiler that writes
// plans and the executor that runs them cannot disagree about the format.
import { z } from "zod";
import { PLAN_VERSION, SHARD_VERSION, STEP_KINDS } from "./format.ts";
import { KNOWN_PLATFORMS } from "./platform.ts";

/** A platform in canonical form (platform.ts): plan files carry no other. */
const PlatformSchema = z.enum(KNOWN_PLATFORMS);

/** A value resolved only when the command runs, so secrets and user names never sit in a plan file. */
export const ValueRefSchema = z.union([z.strictObject({ env: z.string() }), z.strictObject({ file: z.string() })]);
export type ValueRef = z.infer<typeof ValueRefSchema>;

/**
 * The image verification saw under a staging ref, as name@digest: the index, or with `platform` that
 * platform's image. Publishing by digest moves user tags to exactly what was verified.
 */
export const VerifiedSchema = z.strictObject({ verified: z.string(), platform: PlatformSchema.optional() });
export type Verified = z.infer<typeof VerifiedSchema>;

/**
 * What this run itself built or pushed under a staging ref (see Step.yields), as `prefix` + name@digest.
 * Tests, verification and merges read this, never the staging tag, which a concurrent run may move.
 */
export const BuiltSchema = z.strictObject({ built: z.string(), prefix: z.string().optional() });
export type Built = z.infer<typeof BuiltSchema>;

/**
 * A file or folder in the run's private folder (bake's metadata file, an OCI layout a build writes), after
 * `prefix` (an option's text, e.g. `type=oci,tar=false,dest=`): concurrent runs never share one.
 */
export const RunFileSchema = z.strictObject({ runFile: z.string().regex(/^[\w.-]+$/), prefix: z.string().optional() });
export type RunFile = z.infer<typeof RunFileSchema>;

export const ArgSchema = z.union([z.string(), ValueRefSchema, VerifiedSchema, BuiltSchema, RunFileSchema]);
export type Arg = z.infer<typeof ArgSchema>;

/**
 * The digest a step produced under `ref`: from the output of its last command (docker push prints
 * "digest: sha256:…", docker manifest push the list's digest), or from a metadata file bake or
 * docker build wrote (per target for bake). `pushed`: the digest reached the registry (bake on the
 * docker driver only stores locally). A second yield of one ref with another digest fails the step.
 */
export const YieldSchema = z.union([
  z.strictObject({ ref: z.string(), pushed: z.boolean(), from: z.literal("output") }),
  z.strictObject({ ref: z.string(), pushed: z.boolean(), from: z.literal("metadata"), file: z.string().regex(/^[\w.-]+$/), target: z.string().optional() }),
]);
export type Yield = z.infer<typeof YieldSchema>;

export const CommandSchema = z.strictObject({
  program: z.enum(["docker", "git", "cosign"]),
  args: z.array(ArgSchema),
  /** Fed to stdin (e.g. a registry password); stdin is closed otherwise, so nothing can prompt. */
  stdin: ValueRefSchema.optional(),
  /** Environment variables the command needs from the caller's environment (names only). */
  env: z.array(z.string()).optional(),
  /**
   * Variables set in this command's environment alone, each a reference resolved when it runs (or a
   * plain value): COSIGN_PASSWORD reaches cosign and no other process, and is redacted from its output.
   */
  setEnv: z.record(z.string(), z.union([z.string(), ValueRefSchema])).optional(),
  /** Clean-up that is fine to fail (e.g. removing a local manifest list that is not there). */
  mayFail: z.boolean().optional(),
  /** publish: the user tag (name:tag) this command moves when it succeeds, for the per-tag report. */
  moves: z.string().optional(),
  /**
   * Started and left to finish on its own (it may outlive the run): clean-up nothing waits for, such as
   * removing the engine's local staging images, which takes the engine seconds per image.
   */
  detach: z.boolean().optional(),
});
export type Command = z.infer<typeof CommandSchema>;

export const StepSchema = z.strictObject({
  id: z.string(),
  kind: z.enum(STEP_KINDS),
  image: z.string().optional(),
  platform: PlatformSchema.optional(),
  registry: z.string().optional(),
  commands: z.array(CommandSchema),
  /** What the step reads (plan artifacts, refs) and writes (refs, files): for review and scheduling. */
  inputs: z.array(z.string()),
  produces: z.array(z.string()),
  /** verify: the platforms the index at `ref` (or the archive) must hold, exactly. */
  expect: z
    .union([
      z.strictObject({
        ref: z.string(),
        platforms: z.array(PlatformSchema),
        /** merge: the image manifest each platform must be, as the shards pushed them (content, not just platforms). */
        manifests: z.record(z.string(), z.string()).optional(),
        /** promote --from/--to: the very index verification saw under this ref (a copy by digest, never a rebuild). */
        sameAs: z.string().optional(),
        /** The annotations the index must carry (the spec's index: ones). */
        annotations: z.record(z.string(), z.string()).optional(),
        /** promote: labels every platform's image config must carry (the input hash: multiarch built it). */
        labels: z.array(z.string()).optional(),
        /** merge: the input hash every platform's image config must carry (the one this checkout and the shards have). */
        inputHash: z.string().optional(),
      }),
      z.strictObject({ archive: z.string(), platforms: z.array(PlatformSchema) }),
    ])
    .optional(),
  /**
   * verify, in-process: the index (or image) checked against `expect`, read over the registry API with
   * each platform's manifest and config: `ref` by tag or name@digest, or what this run pushed ({ built }).
   */
  read: z.strictObject({ ref: z.union([z.string(), BuiltSchema]), insecure: z.boolean() }).optional(),
  /** login: skipped when the docker config already holds credentials for this host. */
  skipIfLoggedIn: z.string().optional(),
  /**
   * publish, in-process: each of `tags` (name:tag), in this order (latest last), made to hold the index
   * verification saw under `staging`: those very bytes, one manifest PUT per tag, so the digest is the
   * same. Tags that already hold the verified images (the same index, or unless `signed` the same image
   * per platform) stay as they are; when all do, nothing is written and the step reports "unchanged".
   */
  moveTags: z
    .strictObject({
      staging: z.string(),
      /** The user tags (name:tag), read and written over the registry API. */
      tags: z.array(z.string()),
      /** Their registry is reached over plain HTTP. */
      insecure: z.boolean(),
      /** The verified index was signed: a tag holds it only as that very index (the same images under another digest are unsigned). */
      signed: z.boolean().optional(),
    })
    .optional(),
  /**
   * A check whose success means the step's work is already done (sign: the index already carries a
   * signature this key verifies): the step is then "unchanged" and its commands do not run.
   */
  doneIf: CommandSchema.optional(),
  /**
   * sign: the staging ref whose verified index it signs. A signature tag (REPO:sha256-<digest>.sig) that
   * the step pushed before it failed is deleted, or reported when the registry refuses.
   */
  signs: z.string().optional(),
  /** The digests this step produced, recorded for { built } arguments and checked for consistency. */
  yields: z.array(YieldSchema).optional(),
  /** bake: the targets it builds, the last arguments of its command (apply --continue bakes again without the failed ones). */
  targets: z.array(z.string()).optional(),
  /**
   * push, in-process: the OCI layout a build wrote into the run's folder (the image in it this run's
   * build reported for `ref`, when a bake wrote several), pushed to `ref`'s repository
   * by digest with the registry client (blobs, then manifests; no tag). What it pushed is recorded under
   * `ref` like a yield, and must be what the build reported.
   */
  layout: z.strictObject({ dir: z.string().regex(/^[\w.-]+$/), ref: z.string(), insecure: z.boolean() }).optional(),
  /**
   * manifest, in-process (promote --from --to): the image `from` holds, as this run verified it, copied
   * by digest to `ref`'s repository (byte for byte: the same digest; no tag) and recorded under `ref`.
   */
  copy: z.strictObject({ from: z.string(), fromInsecure: z.boolean(), ref: z.string(), insecure: z.boolean() }).optional(),
  /**
   * manifest, in-process: an OCI index of `sources` (image manifests, or indexes whose entries are taken
   * as they are, attestations included), with `annotations`, pushed by digest to `ref`'s repository and
   * recorded under `ref`. `{ built }` sources are what this run pushed.
   */
  index: z
    .strictObject({
      ref: z.string(),
      sources: z.array(z.union([z.string(), BuiltSchema])),
      annotations: z.record(z.string(), z.string()).optional(),
      insecure: z.boolean(),
    })
    .optional(),
});
export type Step = z.infer<typeof StepSchema>;

export const StageSchema = z.strictObject({ name: z.string(), steps: z.array(StepSchema) });
export type Stage = z.infer<typeof StageSchema>;

export const PlannedRefSchema = z.strictObject({
  registry: z.string(),
  /** host/namespace/repository */
  name: z.string(),
  /** Set when the image has several repositories in this registry: tells its steps apart (@registry/repository). */
  repository: z.string().optional(),
  insecure: z.boolean(),
  tags: z.array(z.string()),
  /**
   * The key (name:multiarch-staging-<hash>) under which the run records what it pushed for this ref, by
   * digest. Written as a tag only where nothing can push by digest (the legacy builder); elsewhere no tag.
   */
  staging: z.string(),
});
export type PlannedRef = z.infer<typeof PlannedRefSchema>;

export const PlannedImageSchema = z.strictObject({
  name: z.string(),
  platforms: z.array(PlatformSchema),
  dependsOn: z.array(z.string()),
  refs: z.array(PlannedRefSchema),
  /** Registry-less images: the OCI archive written, relative to the spec folder. */
  archive: z.string().optional(),
  /** An archive with a test: the name it loads into an engine as (its first tag), which the test runs. */
  archiveName: z.string().optional(),
  test: z.array(z.string()).optional(),
  /** Why this run moves none of the image's user tags: a platform subset, a dependency, --no-publish, --load. */
  notPublished: z.string().optional(),
  /** The hash of everything the image is built from (a Merkle chain through image: dependencies). */
  inputHash: z.string().optional(),
  /** The hash of each kind of input, to say which changed (apply --explain). */
  inputParts: z.record(z.string(), z.string()).optional(),
  /** Why the inputs cannot be known (an external base that could not be read): never up to date. */
  inputsUnknown: z.string().optional(),
  /** Every user tag already holds an index built from these inputs, with every planned platform: nothing runs. */
  upToDate: z.strictObject({ digest: z.string() }).optional(),
  /** Per repository (name), an index built from these inputs that a tag already holds: published without building. */
  reuse: z.record(z.string(), z.string()).optional(),
  /** What differs from what the tags hold now (apply --explain), when they hold something else. */
  changed: z.array(z.string()).optional(),
  /** Tag templates that render empty in this run, so give no tag (apply --explain says which). */
  droppedTags: z.array(z.string()).optional(),
  /** The spec's annotations on the index (index: keys): written by bake or the merge, checked by verify. */
  indexAnnotations: z.record(z.string(), z.string()).optional(),
});
export type PlannedImage = z.infer<typeof PlannedImageSchema>;

/** What the engine could do when the plan was made (or is run): the facts strategy decisions rest on. */
export const EngineFactsSchema = z.strictObject({
  reachable: z.boolean(),
  buildx: z.boolean(),
  /** The builder can build several platforms in one run (docker driver needs the containerd image store). */
  multiPlatform: z.boolean(),
  driver: z.string().optional(),
  /** The builder the spec names does not exist (buildx itself works). */
  builderMissing: z.string().optional(),
  /** What the builder's nodes report they build, when buildx was asked (not for the context's default docker builder). */
  platforms: z.array(z.string()).optional(),
  reason: z.string(),
});
export type EngineFacts = z.infer<typeof EngineFactsSchema>;

export const StrategySchema = z.strictObject({
  requested: z.enum(["auto", "bake", "manifest"]),
  chosen: z.enum(["bake", "manifest"]),
  reason: z.string(),
  /** manifest strategy on an engine without buildx: the legacy builder and plain docker commands. */
  legacyBuilder: z.boolean().optional(),
  /**
   * bake strategy on buildx's docker driver: bake writes each image as an OCI layout into the run's
   * folder (with rewrite-timestamp, which this driver refuses for image outputs) and the executor pushes
   * it by digest (this driver cannot push by digest). Nothing stays in the engine, no tag is written.
   */
  ociLayout: z.boolean().optional(),
  /** The engine facts the decision used, when the engine was asked; apply --plan compares them. */
  engine: EngineFactsSchema.optional(),
});
export type Strategy = z.infer<typeof StrategySchema>;

/**
 * A multi-node builder the spec defines: its nodes and the `docker buildx create` commands that make it
 * (the first node, then one --append per further node). Data: `plan` prints them; nothing runs them
 * unasked, since a builder is shared machine state.
 */
export const BuilderSchema = z.strictObject({
  name: z.string(),
  driver: z.string(),
  nodes: z.array(z.strictObject({ name: z.string(), platforms: z.array(PlatformSchema), endpoint: z.string().optional() })),
  create: z.array(CommandSchema),
});
export type Builder = z.infer<typeof BuilderSchema>;

export const PlanSchema = z.strictObject({
  version: z.literal(PLAN_VERSION),
  /** The spec file and the folder commands run in, relative to the folder holding plan.json. */
  spec: z.string(),
  cwd: z.string(),
  strategy: StrategySchema,
  images: z.array(PlannedImageSchema),
  stages: z.array(StageSchema),
  /** Where every secret value comes from (registry passwords, build secrets): redacted from all output. */
  secrets: z.array(ValueRefSchema),
  builder: BuilderSchema.optional(),
  /**
   * How published indexes are signed (cosign), when the spec signs: with a key pair, or keyless (a CI
   * workflow that runs this plan needs an OIDC token: id-token: write).
   */
  signing: z
    .strictObject({
      mode: z.enum(["key", "keyless"]),
      tlog: z.boolean(),
      /**
       * With a key: the command that prints the signing key's public half (opening the key with its
       * password), and the public key signatures are checked with. Run before anything is built: a wrong
       * password or a public key of another pair would otherwise be found only after the whole build.
       */
      keyPair: z.strictObject({ publicKeyOf: CommandSchema, publicKey: ValueRefSchema }).optional(),
    })
    .optional(),
  /** The --set IMAGE.KEY=VALUE overrides the spec was read with, as given (already in the steps). */
  sets: z.array(z.string()).optional(),
});
export type Plan = z.infer<typeof PlanSchema>;

/** One platform's share of a plan, complete: the same strategy decisions, its own steps. */
export const ArchPlanSchema = z.strictObject({
  version: z.literal(PLAN_VERSION),
  platform: PlatformSchema,
  /** The images with a share on this platform (platforms narrowed to it). */
  images: z.array(PlannedImageSchema),
  spec: z.string(),
  cwd: z.string(),
  strategy: StrategySchema,
  /** As in the plan: the --set overrides it was compiled with. */
  sets: z.array(z.string()).optional(),
  steps: z.array(StepSchema),
  secrets: z.array(ValueRefSchema),
});
export type ArchPlan = z.infer<typeof ArchPlanSchema>;

/** Git facts templates, staging names and the reproducibility settings read. */
export const GitFactsSchema = z.strictObject({
  sha: z.string(),
  shortSha: z.string(),
  branch: z.string(),
  tag: z.string(),
  /** The commit's time in seconds since the epoch: SOURCE_DATE_EPOCH. */
  time: z.string().optional(),
  /** The origin remote's URL without credentials: org.opencontainers.image.source. */
  source: z.string().optional(),
});

/** What an image is built from, read before any build (executor/input-facts.ts). */
export const ImageInputFactsSchema = z.strictObject({
  dockerfile: z.string(),
  context: z.string(),
  /** Named local contexts by name. */
  contexts: z.record(z.string(), z.string()),
  bases: z.array(
    z.strictObject({
      ref: z.string(),
      line: z.number(),
      digest: z.string().optional(),
      error: z.string().optional(),
      /** The platforms its index offers (absent for a single-platform manifest). */
      platforms: z.array(z.string()).optional(),
      /** FROM --platform=…: pulled for that platform, whatever the target. */
      pinned: z.boolean().optional(),
    }),
  ),
});
export type ImageInputFacts = z.infer<typeof ImageInputFactsSchema>;

/** What a user tag holds now, read from its registry before the run. */
export const PublishedTagSchema = z.strictObject({
  digest: z.string(),
  platforms: z.array(z.string()),
  /** Image manifest digest per platform (attestations aside). */
  manifests: z.record(z.string(), z.string()).optional(),
  inputHash: z.string().optional(),
  inputParts: z.record(z.string(), z.string()).optional(),
});
export type PublishedTag = z.infer<typeof PublishedTagSchema>;
export type GitFacts = z.infer<typeof GitFactsSchema>;

/**
 * What one machine built for one platform (apply --shard), for merge to put together: which plan and
 * commit it belongs to, and per image and repository the digest pushed and the platform's image manifest.
 */
export const ShardSchema = z.strictObject({
  version: z.literal(SHARD_VERSION),
  /** A hash of the resolved plan (images, platforms, repositories, tags) and the git commit. */
  identity: z.strictObject({ plan: z.string(), commit: z.string() }),
  platform: PlatformSchema,
  images: z.record(
    z.string(),
    z.strictObject({
      inputHash: z.string().optional(),
      tests: z.enum(["passed", "none"]),
      refs: z.record(z.string(), z.strictObject({ staging: z.string(), digest: z.string(), manifest: z.string() })),
    }),
  ),
});
export type Shard = z.infer<typeof ShardSchema>;
