// One run at a time per spec: two runs of one spec would race on its staging refs, its user tags and
// the files plan writes. The lock is keyed by the spec's real path (not the output folder, so -o OTHER
// does not bypass it), taken before anything is written, and held until the run ends. Its content is
// written to a file of our own first, then hard-linked into place: the link fails if the lock exists, so
// a lock is never seen empty or half-written (which would read as stale). A lock whose process is gone,
// or whose PID now belongs to another process (same PID, other start time), is taken over, by one
// racer at a time (see takeOver).

import { closeSync, linkSync, lstatSync, openSync, readFileSync, realpathSync, rmSync, statSync, writeFileSync } from "node:fs";
import { hostname, tmpdir } from "node:os";
import { basename, dirname, join } from "node:path";
import { sha256 } from "@multiarch/plan";
import { makeDir } from "./make-dir.ts";

export interface LockHolder {
  pid: number;
  host: string;
  since: string;
  /** The holder's start time in clock ticks since boot (/proc/PID/stat field 22): a reused PID has another. */
  started?: string;
  spec?: string;
}

export type Lock = { ok: true; file: string; release: () => void } | { ok: false; holder: LockHolder; file: string };

/** /proc/PID/stat's fields from the third (the state) on, or undefined where /proc cannot tell. */
function statFields(pid: number): string[] | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // the command name (field 2) may hold spaces and parentheses: count fields after its last ")"
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  } catch {
    return undefined;
  }
}

/** A process's start time, or undefined where /proc cannot tell. */
export const processStart = (pid: number): string | undefined => statFields(pid)?.[19];

/**
 * Whether the process that had `started` still runs: one that ended but was not reaped yet (a zombie,
 * its parent gone or busy) does not. Where /proc cannot tell: false.
 */
export function stillRuns(pid: number, started: string | undefined): boolean {
  const f = statFields(pid);
  return f !== undefined && f[0] !== "Z" && (started === undefined || f[19] === started);
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
 * system's temporary folder, named after a hash of the spec's real path. That folder is this user's
 * (another user's would not be writable): users who cannot write the spec's folder do not see each
 * other's runs.
 */
export function lockFileOf(specFile: string): string {
  let real = specFile;
  try {
    real = realpathSync.native(specFile);
  } catch {
    // a plan whose spec is not here: the plan's own path stands for it
  }
  const dir = join(dirname(real), ".multiarch");
  // a link there (a repository may commit one) is not followed: the lock goes to the fallback
  const linked = lstatSync(dir, { throwIfNoEntry: false })?.isSymbolicLink() === true;
  try {
    if (!linked) {
      makeDir(dir);
      // mkdir succeeds on a folder that exists but is not ours to write (a read-only checkout or mount):
      // a file is tried (access(2) would answer for the real user, not the effective one)
      const probe = join(dir, `.probe.${process.pid}`);
      closeSync(openSync(probe, "w"));
      rmSync(probe, { force: true });
      return join(dir, `${basename(real)}.lock`);
    }
  } catch {
    // not writable: the fallback below
  }
  const fallback = join(tmpdir(), `multiarch-locks-${process.geteuid?.() ?? "user"}`);
  makeDir(fallback, 0o700);
  // a shared temporary folder: one another account made (or a link it put there) could hold every run,
  // or aim the lock's writes at this user's files
  const st = lstatSync(fallback);
  const uid = process.geteuid?.();
  if (!st.isDirectory() || (uid !== undefined && st.uid !== uid) || (st.mode & 0o022) !== 0)
    throw Object.assign(new Error(`EACCES: another user's folder, or one others may write, which multiarch keeps no lock in, open '${fallback}'`), {
      code: "EACCES",
      syscall: "open",
      path: fallback,
    });
  return join(fallback, `${sha256(real).slice(0, 16)}.lock`);
}

/** A guard older than this was left by a process that died while taking over a stale lock. */
const TAKEOVER_GUARD_STALE_MS = 10_000;

function readLock(file: string): string | undefined {
  try {
    return readFileSync(file, "utf8");
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw e;
  }
}

function parseHolder(text: string): LockHolder | undefined {
  try {
    return JSON.parse(text) as LockHolder;
  } catch {
    return undefined; // garbage (no run writes it): stale
  }
}

/**
 * Removes the stale lock whose content was `stale`, unless another racer did first and has since
 * linked its own: racers take a guard file in turn, and remove the lock only if it still holds what
 * they judged stale. False when another racer holds the guard (retry shortly).
 */
function takeOver(file: string, stale: string): boolean {
  const guard = `${file}.takeover`;
  try {
    closeSync(openSync(guard, "wx"));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
    try {
      if (Date.now() - statSync(guard).mtimeMs > TAKEOVER_GUARD_STALE_MS) rmSync(guard, { force: true });
    } catch {
      // released meanwhile
    }
    return false;
  }
  try {
    if (readLock(file) === stale) rmSync(file, { force: true });
  } finally {
    rmSync(guard, { force: true });
  }
  return true;
}

const pause = (ms: number) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);

export function acquireLock(specFile: string, now: Date = new Date()): Lock {
  return acquireLockFile(lockFileOf(specFile), specFile, now);
}

/**
 * The output folder's lock (OUT/.lock), taken beside the spec's: two specs of one folder write one
 * .multiarch (and -o can name one folder for two specs), and one run's bake would read the other's bake
 * file (found by a review: one image's content published under the other's name, exit 0).
 */
export function acquireOutputLock(outDir: string, specFile: string, now: Date = new Date()): Lock {
  makeDir(outDir);
  return acquireLockFile(join(outDir, ".lock"), specFile, now);
}

function acquireLockFile(file: string, specFile: string, now: Date): Lock {
  const me: LockHolder = { pid: process.pid, host: hostname(), since: now.toISOString(), spec: specFile };
  const started = processStart(process.pid);
  if (started) me.started = started;
  const draft = `${file}.${process.pid}.draft`;
  try {
    writeFileSync(draft, JSON.stringify(me));
  } catch (e) {
    // a full disk makes the file and fails the write: no empty draft left behind, and the error names it
    try {
      rmSync(draft, { force: true });
    } catch {
      // not ours to remove (a folder of that name): the error below says what failed
    }
    const err = e as NodeJS.ErrnoException;
    if (err.path === undefined) err.path = draft;
    throw err;
  }
  try {
    // bounded: a racer holding the takeover guard keeps it for a few system calls
    for (let attempt = 0; attempt < 200; attempt++) {
      try {
        linkSync(draft, file);
        return { ok: true, file, release: () => rmSync(file, { force: true }) };
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
      }
      const text = readLock(file);
      if (text === undefined) continue; // released meanwhile
      const holder = parseHolder(text);
      if (holder && holderAlive(holder)) return { ok: false, holder, file };
      if (!takeOver(file, text)) pause(5);
    }
  } finally {
    rmSync(draft, { force: true });
  }
  return { ok: false, holder: { pid: -1, host: hostname(), since: now.toISOString() }, file };
}
