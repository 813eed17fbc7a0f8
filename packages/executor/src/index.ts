// What other packages use; everything else stays inside the package.
export { dockerConfigFile, readDockerConfig } from "./docker-config.ts";
export { showInProcess } from "./digest-push.ts";
export { type BinfmtHandler, checkEmulation, readHandler } from "./emulation.ts";
export { type ExecEvent, executePlan } from "./execute.ts";
export { changedInputFiles, gatherInputs, type InputFiles } from "./input-facts.ts";
export { type Inspected, inspectRef } from "./inspect.ts";
export { makeDir } from "./make-dir.ts";
export { defaultOutProblem, ownDir, ownFile, writeOwnFile } from "./own-folder.ts";
export { acquireLock, acquireOutputLock, type Lock } from "./lock.ts";
export { preflight } from "./preflight.ts";
export { type EngineFacts, engineInfoOverSocket, inspectPlatforms, probeEngine, probeGit } from "./probe.ts";
export { readPublished } from "./published.ts";
export { kindTimings, type Report, type TagWarning, tagsLeft, tagWarnings } from "./report.ts";
export { RegistryClient, type RegistryWait, specCredentials } from "./registry.ts";
export { type Runnable, resolveRef, runCommand, showCommand } from "./runner.ts";
export { maskUrlPassword } from "./url-password.ts";
export { type SignerProblem, signerProblem } from "./signer.ts";
export { checkoutAt } from "./worktree.ts";
