// The per-arch plans (plans/<platform>.json): each platform's share of the run, complete, for a machine
// of that platform (apply --shard). The same strategy decisions; merge puts the shares together.
import { posix } from "node:path";
import { type ArchPlan, PLAN_VERSION, type Plan, type PlannedImage, platformSlug, type Stage } from "@multiarch/plan";
import type { Spec } from "@multiarch/spec";
import type { BakeFile } from "./bake.ts";
import { type BakePaths, bakeArchSteps, type LayoutOutputs } from "./bake-plan.ts";
import { legacyCleanup, testCleanup } from "./load-and-cleanup.ts";
import { archCheckSteps } from "./steps.ts";

export interface ArchPlanInputs {
  spec: Spec;
  /** The plan they are shares of: its strategy, paths, --set overrides and secrets. */
  plan: Plan;
  /** The full plan's stages: the manifest strategy's per-arch plans take their builds and pushes from there. */
  stages: readonly Stage[];
  bake: BakeFile;
  paths: BakePaths;
  layout: LayoutOutputs | undefined;
}

/** One per platform some image is built for here; `built`: the images this run builds. */
export function archPlans(built: readonly PlannedImage[], a: ArchPlanInputs): ArchPlan[] {
  const { plan } = a;
  const legacy = plan.strategy.chosen === "manifest" && plan.strategy.legacyBuilder === true;
  const platforms = [...new Set(built.flatMap((p) => p.platforms))];
  return platforms.map((platform) => ({
    version: PLAN_VERSION,
    platform,
    images: built
      .filter((p) => p.platforms.includes(platform))
      .map((p) => ({ ...p, platforms: [platform], notPublished: `a per-arch plan: ${platform} only` })),
    spec: posix.join("..", plan.spec),
    cwd: posix.join("..", plan.cwd),
    strategy: plan.strategy,
    ...(plan.sets?.length ? { sets: [...plan.sets] } : {}),
    steps: [
      ...(plan.strategy.chosen === "bake"
        ? bakeArchSteps(a.spec, built, a.bake, a.paths, platform, a.layout)
        : [
            ...a.stages.flatMap((s) => s.steps).filter((s) => s.kind === "login" || ((s.kind === "build" || s.kind === "push") && s.platform === platform)),
            ...archCheckSteps(built, platform),
          ]),
      // last: asPlan makes them the cleanup stage, which runs whatever happened before it
      ...legacyCleanup(built, legacy, platform),
      ...testCleanup(built, platform),
    ],
    secrets: plan.secrets,
  }));
}

/** Where each per-arch plan is written, inside the output folder. */
export const archPlanFile = (ap: ArchPlan): string => `plans/${platformSlug(ap.platform)}.json`;
