import { z } from "zod";
// The plan file format (plan.json, plans/<platform>.json): versioned data that apply executes as is.
// Stages run in order; the steps of a stage may run in parallel; a step's commands run in order.

export const PLAN_VERSION = 2;

/** A value resolved only when the command runs, so secrets and user names never sit in a plan file. */
export type Ref = { env: string } | { file: string };
/**
 * The image verification saw under a staging tag, as name@digest: the index, or with `platform` that
 * platform's image. Publishing by digest moves user tags to exactly what was verified, even if the
 * staging tag was overwritten since.
 */
export type Verified = { verified: string; platform?: string };
/**
 * What this run itself built or pushed under a staging ref, as name@digest (see Step.yields). Tests,
 * verification and merges read this, never the staging tag, which a concurrent run may overwrite.
 */
export type Built = { built: string; prefix?: string };
/** A file in the run's private folder (e.g. bake's metadata file): concurrent runs never share one. */
export type RunFile = { runFile: string };
export type Arg = string | Ref | Verified | Built | RunFile;

/**
 * The digest a step produced under `ref`: from the output of its last command (docker push prints
 * "digest: sha256:…", docker manifest push the list's digest), or from bake's metadata file for a
 * target (docker build's file has no target level). `pushed`: the digest reached the registry (bake on the docker driver only stores locally).
 * A second yield of one ref with another digest fails the step: the local image changed under the run.
 */
export type Yield = { ref: string; pushed: boolean } & ({ from: "output" } | { from: "metadata"; file: string; target?: string });

export interface Command {
  program: "docker" | "git";
  args: Arg[];
  /** Fed to stdin (e.g. a registry password); stdin is closed otherwise, so nothing can prompt. */
  stdin?: Ref;
  /** Environment variables the command needs from the caller's environment (names only). */
  env?: string[];
  /** Clean-up that is fine to fail (e.g. removing a local manifest list that is not there). */
  mayFail?: boolean;
  /** publish: the user tag (name:tag) this command moves when it succeeds, for the per-tag report. */
  moves?: string;
}

export type StepKind = "login" | "bake" | "build" | "push" | "manifest" | "verify" | "test" | "publish" | "load" | "cleanup";

export interface Step {
  id: string;
  kind: StepKind;
  image?: string;
  platform?: string;
  registry?: string;
  commands: Command[];
  /** What the step reads (plan artifacts, refs) and writes (refs, files): for review and scheduling. */
  inputs: string[];
  produces: string[];
  /** verify: the platforms the index at `ref` must hold, exactly. */
  expect?: { ref: string; platforms: string[] } | { archive: string; platforms: string[] };
  /** login: skipped when the docker config already holds credentials for this host. */
  skipIfLoggedIn?: string;
  /**
   * publish: commands that read what the user tags hold now; when every one already holds the verified
   * images (same platform manifests), nothing is pushed and the step reports "unchanged".
   */
  unchangedIf?: { staging: string; checks: Command[] };
  /** The digests this step produced, recorded for { built } arguments and checked for consistency. */
  yields?: Yield[];
}

export interface Stage {
  name: string;
  steps: Step[];
}

export interface PlannedRef {
  registry: string;
  /** host/namespace/repository */
  name: string;
  insecure: boolean;
  tags: string[];
  /** Where this run pushes before verification; user tags move only after it passed. */
  staging: string;
}

export interface PlannedImage {
  name: string;
  platforms: string[];
  dependsOn: string[];
  refs: PlannedRef[];
  /** Registry-less images: the OCI archive written, relative to the spec folder. */
  archive?: string;
  test?: string[];
  /** Why this run moves none of the image's user tags: a platform subset, a dependency, --no-publish, --load. */
  notPublished?: string;
}

export interface Plan {
  version: typeof PLAN_VERSION;
  /** The spec file and the folder commands run in, relative to the folder holding plan.json. */
  spec: string;
  cwd: string;
  strategy: {
    requested: "auto" | "bake" | "manifest";
    chosen: "bake" | "manifest";
    reason: string;
    /** manifest strategy on an engine without buildx: the legacy builder and plain docker commands. */
    legacyBuilder?: boolean;
    /**
     * bake strategy on buildx's docker driver: bake only stores the images in the engine and `docker
     * push` sends them. Letting bake push there pushes every image twice (its exporter, then buildx
     * "pushing with docker"), and the overlapping writes of one tag make some registries answer 500.
     */
    pushWithDocker?: boolean;
  };
  images: PlannedImage[];
  stages: Stage[];
  /** Where every secret value comes from (registry passwords, build secrets): redacted from all output. */
  secrets: Ref[];
}

export interface ArchPlan {
  version: typeof PLAN_VERSION;
  platform: string;
  /** The images with a share on this platform (platforms narrowed to it). */
  images: PlannedImage[];
  spec: string;
  cwd: string;
  /** The full plan's strategy decisions, so a shard runs exactly as the full plan would. */
  strategy: Plan["strategy"];
  steps: Step[];
  secrets: Ref[];
}

// Plans are files people keep and edit: read them back through a schema, never by casting.
const ref = z.union([z.strictObject({ env: z.string() }), z.strictObject({ file: z.string() })]);
const arg = z.union([
  z.string(),
  ref,
  z.strictObject({ verified: z.string(), platform: z.string().optional() }),
  z.strictObject({ built: z.string(), prefix: z.string().optional() }),
  z.strictObject({ runFile: z.string().regex(/^[\w.-]+$/) }),
]);
const command = z.strictObject({
  program: z.enum(["docker", "git"]),
  args: z.array(arg),
  stdin: ref.optional(),
  env: z.array(z.string()).optional(),
  mayFail: z.boolean().optional(),
  moves: z.string().optional(),
});
const yieldSchema = z.union([
  z.strictObject({ ref: z.string(), pushed: z.boolean(), from: z.literal("output") }),
  z.strictObject({ ref: z.string(), pushed: z.boolean(), from: z.literal("metadata"), file: z.string().regex(/^[\w.-]+$/), target: z.string().optional() }),
]);
const step = z.strictObject({
  id: z.string(),
  kind: z.enum(["login", "bake", "build", "push", "manifest", "verify", "test", "publish", "load", "cleanup"]),
  image: z.string().optional(),
  platform: z.string().optional(),
  registry: z.string().optional(),
  commands: z.array(command),
  inputs: z.array(z.string()),
  produces: z.array(z.string()),
  expect: z.union([z.strictObject({ ref: z.string(), platforms: z.array(z.string()) }), z.strictObject({ archive: z.string(), platforms: z.array(z.string()) })]).optional(),
  skipIfLoggedIn: z.string().optional(),
  unchangedIf: z.strictObject({ staging: z.string(), checks: z.array(command) }).optional(),
  yields: z.array(yieldSchema).optional(),
});
const plannedImage = z.strictObject({
  name: z.string(),
  platforms: z.array(z.string()),
  dependsOn: z.array(z.string()),
  refs: z.array(z.strictObject({ registry: z.string(), name: z.string(), insecure: z.boolean(), tags: z.array(z.string()), staging: z.string() })),
  archive: z.string().optional(),
  test: z.array(z.string()).optional(),
  notPublished: z.string().optional(),
});
const strategy = z.strictObject({
  requested: z.enum(["auto", "bake", "manifest"]),
  chosen: z.enum(["bake", "manifest"]),
  reason: z.string(),
  legacyBuilder: z.boolean().optional(),
  pushWithDocker: z.boolean().optional(),
});
const PlanSchema = z.strictObject({
  version: z.literal(PLAN_VERSION),
  spec: z.string(),
  cwd: z.string(),
  strategy,
  images: z.array(plannedImage),
  stages: z.array(z.strictObject({ name: z.string(), steps: z.array(step) })),
  secrets: z.array(ref),
});
const ArchPlanSchema = z.strictObject({
  version: z.literal(PLAN_VERSION),
  platform: z.string(),
  images: z.array(plannedImage),
  spec: z.string(),
  cwd: z.string(),
  strategy,
  steps: z.array(step),
  secrets: z.array(ref),
});

/** A plan.json or plans/<platform>.json read back; problems as "path: message" lines. */
export function parsePlanFile(json: unknown): { ok: true; plan: Plan | ArchPlan } | { ok: false; problems: string[] } {
  const version = json !== null && typeof json === "object" && "version" in json ? json.version : undefined;
  if (version !== PLAN_VERSION) return { ok: false, problems: [`written as plan version ${JSON.stringify(version)}; this multiarch reads version ${PLAN_VERSION}`] };
  const schema = json !== null && typeof json === "object" && "platform" in json ? ArchPlanSchema : PlanSchema;
  const r = schema.safeParse(json);
  return r.success ? { ok: true, plan: r.data as Plan | ArchPlan } : { ok: false, problems: r.error.issues.slice(0, 5).map((i) => `${i.path.join(".") || "(top)"}: ${i.message}`) };
}
