// apply --plan FILE: a plan.json or plans/<platform>.json that multiarch plan wrote, read back and checked,
// under the lock of the spec it was compiled from.
import { readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import type { Lock } from "@multiarch/executor";
import { asPlan, type Plan } from "@multiarch/plan";
import { parsePlanFile } from "@multiarch/plan/read";
import { EXIT, type Outcome } from "../context.ts";
import { displayPath, type Io } from "../format.ts";
import { lockedOutcome } from "./lock.ts";

export type SavedPlan = { plan: Plan; planDir: string; lock: Extract<Lock, { ok: true }> } | { outcome: Outcome };

export function readSavedPlan(planFile: string, io: Io, lockOf: (specFile: string) => Lock): SavedPlan {
  const file = resolve(io.cwd, planFile);
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(file, "utf8"));
  } catch (e) {
    return { outcome: { exit: EXIT.usage, message: `cannot read plan ${displayPath(file, io.cwd)}: ${(e as Error).message}` } };
  }
  const parsed = parsePlanFile(json);
  if (!parsed.ok)
    return {
      outcome: {
        exit: EXIT.usage,
        message: `${displayPath(file, io.cwd)} cannot be run (write it again with multiarch plan):\n${parsed.problems.map((p) => `  ${p}`).join("\n")}`,
      },
    };
  const planDir = dirname(file);
  const lock = lockOf(resolve(planDir, parsed.plan.spec));
  if (!lock.ok) return { outcome: lockedOutcome(lock, io) };
  return { plan: asPlan(parsed.plan), planDir, lock };
}
