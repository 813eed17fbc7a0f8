// The shared context every rule family reads and reports into: the input, where each value sits in the
// file, and the helpers rules share (templates, platform lists, paths inside the repository).
import { posix, relative, resolve, sep } from "node:path";
import { didYouMean, type Platform, parsePlatform } from "@multiarch/plan";
import { type Diagnostic, type DiagnosticCode, diag } from "../diagnostics.ts";
import type { KeyedTemplate, Template } from "../model.ts";
import type { Override } from "../overrides.ts";
import type { SpecInput } from "../schema.ts";
import type { Path, SourceMap } from "../source-map.ts";
import { checkTemplate } from "../template.ts";
import { isWithin, relativeUnder, resolveUnder } from "../posix-path.ts";

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
  /** Variables with split: (name -> separator): lists, for tags: [{ each: NAME }] and platforms: "{{NAME}}". */
  listVariables: Map<string, string>;
  /** The environment variables are read from; undefined for validate --static (defaults only). */
  env?: Readonly<Record<string, string | undefined>>;
  /** Each variable's value where it is known now (its value, its env variable, or its default). */
  values: Map<string, string>;
  /** --set overrides, and the fields they replaced (problems there are the override's, not the file's). */
  overrides: readonly Override[];
  overridden: { path: Path; text: string }[];
  /** Build inputs that do not exist are no error: nothing will be built from them (promote). */
  absentInputs: boolean;
}

export function createContext(
  input: SpecInput,
  map: SourceMap,
  opts: { file: string; root: string; fs: SpecFs; env?: Readonly<Record<string, string | undefined>>; overrides?: readonly Override[]; absentInputs?: boolean },
): RuleContext {
  return {
    input,
    map,
    fs: opts.fs,
    dir: resolve(opts.file, ".."),
    rootReal: opts.fs.realpath(opts.root) ?? opts.root,
    diagnostics: [],
    registryNames: Object.keys(input.registries ?? {}),
    variableNames: new Set(),
    listVariables: new Map(),
    values: new Map(),
    overrides: opts.overrides ?? [],
    overridden: [],
    absentInputs: opts.absentInputs === true,
    ...(opts.env ? { env: opts.env } : {}),
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
  // one --set gave has no place in the file: its problems found later (rendering) are said as the override's
  const set = ctx.overridden.find((o) => o.path.every((seg, i) => path[i] === seg));
  return set
    ? { source, at: { file: ctx.map.file, line: 0, col: 0 }, uses: [...checked.template.uses], from: set.text }
    : { source, at: ctx.map.valueAt(path), uses: [...checked.template.uses] };
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

/**
 * A field that shapes the plan (a registry URL, a repository) may use variables, resolved now: a value
 * known only later would change which refs a plan has. undefined when a variable has no value yet
 * (validate --static, or an unset variable without default: reported unless static).
 */
export function structural(ctx: RuleContext, source: string, path: Path): string | undefined {
  if (!source.includes("{{")) return source;
  const t = template(ctx, source, path);
  if (!t) return undefined;
  const other = t.uses.find((u) => !ctx.variableNames.has(u));
  if (other) {
    report(ctx, "template-unknown-variable", path, `"${other}.*" is not known when the plan is made; only variables may be used here`, "use a variable");
    return undefined;
  }
  const missing = t.uses.find((u) => !ctx.values.has(u));
  if (missing) {
    if (ctx.env)
      report(ctx, "env-unset", path, `template "${source}": variable ${missing} is not set and has no default`, "export it, or give the variable a default:");
    return undefined;
  }
  const checked = checkTemplate(source, ctx.variableNames);
  try {
    return checked.ok ? checked.template.render(Object.assign(Object.create(null), Object.fromEntries(ctx.values))) : undefined;
  } catch (e) {
    report(ctx, "template-render", path, `template "${source}": ${e instanceof Error ? e.message.split("\n")[0] : String(e)}`);
    return undefined;
  }
}

/** A platform list, or "{{VAR}}" naming a list variable (split:) that holds one. */
export function platformsOf(ctx: RuleContext, input: readonly string[] | string, path: Path): Platform[] {
  if (typeof input !== "string") return platformList(ctx, input, path);
  const name = /^{{\s*([A-Za-z_][A-Za-z0-9_]*)\s*}}$/.exec(input)?.[1];
  if (!name || !ctx.listVariables.has(name)) {
    report(
      ctx,
      "invalid-type",
      path,
      `platforms: expected a list, or "{{NAME}}" of a list variable (split:), got "${input}"`,
      `write a list: [${input.includes("{{") ? "linux/amd64, linux/arm64" : input}]`,
    );
    return [];
  }
  const value = ctx.values.get(name);
  if (value === undefined) {
    if (ctx.env) report(ctx, "env-unset", path, `platforms: variable ${name} is not set and has no default`, "export it, or give the variable a default:");
    return [];
  }
  const items = value
    .split(ctx.listVariables.get(name)!)
    .map((x) => x.trim())
    .filter(Boolean);
  if (items.length === 0) report(ctx, "invalid-value", path, `platforms: variable ${name} holds no platform`);
  return platformList(ctx, items, path);
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
    if (p.normalisedFrom) warn(ctx, "platform-normalised", [...path, i], `"${written}" is written ${p.platform}`, `write ${p.platform}`);
    const first = seen.get(p.platform);
    if (first !== undefined) {
      warn(ctx, "platform-duplicate", [...path, i], `"${written}" is the same platform as "${first}"; listed once`);
      continue;
    }
    seen.set(p.platform, written);
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
  if (real === undefined && ctx.absentInputs) return abs;
  if (real === undefined || ctx.fs.kind(real) !== want) {
    const why = real === undefined ? "does not exist" : `is not a ${want === "dir" ? "folder" : "file"}`;
    const hint =
      want === "file"
        ? "the Dockerfile is looked for in the context folder; name another with dockerfile: (relative to the context)"
        : `paths are relative to the spec's folder, ${ctx.dir}`;
    report(ctx, "path-missing", path, `${what} ${relative(ctx.dir, abs) || "."} ${why}`, hint);
    return undefined;
  }
  if (!isWithin(ctx.rootReal, real)) {
    const hint = "keep build inputs inside the repository; a context outside it leaks files into builds";
    report(ctx, "path-outside-repo", path, `${what} ${relative(ctx.dir, abs)} is outside the repository (${ctx.rootReal})`, hint);
    return undefined;
  }
  return real;
}

/**
 * A path written absolute names one machine's files: a checked-in spec builds differently (or not at all)
 * on every other checkout and in CI. Refused, with the relative path to write when it is in the repository.
 */
export function absolutePath(
  ctx: RuleContext,
  path: Path,
  p: { what: string; key: string; abs: string; kind: "file" | "folder"; base: string; baseName: string },
): void {
  const hint = isWithin(ctx.rootReal, p.abs)
    ? `write it relative to ${p.baseName}: ${p.key}: ${relative(p.base, p.abs).split(sep).join(posix.sep) || "."}`
    : `put it in the repository and write its path relative to ${p.baseName}`;
  report(
    ctx,
    "path-absolute",
    path,
    `${p.what} ${p.abs} is an absolute path: it names a ${p.kind} on this machine, which other checkouts and CI do not have`,
    hint,
  );
}

/** A path relative to the spec's folder, with forward slashes; "." for the folder itself. */
export const specRelative = (ctx: RuleContext, abs: string): string => relativeUnder(ctx.dir, abs).split(sep).join(posix.sep) || ".";

export const resolveInSpec = (ctx: RuleContext, path: string): string => resolveUnder(ctx.dir, path);
