// For unit tests: a spec parsed against a made-up file system, and the errors it gives.
import { parseSpec } from "../parse.ts";
import type { SpecFs } from "../rules/context.ts";

/** A file system of these folders and files, and links (path -> the real path it resolves to). */
export const fsOf = (dirs: string[], files: string[], links: Record<string, string> = {}): SpecFs => ({
  realpath: (p) => links[p] ?? (dirs.includes(p) || files.includes(p) ? p : undefined),
  kind: (p) => (dirs.includes(p) ? "dir" : files.includes(p) ? "file" : undefined),
});

/** Each error of the spec `text` at `root`/multiarch.yaml: its code, message and hint. */
export const problems = (text: string, root: string, fs: SpecFs) => {
  const r = parseSpec(text, { file: `${root === "/" ? "" : root}/multiarch.yaml`, root, fs });
  return r.ok ? [] : r.errors.map((e) => [e.code, e.message, e.hint]);
};
