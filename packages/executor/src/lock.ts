// One apply at a time per output folder: two runs of one spec would race on the same staging and user
// tags. The lock is a file created exclusively; a lock whose process is gone is taken over.
import { openSync, readFileSync, rmSync, writeSync, closeSync, mkdirSync } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";

export interface LockHolder {
  pid: number;
  host: string;
  since: string;
}

export type Lock = { ok: true; release: () => void } | { ok: false; holder: LockHolder; file: string };

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
};

export function acquireLock(dir: string, now: Date = new Date()): Lock {
  mkdirSync(dir, { recursive: true });
  const file = join(dir, "apply.lock");
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(file, "wx");
      writeSync(fd, JSON.stringify({ pid: process.pid, host: hostname(), since: now.toISOString() } satisfies LockHolder));
      closeSync(fd);
      return { ok: true, release: () => rmSync(file, { force: true }) };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
      let holder: LockHolder | undefined;
      try {
        holder = JSON.parse(readFileSync(file, "utf8")) as LockHolder;
      } catch {
        holder = undefined; // half-written or garbage: treat as stale
      }
      if (holder && (holder.host !== hostname() || alive(holder.pid))) return { ok: false, holder, file };
      rmSync(file, { force: true });
    }
  }
  return { ok: false, holder: { pid: -1, host: hostname(), since: now.toISOString() }, file };
}
