// The shared context every rule family reads and reports into: the input, where each value sits in the
// file, and the helpers rules share (templates, platform lists, paths inside the repository).
import { posix, relative, resolve, sep } from "node:path";
import { type Diagnostic, type DiagnosticCode, diag } from "../diagnostics.ts";
import type { KeyedTemplate, Template } from "../model.ts";
import { type Platform, parsePlatform } from "../platform.ts";
import type { SpecInput } from "../schema.ts";
import type { Path, SourceMap } from "../source-map.ts";
import { didYouMean } from "../suggest.ts";
import { checkTemplate } from "../template.ts";

/** The file system questions normalisation asks; injected so the rules stay testable and pure. */
export interface SpecFs {
  /** Resolved real path, or undefined when nothing is there. */
  realpath(path: string): string | undefined;
  kind(path: string): "file" | "dir" | undefined;
}

export interface RuleContext {
  input: SpecInput;
  map: SourceMap;
  fs: SpecFs;
  /** The spec's folder, and the repository root (real path) that no path may leave. */
  dir: string;
  rootReal: string;
  diagnostics: Diagnostic[];
  registryNames: string[];
  /** Filled by the variables rules; templates check names against it. */
  variableNames: Set<string>;
  /** Variables with split: lists, only usable as tags: [{ each: NAME }]. */
  listVariables: Set<string>;
  /** The matrix keys of the image being read, for {{matrix.KEY}}. */
  matrixKeys?: readonly string[];
}

export function createContext(input: SpecInput, map: SourceMap, opts: { file: string; root: string; fs: SpecFs }): RuleContext {
  return {
    input,
    map,
    fs: opts.fs,
    dir: resolve(opts.file, ".."),
    rootReal: opts.fs.realpath(opts.root) ?? opts.root,
    diagnostics: [],
    registryNames: Object.keys(input.registries ?? {}),
    variableNames: new Set(),
    listVariables: new Set(),
  };
}

/** An error at the value (or, with onKey, the key) at path. */
export const report = (ctx: RuleContext, code: DiagnosticCode, path: Path, message: string, hint?: string, onKey = false): void => {
  ctx.diagnostics.push(diag(code, onKey ? ctx.map.keyAt(path) : ctx.map.valueAt(path), message, { hint, path: [...path] }));
};

export const warn = (ctx: RuleContext, code: DiagnosticCode, path: Path, message: string, hint?: string): void => {
  ctx.diagnostics.push(diag(code, ctx.map.valueAt(path), message, { hint, severity: "warning", path: [...path] }));
};

/** A template parsed now (syntax, names, helpers), kept with its position and the names it reads. */
export function template(ctx: RuleContext, source: string, path: Path): Template | undefined {
  const checked = checkTemplate(source, ctx.variableNames);
  if (!checked.ok) {
    report(ctx, checked.problem.code, path, checked.problem.message, checked.problem.hint);
    return undefined;
  }
  const list = [...checked.template.uses].find((u) => ctx.listVariables.has(u));
  if (list) {
    report(ctx, "template-not-string", path, `"${list}" is a list (split:), and a single value is needed here`, `use tags: [{ each: ${list} }]`);
    return undefined;
  }
  return { source, at: ctx.map.valueAt(path), uses: [...checked.template.uses] };
}

export function keyedTemplates(ctx: RuleContext, entries: Record<string, string> | undefined, path: Path, keyRe?: RegExp): KeyedTemplate[] {
  const result: KeyedTemplate[] = [];
  for (const [key, source] of Object.entries(entries ?? {})) {
    if (keyRe && !keyRe.test(key)) report(ctx, "invalid-value", [...path, key], `"${key}" is not a valid name here`, "use letters, digits and _", true);
    const t = template(ctx, source, [...path, key]);
    if (t) result.push({ key, value: t });
  }
  return result;
}

/** Platforms as written: each parsed, normalised names warned about, duplicates merged with a warning. */
export function platformList(ctx: RuleContext, list: readonly string[], path: Path): Platform[] {
  const seen = new Map<string, string>();
  const result: Platform[] = [];
  for (const [i, written] of list.entries()) {
    const p = parsePlatform(written);
    if (!p.ok) {
      report(ctx, p.code, [...path, i], p.message, p.hint);
      continue;
    }
    if (p.normalisedFrom) warn(ctx, "platform-normalised", [...path, i], `"${written}" is written ${p.canonical}`, `write ${p.canonical}`);
    const first = seen.get(p.canonical);
    if (first !== undefined) {
      warn(ctx, "platform-duplicate", [...path, i], `"${written}" is the same platform as "${first}"; listed once`);
      continue;
    }
    seen.set(p.canonical, written);
    result.push(p.platform);
  }
  return result;
}

export function checkRegistryNames(ctx: RuleContext, names: readonly string[], path: Path): void {
  names.forEach((n, i) => {
    if (!ctx.registryNames.includes(n)) {
      const hint =
        didYouMean(n, ctx.registryNames) ?? (ctx.registryNames.length ? `registries: ${ctx.registryNames.join(", ")}` : "declare it under registries:");
      report(ctx, "registry-unknown", [...path, i], `unknown registry "${n}"`, hint);
    }
  });
}

/** A path the user wrote must exist and, resolved through symlinks, stay inside the repository. */
export function inside(ctx: RuleContext, abs: string, want: "file" | "dir", path: Path, what: string): string | undefined {
  const real = ctx.fs.realpath(abs);
  if (real === undefined || ctx.fs.kind(real) !== want) {
    const why = real === undefined ? "does not exist" : `is not a ${want === "dir" ? "folder" : "file"}`;
    report(ctx, "path-missing", path, `${what} ${relative(ctx.dir, abs) || "."} ${why}`);
    return undefined;
  }
  if (real !== ctx.rootReal && !real.startsWith(ctx.rootReal + sep)) {
    const hint = "keep build inputs inside the repository; a context outside it leaks files into builds";
    report(ctx, "path-outside-repo", path, `${what} ${relative(ctx.dir, abs)} is outside the repository (${ctx.rootReal})`, hint);
    return undefined;
  }
  return real;
}

/** A path relative to the spec's folder, with forward slashes; "." for the folder itself. */
export const specRelative = (ctx: RuleContext, abs: string): string => relative(ctx.dir, abs).split(sep).join(posix.sep) || ".";

export const resolveInSpec = (ctx: RuleContext, path: string): string => resolve(ctx.dir, path);
