export { loggedIn } from "./docker-config.ts";
export { checkEmulation, type EmulationProblem } from "./emulation.ts";
export { type ExecEvent, type ExecuteOptions, executePlan, planRedactor, type StepOutcome } from "./execute.ts";
export { acquireLock, type Lock, type LockHolder } from "./lock.ts";
export { engineChange, preflight } from "./preflight.ts";
export { ciBranch, ciTag, type EngineFacts, probeEngine, probeGit } from "./probe.ts";
export type { ImageSummary, Report, StagedRef, TagOutcome } from "./report.ts";
export { type RunResult, redactor, runCommand, showCommand } from "./runner.ts";
export { checkArchive, checkInspect, type PlatformCheck } from "./verify.ts";
