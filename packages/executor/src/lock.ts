// One run at a time per spec: two runs of one spec would race on its staging refs, its user tags and
// the files plan writes. The lock is keyed by the spec's real path (not the output folder, so -o OTHER
// does not bypass it), taken before anything is written, and held until the run ends. It is a file
// created exclusively; a lock whose process is gone, or whose PID now belongs to another process
// (same PID, other start time), is taken over.

import { createHash } from "node:crypto";
import { closeSync, mkdirSync, openSync, readFileSync, realpathSync, rmSync, writeSync } from "node:fs";
import { hostname, tmpdir } from "node:os";
import { basename, dirname, join } from "node:path";

export interface LockHolder {
  pid: number;
  host: string;
  since: string;
  /** The holder's start time in clock ticks since boot (/proc/PID/stat field 22): a reused PID has another. */
  started?: string;
  spec?: string;
}

export type Lock = { ok: true; file: string; release: () => void } | { ok: false; holder: LockHolder; file: string };

/** A process's start time, or undefined where /proc cannot tell. */
export function processStart(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // the command name (field 2) may hold spaces and parentheses: count fields after its last ")"
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19];
  } catch {
    return undefined;
  }
}

export function holderAlive(h: LockHolder): boolean {
  if (h.host !== hostname()) return true; // another machine's process: cannot tell, assume it runs
  try {
    process.kill(h.pid, 0);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "EPERM") return false;
  }
  const now = processStart(h.pid);
  return h.started === undefined || now === undefined || now === h.started;
}

/**
 * The lock file of a spec: beside it in .multiarch/ when that folder can be written, else in the
 * system's temporary folder, named after a hash of the spec's real path.
 */
export function lockFileOf(specFile: string): string {
  let real = specFile;
  try {
    real = realpathSync.native(specFile);
  } catch {
    // a plan whose spec is not here: the plan's own path stands for it
  }
  const dir = join(dirname(real), ".multiarch");
  try {
    mkdirSync(dir, { recursive: true });
    return join(dir, `${basename(real)}.lock`);
  } catch {
    const fallback = join(tmpdir(), "multiarch-locks");
    mkdirSync(fallback, { recursive: true });
    return join(fallback, `${createHash("sha256").update(real).digest("hex").slice(0, 16)}.lock`);
  }
}

export function acquireLock(specFile: string, now: Date = new Date()): Lock {
  const file = lockFileOf(specFile);
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(file, "wx");
      const me: LockHolder = { pid: process.pid, host: hostname(), since: now.toISOString(), spec: specFile };
      const started = processStart(process.pid);
      if (started) me.started = started;
      writeSync(fd, JSON.stringify(me));
      closeSync(fd);
      return { ok: true, file, release: () => rmSync(file, { force: true }) };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
      let holder: LockHolder | undefined;
      try {
        holder = JSON.parse(readFileSync(file, "utf8")) as LockHolder;
      } catch {
        holder = undefined; // half-written or garbage: treat as stale
      }
      if (holder && holderAlive(holder)) return { ok: false, holder, file };
      rmSync(file, { force: true });
    }
  }
  return { ok: false, holder: { pid: -1, host: hostname(), since: now.toISOString() }, file };
}
