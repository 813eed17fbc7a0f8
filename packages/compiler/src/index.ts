export { type BakeFile, type BakeTarget, serializeBakeFile } from "./bake.ts";
export { type CompileOptions, type CompileResult, type Compiled, compile } from "./compile.ts";
export type { Arg, ArchPlan, Built, Command, Plan, PlannedImage, PlannedRef, Ref, Stage, Step, StepKind, Verified, Yield } from "./plan-file.ts";
export { PLAN_VERSION, parsePlanFile } from "./plan-file.ts";
export { type Facts, type GitFacts, type RenderedImage, renderImages } from "./render.ts";
