// doctor, in one place: what it asks the machine (facts.ts, gather.ts), how it judges (checks.ts, pure),
// and the safe repairs --fix makes (fix.ts). The command itself is cli/src/commands/doctor.ts.
export { type Check, doctorChecks } from "./checks.ts";
export type { DoctorFacts, FixAction } from "./facts.ts";
export { runFix } from "./fix.ts";
export { gatherDoctorFacts } from "./gather.ts";
