import type { Lock } from "@multiarch/executor";
import { EXIT, type Outcome } from "../context.ts";
import { displayPath, type Io } from "../format.ts";

/**
 * Another run holds the spec's lock, or (`outDir`) its output folder's: say who, since when, and how to
 * clear a lock left behind.
 */
export function lockedOutcome(lock: Extract<Lock, { ok: false }>, io: Io, outDir?: string): Outcome {
  const h = lock.holder;
  const whose =
    outDir === undefined
      ? "another run of this spec holds its lock"
      : `another run${h.spec ? ` (of ${displayPath(h.spec, io.cwd)})` : ""} writes ${displayPath(outDir, io.cwd)}, this run's output folder`;
  const wait = outDir === undefined ? "wait for it to finish" : "wait for it to finish, or give this run a folder of its own with -o DIR";
  return {
    exit: EXIT.locked,
    message: `${whose} (pid ${h.pid} on ${h.host}, since ${h.since}); ${wait}. If that process is gone (a crash on another machine sharing this folder), remove ${displayPath(lock.file, io.cwd)}`,
  };
}
