export { builderOf } from "./builder.ts";
// What other packages use; everything else stays inside the package.
export { type BakeTarget } from "./bake.ts";
export { githubWorkflow, gitlabPipeline, INSTALLS, type Install, PINNABLE_ACTIONS } from "./ci/workflows.ts";
export { type CompileOptions, type CompileResult, check, compile } from "./compile.ts";
export { dot, type Graph, graphOf, mermaid } from "./graph/image-graph.ts";
export { mergePlan } from "./merge-plan.ts";
export { promotePlan } from "./promote-plan.ts";
export { basePlatformProblems } from "./input-hashes.ts";
export { type Facts, renderImages } from "./render.ts";
export { selectImages } from "./selection.ts";
export { signatureCheck } from "./steps.ts";
export { type Requested, resolveStrategy } from "./strategy.ts";
