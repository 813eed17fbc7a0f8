// What other packages use; everything else stays inside the package.
export { bakeDefaultPlatform, bakePrint } from "./bake-print.ts";
export { showDigestPush } from "./digest-push.ts";
export { gatherDoctorFacts, runFix } from "./doctor.ts";
export { checkEmulation } from "./emulation.ts";
export { type ExecEvent, executePlan } from "./execute.ts";
export { gatherInputs } from "./inputs.ts";
export { type Inspected, inspectRef } from "./inspect.ts";
export { acquireLock, type Lock } from "./lock.ts";
export { preflight } from "./preflight.ts";
export { type EngineFacts, probeEngine, probeGit } from "./probe.ts";
export { readPublished } from "./published.ts";
export { kindTimings, type Report } from "./report.ts";
export { type Runnable, runCommand, showCommand } from "./runner.ts";
export { checkoutAt } from "./worktree.ts";
