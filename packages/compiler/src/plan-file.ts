// The plan file format (plan.json, plans/<platform>.json): versioned data that apply executes as is.
// Stages run in order; the steps of a stage may run in parallel; a step's commands run in order.

export const PLAN_VERSION = 1;

/** A value resolved only when the command runs, so secrets and user names never sit in a plan file. */
export type Ref = { env: string } | { file: string };
/**
 * The image verification saw under a staging tag, as name@digest: the index, or with `platform` that
 * platform's image. Publishing by digest moves user tags to exactly what was verified, even if the
 * staging tag was overwritten since.
 */
export type Verified = { verified: string; platform?: string };
export type Arg = string | Ref | Verified;

export interface Command {
  program: "docker" | "git";
  args: Arg[];
  /** Fed to stdin (e.g. a registry password); stdin is closed otherwise, so nothing can prompt. */
  stdin?: Ref;
  /** Environment variables the command needs from the caller's environment (names only). */
  env?: string[];
  /** Clean-up that is fine to fail (e.g. removing a local manifest list that is not there). */
  mayFail?: boolean;
}

export type StepKind = "login" | "bake" | "build" | "push" | "manifest" | "verify" | "test" | "publish" | "load";

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
  };
  images: PlannedImage[];
  stages: Stage[];
}

export interface ArchPlan {
  version: typeof PLAN_VERSION;
  platform: string;
  /** The images with a share on this platform (platforms narrowed to it). */
  images: PlannedImage[];
  spec: string;
  cwd: string;
  strategy: "bake" | "manifest";
  steps: Step[];
}
