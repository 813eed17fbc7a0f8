// The package's only file system access: find, read, and answer SpecFs questions.
import {
  closeSync,
  constants,
  type Dirent,
  existsSync,
  fstatSync,
  lstatSync,
  openSync,
  readdirSync,
  readSync,
  realpathSync,
  type Stats,
  statSync,
} from "node:fs";
import { dirname, join, resolve } from "node:path";
import { diag } from "./diagnostics.ts";
import { parseSpec, type SpecResult } from "./parse.ts";
import { joinName, splitPath } from "./posix-path.ts";
import type { SpecFs } from "./rules/context.ts";
import { MAX_SPEC_BYTES, tooLarge } from "./source-map.ts";

export const SPEC_FILE_NAME = "multiarch.yaml";

/**
 * The file system as one load of a spec sees it. A path's real path is its folder's (asked once per
 * folder) and its name, unless it is a link. Its kind comes from one lstat, or, from a folder's second
 * child on, from one listing of the folder (a monorepo's services/*: one read, not one lstat each);
 * realpath would read every component and a stat follow.
 */
export function nodeFs(): SpecFs {
  const real = new Map<string, string | undefined>();
  const kinds = new Map<string, "dir" | "file" | undefined>();
  const asked = new Set<string>();
  const listings = new Map<string, Map<string, Dirent> | undefined>();
  const kindOf = (st: Stats | Dirent) => (st.isDirectory() ? "dir" : st.isFile() ? "file" : undefined);
  /**
   * The entry of path from its folder's listing; undefined where a listing cannot say, lstat then: a
   * file system that gives no types, or a name not listed as written (a case-insensitive one finds it).
   */
  const listed = (parent: string, name: string): Dirent | undefined => {
    if (!asked.has(parent)) {
      asked.add(parent);
      return undefined;
    }
    if (!listings.has(parent)) {
      let entries: Map<string, Dirent> | undefined;
      try {
        entries = new Map(readdirSync(parent, { withFileTypes: true }).map((e) => [e.name, e]));
      } catch {
        entries = undefined;
      }
      listings.set(parent, entries);
    }
    const entries = listings.get(parent);
    const entry = entries?.get(name);
    return entry && (entry.isDirectory() || entry.isFile() || entry.isSymbolicLink()) ? entry : undefined;
  };
  const realpath = (path: string): string | undefined => {
    if (real.has(path)) return real.get(path);
    let result: string | undefined;
    try {
      const [parent, name] = splitPath(path);
      const st = parent === path ? undefined : (listed(parent, name) ?? lstatSync(path));
      if (!st || st.isSymbolicLink()) result = realpathSync.native(path);
      else {
        const folder = realpath(parent);
        result = folder === undefined ? undefined : joinName(folder, name);
        if (result !== undefined) kinds.set(result, kindOf(st));
      }
    } catch {
      result = undefined;
    }
    real.set(path, result);
    return result;
  };
  return {
    realpath,
    kind(path) {
      if (kinds.has(path)) return kinds.get(path);
      try {
        return kindOf(statSync(path));
      } catch {
        return undefined;
      }
    },
  };
}

/** multiarch.yaml in cwd or the nearest folder above it. */
export function findSpec(cwd: string): string | undefined {
  for (let dir = resolve(cwd); ; dir = dirname(dir)) {
    const candidate = join(dir, SPEC_FILE_NAME);
    if (existsSync(candidate)) return candidate;
    if (dirname(dir) === dir) return undefined;
  }
}

/** The repository root: nearest folder with .git at or above the spec; else the spec's folder. */
export function findRoot(specFile: string): string {
  const start = dirname(specFile);
  for (let dir = start; ; dir = dirname(dir)) {
    if (existsSync(join(dir, ".git"))) return dir;
    if (dirname(dir) === dir) return start;
  }
}

export function loadSpec(
  file: string,
  opts: { env?: Readonly<Record<string, string | undefined>>; sets?: readonly string[]; absentInputs?: boolean } = {},
): SpecResult {
  const abs = resolve(file);
  const read = readSpecFile(abs);
  if (!read.ok) {
    const error = "bytes" in read ? tooLarge(abs, read.bytes) : diag("spec-not-found", { file: abs, line: 0, col: 0 }, read.message, { hint: read.hint });
    return { ok: false, errors: [error], warnings: [] };
  }
  return parseSpec(read.text, { file: abs, root: findRoot(abs), fs: nodeFs(), ...opts });
}

/**
 * Reads a spec only when it is a regular file within the size limit, checked before reading: a FIFO
 * would block forever and /dev/zero would fill memory. The descriptor is opened non-blocking and
 * checked again, so a path swapped for a FIFO after the first check cannot hang the read either.
 */
export function readSpecFile(abs: string): { ok: true; text: string } | { ok: false; message: string; hint: string } | { ok: false; bytes: number } {
  const hint = "pass -f path/to/multiarch.yaml";
  let fd: number | undefined;
  try {
    const st = statSync(abs);
    const refused = kindProblem(st);
    if (refused)
      return {
        ok: false,
        message: `${abs} is ${refused}, not a spec file`,
        hint: st.isDirectory() ? `name the file in it: -f ${join(abs, SPEC_FILE_NAME)}` : hint,
      };
    if (st.size > MAX_SPEC_BYTES) return { ok: false, bytes: st.size };
    fd = openSync(abs, constants.O_RDONLY | constants.O_NONBLOCK);
    const again = fstatSync(fd);
    if (kindProblem(again) || again.size > MAX_SPEC_BYTES) return { ok: false, message: `${abs} changed while it was read`, hint };
    const buf = Buffer.alloc(again.size);
    let n = 0;
    while (n < buf.length) {
      const got = readSync(fd, buf, n, buf.length - n, n);
      if (got === 0) break;
      n += got;
    }
    return { ok: true, text: buf.subarray(0, n).toString("utf8") };
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    // a file that is there and cannot be read: its permissions, not the path, are what to fix
    const denied = code === "EACCES" || code === "EPERM";
    return {
      ok: false,
      message: code === "ENOENT" ? `spec not found: ${abs}` : `cannot read ${abs}: ${code ?? String(e)}`,
      hint: denied ? "this user may not read it: check its permissions (and its folders')" : hint,
    };
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

function kindProblem(st: Stats): string | undefined {
  if (st.isFile()) return undefined;
  return st.isDirectory()
    ? "a folder"
    : st.isFIFO()
      ? "a named pipe (FIFO)"
      : st.isCharacterDevice() || st.isBlockDevice()
        ? "a device"
        : st.isSocket()
          ? "a socket"
          : "not a regular file";
}
