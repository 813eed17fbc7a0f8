// What code needs of the plan format at run time besides its schemas (schema.ts): the versions, the
// step kinds, and the helpers that name references. Apart from schema.ts so that compiling a plan never builds the zod
// schemas, which only reading a plan file back needs (read.ts: apply --plan, shards).
// The two helpers below spell their types out: schema.ts imports this module, so this one imports nothing of it.

export const PLAN_VERSION = 3;
export const SHARD_VERSION = 1;

/** A spec's credential (an env variable or a file, one of them) as a reference. */
export const valueRef = (c: { env?: string; file?: string }): { env: string } | { file: string } => (c.env ? { env: c.env } : { file: c.file ?? "" });

/** How step ids and reports name a ref: its registry, and the repository when the image has several there. */
export const refLabel = (ref: { registry: string; repository?: string | undefined }): string =>
  ref.repository ? `${ref.registry}/${ref.repository}` : ref.registry;

/**
 * Every kind of step, each with whether a command of it that failed on what looks like a registry
 * hiccup runs again (the executor's retry.ts judges the output), and whether it still runs once the run
 * has stopped (a failure, an interrupt): a new kind says so where it is named.
 */
const STEP_KIND_TABLE = [
  { kind: "login", retried: false, afterStop: false },
  // bake pushes too: a registry error while it pushes (the build itself cached) is worth a retry
  { kind: "bake", retried: true, afterStop: false },
  { kind: "build", retried: false, afterStop: false },
  { kind: "push", retried: true, afterStop: false },
  { kind: "manifest", retried: true, afterStop: false },
  { kind: "verify", retried: true, afterStop: false },
  { kind: "test", retried: false, afterStop: false },
  // cosign writes a signature to the registry
  { kind: "sign", retried: true, afterStop: false },
  { kind: "publish", retried: true, afterStop: false },
  { kind: "load", retried: false, afterStop: false },
  // what the run left in the engine (a failed smoke test's pull too) leaves it whatever happened
  { kind: "cleanup", retried: false, afterStop: true },
] as const;
export const STEP_KINDS = STEP_KIND_TABLE.map((k) => k.kind);
export type StepKind = (typeof STEP_KINDS)[number];
const RETRIED_KINDS: ReadonlySet<StepKind> = new Set(STEP_KIND_TABLE.filter((k) => k.retried).map((k) => k.kind));
/** Whether a step of this kind may run a failed command again (STEP_KIND_TABLE says which). */
export const mayRetry = (kind: StepKind): boolean => RETRIED_KINDS.has(kind);
const AFTER_STOP_KINDS: ReadonlySet<StepKind> = new Set(STEP_KIND_TABLE.filter((k) => k.afterStop).map((k) => k.kind));
/** Whether a step of this kind runs even after the run stopped on a failure or an interrupt (STEP_KIND_TABLE says which). */
export const runsAfterStop = (kind: StepKind): boolean => AFTER_STOP_KINDS.has(kind);
