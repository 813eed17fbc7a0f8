import type { Lock } from "@multiarch/executor";
import { EXIT, type Outcome } from "../context.ts";
import { displayPath, type Io } from "../format.ts";

/** Another run holds the spec's lock: say who, since when, and how to clear a lock left behind. */
export function lockedOutcome(lock: Extract<Lock, { ok: false }>, io: Io): Outcome {
  const h = lock.holder;
  return {
    exit: EXIT.locked,
    message: `another run of this spec holds its lock (pid ${h.pid} on ${h.host}, since ${h.since}); wait for it to finish. If that process is gone (a crash on another machine sharing this folder), remove ${displayPath(lock.file, io.cwd)}`,
  };
}
