export { builderOf } from "./builder.ts";
// What other packages use; everything else stays inside the package.
export { githubWorkflow, gitlabPipeline, INSTALLS, type Install } from "./ci.ts";
export { type CompileOptions, type CompileResult, check, compile, selectImages } from "./compile.ts";
export { type Check, doctorChecks } from "./doctor.ts";
export { type BakePrint, specFromBake } from "./from-bake.ts";
export { dot, type Graph, graphOf, mermaid } from "./graph.ts";
export { mergePlan } from "./merge-plan.ts";
export { promotePlan } from "./promote-plan.ts";
export { type Facts, renderImages } from "./render.ts";
export { signatureCheck } from "./steps.ts";
export { type Requested, resolveStrategy } from "./strategy.ts";
