// The publish phase every plan that publishes ends with (bake, manifest, merge, promote): after the
// indexes are verified, the steps that act on each verified index, then the step that moves its user
// tags. The one list of them: a new publish step is an entry in PUBLISH_PHASE, and every plan has it.
import type { Plan, PlannedImage, PlannedRef, Stage, Step } from "@multiarch/plan";
import type { Signing } from "@multiarch/spec";
import { signSteps } from "./steps.ts";

/** What each plan knows when it lays out its publish phase. */
export interface PublishPhase {
  /** The images of the plan (verified by now); those with `notPublished` move no tag. */
  images: readonly PlannedImage[];
  /** How indexes are signed here (undefined: not signed in this plan). */
  sign: Signing | undefined;
  /** The step that moves one ref's user tags to the verified index: each strategy has its own. */
  publish: (image: PlannedImage, ref: PlannedRef) => Step;
}

/** The stages between verification and publishing, in order, each a stage name and what builds its steps. */
const PUBLISH_PHASE: readonly { name: string; steps: (phase: PublishPhase) => Step[] }[] = [
  { name: "sign", steps: ({ sign, images }) => (sign ? signSteps(sign, images) : []) },
];

const publishStage = ({ images, publish }: Pick<PublishPhase, "images" | "publish">): Stage => ({
  name: "publish",
  steps: images.filter((img) => !img.notPublished).flatMap((img) => img.refs.map((ref) => publish(img, ref))),
});

/** The publish phase's stages, in order (empty ones included: each plan drops those). */
export const publishStages = (phase: PublishPhase): Stage[] => [
  ...PUBLISH_PHASE.map(({ name, steps }) => ({ name, steps: steps(phase) })),
  publishStage(phase),
];

/**
 * merge's publish phase: it has no spec, so it carries the full plan's steps of each stage as they are
 * (they name the index they act on by its staging ref, which the merge verifies again); only the
 * publish steps are its own.
 */
export const carriedPublishStages = (plan: Plan, phase: Pick<PublishPhase, "images" | "publish">): Stage[] => [
  ...PUBLISH_PHASE.map(({ name }) => ({ name, steps: plan.stages.filter((s) => s.name === name).flatMap((s) => s.steps) })),
  publishStage(phase),
];
