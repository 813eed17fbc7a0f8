// A plan seen another way: a per-arch plan as a plan to run, and what makes shards parts of one plan.
import type { ArchPlan, Plan } from "./schema.ts";
import { sha256 } from "./sha256.ts";

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
  return sha256(JSON.stringify(images)).slice(0, 16);
}
