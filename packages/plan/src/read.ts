// Plans are files people keep, copy between machines and edit: read them back through the schema,
// never by casting, and say plainly when one was written by another version.
import { createHash } from "node:crypto";
import { type ArchPlan, ArchPlanSchema, PLAN_VERSION, type Plan, PlanSchema, SHARD_VERSION, type Shard, ShardSchema } from "./schema.ts";

/** A plan.json or plans/<platform>.json read back; problems as "path: message" lines. */
export function parsePlanFile(json: unknown): { ok: true; plan: Plan | ArchPlan } | { ok: false; problems: string[] } {
  const version = json !== null && typeof json === "object" && "version" in json ? json.version : undefined;
  if (version !== PLAN_VERSION)
    return { ok: false, problems: [`written as plan version ${JSON.stringify(version)}; this multiarch reads version ${PLAN_VERSION}`] };
  const schema = json !== null && typeof json === "object" && "platform" in json ? ArchPlanSchema : PlanSchema;
  const r = schema.safeParse(json);
  return r.success
    ? { ok: true, plan: r.data }
    : { ok: false, problems: r.error.issues.slice(0, 5).map((i) => `${i.path.join(".") || "(top)"}: ${i.message}`) };
}

/**
 * A per-arch plan runs as a plan whose stages are its steps grouped by kind, with the full plan's
 * strategy decisions (nothing dropped).
 */
export function asPlan(p: Plan | ArchPlan): Plan {
  if (!("platform" in p)) return p;
  const stages: Plan["stages"] = [];
  for (const step of p.steps) {
    const last = stages.at(-1);
    if (last?.name === step.kind) last.steps.push(step);
    else stages.push({ name: step.kind, steps: [step] });
  }
  return {
    version: p.version,
    spec: p.spec,
    cwd: p.cwd,
    strategy: { ...p.strategy, reason: `${p.strategy.reason}; per-arch plan for ${p.platform}` },
    images: p.images,
    stages,
    secrets: p.secrets,
    ...(p.sets ? { sets: p.sets } : {}),
  };
}

/** What makes two machines' shards parts of one run: the images, their platforms, repositories and tags. */
export function planIdentity(plan: Pick<Plan, "images">): string {
  const images = plan.images
    .filter((i) => !i.notPublished && !i.archive)
    .map((i) => ({ name: i.name, platforms: [...i.platforms].sort(), refs: i.refs.map((r) => ({ name: r.name, tags: r.tags })) }));
  return createHash("sha256").update(JSON.stringify(images)).digest("hex").slice(0, 16);
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
