// The package's only file system access: find, read, and answer SpecFs questions.
import { existsSync, readFileSync, realpathSync, statSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { diag } from "./diagnostics.ts";
import type { SpecFs } from "./normalize.ts";
import { parseSpec, type SpecResult } from "./parse.ts";

export const SPEC_FILE_NAME = "multiarch.yaml";

export const nodeFs: SpecFs = {
  realpath(path) {
    try {
      return realpathSync.native(path);
    } catch {
      return undefined;
    }
  },
  kind(path) {
    try {
      const st = statSync(path);
      return st.isDirectory() ? "dir" : st.isFile() ? "file" : undefined;
    } catch {
      return undefined;
    }
  },
};

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

export function loadSpec(file: string): SpecResult {
  const abs = resolve(file);
  let text: string;
  try {
    text = readFileSync(abs, "utf8");
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const message = code === "ENOENT" ? `spec not found: ${abs}` : code === "EISDIR" ? `${abs} is a folder, not a spec file` : `cannot read ${abs}: ${code ?? String(e)}`;
    return { ok: false, errors: [diag("spec-not-found", { file: abs, line: 0, col: 0 }, message, { hint: "pass -f path/to/multiarch.yaml" })], warnings: [] };
  }
  return parseSpec(text, { file: abs, root: findRoot(abs), fs: nodeFs });
}
