// mkdir -p, one level at a time. Node's own (mkdirSync with recursive: true, Node 20) reads ENOENT as
// "the parent is missing": it makes the parent (EEXIST: fine) and tries the child again, forever, when a
// file system answers ENOENT for a child it will not create under a parent that exists (procfs: -o /proc/x
// spun at 100% CPU and never returned, even to SIGTERM). Here a second ENOENT, once the parent exists, is final.
import { mkdirSync, statSync } from "node:fs";
import { dirname, resolve } from "node:path";

const codeOf = (e: unknown): string | undefined => (e as NodeJS.ErrnoException).code;

const isDir = (path: string): boolean => {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false; // a dangling link: mkdir's EEXIST stands
  }
};

/**
 * Creates `dir` and the folders above it that are missing, each with `mode` when given (a private cache:
 * 0o700); a folder that exists already is fine.
 */
export function makeDir(dir: string, mode?: number): void {
  const abs = resolve(dir);
  const once = () => {
    try {
      mkdirSync(abs, { mode });
    } catch (e) {
      if (codeOf(e) !== "EEXIST" || !isDir(abs)) throw e;
    }
  };
  try {
    once();
  } catch (e) {
    const parent = dirname(abs);
    if (codeOf(e) !== "ENOENT" || parent === abs) throw e;
    makeDir(parent, mode);
    try {
      once();
    } catch (again) {
      if (codeOf(again) !== "ENOENT") throw again;
      throw Object.assign(new Error(`ENOENT: ${parent} exists but takes no new folder, mkdir '${abs}'`), { code: "ENOENT", syscall: "mkdir", path: abs });
    }
  }
}
