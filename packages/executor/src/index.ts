export { type ExecEvent, type ExecuteOptions, executePlan, type ImageSummary, loggedIn, planRedactor, type Report, type StagedRef, type StepOutcome, type TagOutcome } from "./execute.ts";
export { ciBranch, ciTag, type EngineFacts, probeEngine, probeGit } from "./probe.ts";
export { redactor, type RunResult, runCommand, showCommand } from "./runner.ts";
export { checkArchive, checkInspect, type PlatformCheck } from "./verify.ts";
export { acquireLock, type Lock, type LockHolder } from "./lock.ts";
export { checkEmulation, type EmulationProblem } from "./emulation.ts";
