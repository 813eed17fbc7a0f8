// Plans are files people keep, copy between machines and edit: read them back through the schema,
// never by casting, and say plainly when one was written by another version.
// The package's index leaves this file out: only reading a file back builds the schemas.
import { PLAN_VERSION, SHARD_VERSION } from "./format.ts";
import { type ArchPlan, ArchPlanSchema, type Plan, PlanSchema, type Shard, ShardSchema } from "./schema.ts";

/** A plan.json or plans/<platform>.json read back; problems as "path: message" lines. */
export function parsePlanFile(json: unknown): { ok: true; plan: Plan | ArchPlan } | { ok: false; problems: string[] } {
  const version = json !== null && typeof json === "object" && "version" in json ? json.version : undefined;
  // a bake file, a report, any other JSON: no plan of another version, no plan at all
  if (version === undefined) return { ok: false, problems: ["not a plan file (it has no version): name the plan.json that multiarch plan wrote"] };
  if (version !== PLAN_VERSION)
    return { ok: false, problems: [`written as plan version ${JSON.stringify(version)}; this multiarch reads version ${PLAN_VERSION}`] };
  const schema = json !== null && typeof json === "object" && "platform" in json ? ArchPlanSchema : PlanSchema;
  const r = schema.safeParse(json);
  return r.success
    ? { ok: true, plan: r.data }
    : { ok: false, problems: r.error.issues.slice(0, 5).map((i) => `${i.path.join(".") || "(top)"}: ${i.message}`) };
}

/** A shard file read back, or why it cannot be used. */
export function parseShard(json: unknown): { ok: true; shard: Shard } | { ok: false; problems: string[] } {
  const version = json !== null && typeof json === "object" && "version" in json ? json.version : undefined;
  if (version !== SHARD_VERSION)
    return { ok: false, problems: [`written as shard version ${JSON.stringify(version)}; this multiarch reads version ${SHARD_VERSION}`] };
  const r = ShardSchema.safeParse(json);
  return r.success
    ? { ok: true, shard: r.data }
    : { ok: false, problems: r.error.issues.slice(0, 5).map((i) => `${i.path.join(".") || "(top)"}: ${i.message}`) };
}
