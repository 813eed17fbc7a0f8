// Tag, arg, label and annotation values are handlebars templates. One isolated, strict environment:
// no HTML escaping, a fixed set of helpers, no prototype access, and every template checked statically
// at validation time (syntax, helpers, variable names) so rendering can only fail on missing values.

import { didYouMean } from "@multiarch/plan";
import type Handlebars from "handlebars";

const str = (v: unknown): string => (v === undefined || v === null ? "" : String(v));
const SEMVER_RE = /^v?(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-([0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?(?:\+([0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?$/;

/** A semantic version as docker/metadata-action reads one: a leading v allowed, build metadata apart. */
export interface SemVer {
  /** As written. */
  raw: string;
  major: string;
  minor: string;
  patch: string;
  prerelease?: string;
  build?: string;
}
export function parseSemver(value: string): SemVer | undefined {
  const m = SEMVER_RE.exec(value);
  if (!m) return undefined;
  return { raw: value, major: m[1]!, minor: m[2]!, patch: m[3]!, ...(m[4] ? { prerelease: m[4] } : {}), ...(m[5] ? { build: m[5] } : {}) };
}
/** MAJOR.MINOR.PATCH[-PRERELEASE]: metadata-action's {{version}} (no v, no build metadata). */
const versionOf = (v: SemVer): string => `${v.major}.${v.minor}.${v.patch}${v.prerelease ? `-${v.prerelease}` : ""}`;

/** "/re/flags" is a regular expression; anything else is matched literally. */
const pattern = (from: string): RegExp | string => {
  const m = /^\/(.+)\/([gimsuy]*)$/.exec(from);
  return m ? new RegExp(m[1]!, m[2]!.includes("g") ? m[2] : `${m[2]}g`) : from;
};
/** Makes any text tag-safe: feature/x -> feature-x. */
const sanitize = (s: unknown): string =>
  str(s)
    .replace(/[^A-Za-z0-9_.-]+/g, "-")
    .replace(/^[.-]+/, "");
const HELPERS: Record<string, (...args: unknown[]) => string | boolean> = {
  lower: (s) => str(s).toLowerCase(),
  upper: (s) => str(s).toUpperCase(),
  /** Literal text, or a regular expression written /re/flags ($1 in the replacement). */
  replace: (s, from, to) => {
    const p = pattern(str(from));
    return typeof p === "string" ? str(s).split(p).join(str(to)) : str(s).replace(p, str(to));
  },
  truncate: (s, n) => str(s).slice(0, Number(n)),
  sanitize,
  default: (s, fallback) => (str(s) === "" ? str(fallback) : str(s)),
  isPrerelease: (s) => Boolean(parseSemver(str(s))?.prerelease),
};

/**
 * Tag helpers that can have no value in a run: a version part of a value that is not a release, the
 * branch of a tag build, the pull request of a push. As docker/metadata-action drops such an entry, a
 * tag whose printed helper has no value is dropped whole (so "v{{major version}}" never tags "v"), and
 * the reason is kept for the tag-empty note. Inside a subexpression ({{#if (major version)}}) the
 * helper is just empty, so templates can test for it.
 */
interface HelperOptions {
  hash: Record<string, unknown>;
  data: { root: Record<string, unknown>; epoch?: string; drops?: { at: string; reason: string }[] };
  loc: { start: { line: number; column: number } };
}
const locKey = (l: { line: number; column: number }) => `${l.line}:${l.column}`;
const noValue = (options: HelperOptions, reason: string): string => {
  options.data.drops?.push({ at: locKey(options.loc.start), reason });
  return "";
};
/** metadata-action's type=semver pattern expressions; a prerelease only tags through version and raw. */
const PATTERN_RE = /{{\s*(raw|version|major|minor|patch)\s*}}/g;
const releaseHelpers: Record<string, (value: unknown, ...rest: unknown[]) => string> = {
  /** The version (no v, no build metadata); an error when it is not one. With a pattern: metadata-action's type=semver. */
  semver: (value, ...rest) => {
    const options = rest.pop() as HelperOptions;
    const v = parseSemver(str(value));
    if (rest.length === 0) {
      if (!v) throw new Error(`"${str(value)}" is not a semantic version (MAJOR.MINOR.PATCH[-PRERELEASE])`);
      return versionOf(v);
    }
    const source = str(rest[0]);
    const problem = checkSemverPattern(source);
    if (problem) throw new Error(problem);
    if (!v) return noValue(options, `"${str(value)}" is not a semantic version`);
    const parts = [...source.matchAll(PATTERN_RE)].map((m) => m[1]!);
    if (v.prerelease && parts.some((p) => p !== "raw" && p !== "version"))
      return noValue(options, `${v.raw} is a prerelease: only {{version}} and {{raw}} tag it`);
    const values: Record<string, string> = { raw: sanitize(v.raw), version: versionOf(v), major: v.major, minor: v.minor, patch: v.patch };
    return source.replace(PATTERN_RE, (_m, k: string) => values[k]!);
  },
  major: (value, options) => part(value, options as HelperOptions, (v) => v.major),
  minor: (value, options) => part(value, options as HelperOptions, (v) => v.minor),
  patch: (value, options) => part(value, options as HelperOptions, (v) => v.patch),
  majorMinor: (value, options) => part(value, options as HelperOptions, (v) => `${v.major}.${v.minor}`),
  /** metadata-action's type=ref: the branch (not in a pull request), the git tag, or pr-N; sanitized. */
  ref: (event, options) => {
    const o = options as HelperOptions;
    const git = o.data.root.git as { branch: string; tag: string } | undefined;
    const ci = o.data.root.ci as { pr: string };
    const prefix = (fallback: string) => (o.hash.prefix === undefined ? fallback : str(o.hash.prefix));
    switch (event) {
      case "branch":
        if (ci.pr) return noValue(o, `a pull request build (#${ci.pr}) has no branch tag`);
        return git?.branch ? prefix("") + sanitize(git.branch) : noValue(o, "not a branch build");
      case "tag":
        return git?.tag ? prefix("") + sanitize(git.tag) : noValue(o, "HEAD is not tagged");
      default:
        return ci.pr ? prefix("pr-") + ci.pr : noValue(o, "not a pull request build");
    }
  },
  /** metadata-action's type=sha: sha-<short sha>, format="long" for all of it, prefix="" for none. */
  sha: (options) => {
    const o = options as HelperOptions;
    const git = o.data.root.git as { sha: string; shortSha: string };
    return (o.hash.prefix === undefined ? "sha-" : str(o.hash.prefix)) + (o.hash.format === "long" ? git.sha : git.shortSha);
  },
};
function part(value: unknown, options: HelperOptions, pick: (v: SemVer) => string): string {
  const v = parseSemver(str(value));
  if (!v) return noValue(options, `"${str(value)}" is not a semantic version`);
  return v.prerelease ? noValue(options, `${v.raw} is a prerelease: major, minor and patch tags move only on releases`) : pick(v);
}

/** A semver pattern holds only {{raw}}, {{version}}, {{major}}, {{minor}} and {{patch}}. */
function checkSemverPattern(source: string): string | undefined {
  const rest = source.replace(PATTERN_RE, "");
  if (rest.includes("{{") || rest.includes("}}") || source.search(PATTERN_RE) === -1)
    return `semver pattern "${source}": use {{version}}, {{raw}}, {{major}}, {{minor}} and {{patch}}, e.g. "{{major}}.{{minor}}"`;
  return undefined;
}

/** A map variable's value: only `lookup` reads it; written out whole it is an error, not "[object Object]". */
export class MapValue {
  constructor(
    readonly name: string,
    readonly entries: ReadonlyMap<string, string>,
  ) {}
  toString(): string {
    throw new Error(`variable ${this.name} is a map: read one value with {{lookup ${this.name} KEY}}`);
  }
}

/** `lookup MAP KEY [FALLBACK]`: the map variable's value for KEY (own keys only), or FALLBACK; else an error naming the keys. */
const lookup = (...args: unknown[]) => {
  const [map, key, fallback] = args.slice(0, -1);
  if (!(map instanceof MapValue)) throw new Error("lookup reads a map variable (one with map:)");
  const value = map.entries.get(str(key));
  if (value !== undefined) return value;
  if (args.length > 3) return str(fallback);
  throw new Error(
    `"${str(key)}" is not a key of ${map.name} (keys: ${[...map.entries.keys()].join(", ")}); add a fallback: {{lookup ${map.name} KEY "other"}}`,
  );
};

/**
 * `date FORMAT`: the commit's time (SOURCE_DATE_EPOCH when set), never the clock, in UTC; YYYY MM DD HH
 * mm ss are replaced. Renders the same on every machine that builds this commit.
 */
const date = (format: unknown, options: { data?: { epoch?: string } }) => {
  const epoch = options?.data?.epoch;
  if (epoch === undefined || !/^\d+$/.test(epoch)) throw new Error("date needs the commit's time: run in a git repository, or set SOURCE_DATE_EPOCH");
  const d = new Date(Number(epoch) * 1000);
  const two = (n: number) => String(n).padStart(2, "0");
  const parts: Record<string, string> = {
    YYYY: String(d.getUTCFullYear()),
    MM: two(d.getUTCMonth() + 1),
    DD: two(d.getUTCDate()),
    HH: two(d.getUTCHours()),
    mm: two(d.getUTCMinutes()),
    ss: two(d.getUTCSeconds()),
  };
  return str(typeof format === "string" ? format : "YYYYMMDD").replace(/YYYY|MM|DD|HH|mm|ss/g, (t) => parts[t]!);
};

let environment: typeof Handlebars | undefined;
/**
 * The isolated handlebars environment with the helpers above, made on first use: templates of the
 * usual shape are read and rendered without it (simpleTemplate), and loading the library's 30-odd
 * modules is a tenth of validate's start-up. require(): synchronous, and the bundle inlines it.
 */
export function handlebars(): typeof Handlebars {
  if (environment) return environment;
  const hb = (require("handlebars") as typeof Handlebars).create();
  for (const [n, fn] of Object.entries(HELPERS)) hb.registerHelper(n, (...args: unknown[]) => fn(...args.slice(0, -1)));
  for (const [n, fn] of Object.entries(releaseHelpers)) hb.registerHelper(n, fn as (...args: unknown[]) => string);
  hb.registerHelper("lookup", lookup);
  hb.registerHelper("date", date);
  environment = hb;
  return hb;
}

const BLOCK_HELPERS = new Set(["if", "unless"]);
export const HELPER_NAMES = [...Object.keys(HELPERS), ...Object.keys(releaseHelpers), "date", "lookup", ...BLOCK_HELPERS];
/** Facts a helper reads besides its arguments: a template using it needs them (git outside a repository is an error). */
const HELPER_FACTS: Record<string, string[]> = { ref: ["git", "ci"], sha: ["git"] };
/** Helpers that take no argument: {{sha}} is the helper, never a variable. */
const NULLARY = new Set(["sha"]);
/** Literal arguments checked when the template is: ref's event, sha's options. */
const REF_EVENTS = ["branch", "tag", "pr"];
const KNOWN_HELPERS: Record<string, boolean> = { each: false, with: false, log: false, helperMissing: false, blockHelperMissing: false };
for (const n of HELPER_NAMES) KNOWN_HELPERS[n] = true;

/** Built-in names a template may use, besides the spec's variables. */
export const BUILTINS: Record<string, readonly string[]> = {
  git: ["sha", "shortSha", "branch", "tag"],
  image: ["name", "repository"],
  /** From the common CI variables: the pull/merge request number (empty outside one) and the ref. */
  ci: ["pr", "ref"],
};

/** What to write instead of an invalid tag: the tag checker's words suit a value a template made (sanitize it). */
export function tagHint(source: string, hint: string | undefined): string | undefined {
  const shell = /\$\{?([A-Za-z_][A-Za-z0-9_]*)/.exec(source);
  if (shell) return `variables are read as {{name}}: declare one under variables: (e.g. version: { env: ${shell[1]} }) and write {{version}}`;
  if (!source.includes("{{") && hint?.includes("sanitize")) return hint.replace(/; the sanitize helper.*$/, ": write the tag without them");
  return hint;
}

export type TemplateProblem = { code: "template-syntax" | "template-unknown-variable" | "template-unknown-helper"; message: string; hint?: string };

export interface CheckedTemplate {
  source: string;
  /** Roots the template reads, e.g. "version", "git". */
  uses: Set<string>;
  /**
   * `epoch`: the commit's time in seconds (SOURCE_DATE_EPOCH), for the date helper. `why` (tags): when
   * a printed helper has no value in this run, the reason is added and the template renders "".
   */
  render(context: Record<string, unknown>, epoch?: string, why?: string[]): string;
}

type TemplateCheck = { ok: true; template: CheckedTemplate } | { ok: false; problem: TemplateProblem };

// Monorepo specs repeat the same few templates ("{{version}}") hundreds of times: parse and compile
// each distinct one once. Text without "{{" is not a template at all.
const cache = new WeakMap<ReadonlySet<string>, Map<string, TemplateCheck>>();

/** Parses and checks a template against the known names. */
export function checkTemplate(source: string, variables: ReadonlySet<string>): TemplateCheck {
  if (!source.includes("{{")) return { ok: true, template: { source, uses: new Set(), render: () => source } };
  let byVariables = cache.get(variables);
  if (!byVariables) {
    byVariables = new Map();
    cache.set(variables, byVariables);
  }
  let checked = byVariables.get(source);
  if (!checked) {
    checked = checkUncached(source, variables);
    byVariables.set(source, checked);
  }
  return checked;
}

/**
 * Most templates are text and {{name}} or {{name.field}}: those are read and rendered here, the way
 * handlebars does, without its parser and compiler (which cost more than the rest of a 250-image plan).
 * Anything else (helpers, blocks, literals, whitespace control, escapes, another identifier grammar)
 * returns undefined and goes to handlebars. template.test.ts checks both agree on generated templates.
 */
export function simpleTemplate(source: string): SimplePart[] | undefined {
  const parts: SimplePart[] = [];
  let at = 0;
  for (const m of source.matchAll(/\{\{([A-Za-z_][A-Za-z0-9_]*)(?:\.([A-Za-z_][A-Za-z0-9_]*))?\}\}/g)) {
    if (!plainText(source.slice(at, m.index))) return undefined;
    const [, root, field] = m as unknown as [string, string, string | undefined];
    // {{lower}} calls the helper, {{true}} is a literal, {{this}} and {{else}} are keywords
    // KNOWN_HELPERS names handlebars' own helpers too (template.test.ts checks)
    if (NOT_NAMES.has(root) || (field === undefined && Object.hasOwn(KNOWN_HELPERS, root))) return undefined;
    if (at < m.index) parts.push(source.slice(at, m.index));
    parts.push(field === undefined ? [root] : [root, field]);
    at = m.index + m[0].length;
  }
  if (!plainText(source.slice(at))) return undefined;
  if (at < source.length) parts.push(source.slice(at));
  return parts;
}

/** Text, or a path read from the context. */
export type SimplePart = string | [string] | [string, string];
const NOT_NAMES = new Set(["true", "false", "null", "undefined", "this", "else"]);
const plainText = (text: string): boolean => !/[{}\\\u0000]/.test(text);

/** A simple template's output, or undefined where only handlebars knows (a value that is not a string, a missing one). */
export function renderSimple(parts: readonly SimplePart[], context: Record<string, unknown>): string | undefined {
  let out = "";
  for (const part of parts) {
    if (typeof part === "string") {
      out += part;
      continue;
    }
    let value: unknown = Object.hasOwn(context, part[0]) ? context[part[0]] : undefined;
    if (part.length === 2) {
      const parent = value as Record<string, unknown> | undefined;
      value = typeof parent === "object" && parent !== null && !(parent instanceof MapValue) && Object.hasOwn(parent, part[1]) ? parent[part[1]] : undefined;
    }
    if (typeof value !== "string") return undefined;
    out += value;
  }
  return out;
}

/** The AST handlebars would give a simple template: what the checks below walk. */
const simpleProgram = (parts: readonly SimplePart[]): hbs.AST.Program =>
  ({
    type: "Program",
    body: parts.map((p) =>
      typeof p === "string"
        ? { type: "ContentStatement", value: p, original: p }
        : { type: "MustacheStatement", path: { type: "PathExpression", data: false, depth: 0, parts: [...p], original: p.join(".") }, params: [] },
    ),
  }) as unknown as hbs.AST.Program;

function checkUncached(source: string, variables: ReadonlySet<string>): TemplateCheck {
  const simple = simpleTemplate(source);
  let ast: hbs.AST.Program;
  try {
    ast = simple ? simpleProgram(simple) : handlebars().parse(source);
  } catch (e) {
    // handlebars reports "Parse error on line 1:\n<source>\n----^\nExpecting ..., got 'X'"
    const lines = (e instanceof Error ? e.message : String(e)).split("\n");
    const caret = lines.find((l) => /^-*\^$/.test(l));
    const got = /got '([^']+)'/.exec(lines[lines.length - 1] ?? "")?.[1];
    const where = caret ? ` at character ${caret.length}` : "";
    const what = got ? `: unexpected ${got === "INVALID" ? "character" : got === "EOF" ? "end" : got}` : `: ${lines[0]}`;
    return { ok: false, problem: { code: "template-syntax", message: `template "${source}": syntax error${where}${what}`, hint: syntaxHint(source) } };
  }
  const uses = new Set<string>();
  const problems: TemplateProblem[] = [];
  const checkPath = (p: hbs.AST.PathExpression) => {
    if (p.data || p.depth > 0 || p.original.startsWith("this") || p.parts.length === 0) {
      problems.push({
        code: "template-unknown-variable",
        message: `template "${source}": "${p.original}" is not allowed`,
        hint: "use a variable name, git.* or image.*",
      });
      return;
    }
    const [root, field, ...more] = p.parts as [string, string | undefined, ...string[]];
    const builtin = Object.hasOwn(BUILTINS, root) ? BUILTINS[root] : undefined;
    if (builtin) {
      if (field === undefined || !builtin.includes(field) || more.length > 0) {
        const all = `use ${builtin.map((f) => `${root}.${f}`).join(", ")}`;
        const hint = field
          ? (didYouMean(
              `${root}.${field}`,
              builtin.map((f) => `${root}.${f}`),
            ) ?? all)
          : all;
        problems.push({ code: "template-unknown-variable", message: `template "${source}": unknown variable "${p.original}"`, hint });
      }
    } else if (!variables.has(root) || field !== undefined) {
      const alone = field === undefined ? helperAlone(root) : undefined;
      // {{version.major}}: a variable is text; its parts are helpers
      const part = variables.has(root) && field !== undefined && (Object.hasOwn(releaseHelpers, field) || Object.hasOwn(HELPERS, field));
      if (part) {
        problems.push({ code: "template-unknown-variable", message: `template "${source}": a variable has no fields: write {{${field} ${root}}}` });
        uses.add(root);
        return;
      }
      if (alone) {
        problems.push({ code: "template-syntax", message: `template "${source}": ${alone}` });
        uses.add(root);
        return;
      }
      const hint =
        root === "platform"
          ? "platform values differ per platform: use the TARGETPLATFORM / TARGETARCH build args inside the Dockerfile"
          : root === "matrix"
            ? "a matrix value is filled in as {{matrix.KEY}} on its own, before templates run: list the values in the form the tag needs"
            : didYouMean(p.original, [...variables, ...Object.entries(BUILTINS).flatMap(([r, fs]) => fs.map((f) => `${r}.${f}`))]);
      problems.push({
        code: "template-unknown-variable",
        message: `template "${source}": unknown variable "${p.original}"`,
        hint: hint ?? "declare it under variables:",
      });
    }
    uses.add(root);
  };
  const checkHelper = (p: hbs.AST.Expression, block: boolean) => {
    const helperName = p.type === "PathExpression" ? (p as hbs.AST.PathExpression).original : "";
    const known = block
      ? BLOCK_HELPERS.has(helperName)
      : Object.hasOwn(HELPERS, helperName) || Object.hasOwn(releaseHelpers, helperName) || helperName === "date" || helperName === "lookup";
    if (!known) {
      problems.push({
        code: "template-unknown-helper",
        message: `template "${source}": unknown helper "${helperName}"`,
        // a tag per item of a list is the tag entry { each: LIST }, not a loop in one tag
        hint:
          helperName === "each"
            ? "one tag per item of a list variable is written tags: [{ each: NAME }]"
            : (didYouMean(helperName, HELPER_NAMES) ?? `helpers: ${HELPER_NAMES.join(", ")}`),
      });
    }
  };
  // where each subexpression starts: a helper there is a value to test, not a printed tag part
  const inner = new Set<string>();
  const visitExpr = (e: hbs.AST.Expression | undefined) => {
    if (!e) return;
    if (e.type === "PathExpression") checkPath(e as hbs.AST.PathExpression);
    else if (e.type === "SubExpression") {
      inner.add(locKey(e.loc.start));
      visitCall(e as hbs.AST.SubExpression, false);
    }
  };
  const visitCall = (n: { path: hbs.AST.Expression; params: hbs.AST.Expression[]; hash?: hbs.AST.Hash }, block: boolean) => {
    const name = n.path.type === "PathExpression" ? (n.path as hbs.AST.PathExpression).original : "";
    if (block || n.params.length > 0 || (n.hash?.pairs.length ?? 0) > 0 || NULLARY.has(name)) {
      checkHelper(n.path, block);
      for (const f of HELPER_FACTS[name] ?? []) uses.add(f);
      const problem = literalProblem(name, n.params, n.hash);
      if (problem) problems.push({ code: "template-syntax", message: `template "${source}": ${problem}` });
    } else visitExpr(n.path);
    for (const p of n.params) visitExpr(p);
    for (const pair of n.hash?.pairs ?? []) visitExpr(pair.value);
  };
  const visitProgram = (prog: hbs.AST.Program | undefined) => {
    for (const s of prog?.body ?? []) {
      if (s.type === "MustacheStatement") visitCall(s as hbs.AST.MustacheStatement, false);
      else if (s.type === "BlockStatement") {
        const b = s as hbs.AST.BlockStatement;
        visitCall(b, true);
        visitProgram(b.program);
        visitProgram(b.inverse);
      } else if (s.type !== "ContentStatement" && s.type !== "CommentStatement") {
        problems.push({ code: "template-syntax", message: `template "${source}": partials and decorators are not supported` });
      }
    }
  };
  visitProgram(ast);
  if (problems.length > 0) return { ok: false, problem: problems[0]! };

  let compiled: ((ctx: unknown, options: { data: Omit<HelperOptions["data"], "root"> }) => string) | undefined;
  const template: CheckedTemplate = {
    source,
    uses,
    render(context, epoch, why) {
      const fast = simple && renderSimple(simple, context);
      if (typeof fast === "string") return fast;
      compiled ??= handlebars().compile(source, { strict: true, noEscape: true, knownHelpersOnly: true, knownHelpers: KNOWN_HELPERS });
      const drops: { at: string; reason: string }[] = [];
      const out = compiled(context, { data: { epoch, drops } });
      const printed = drops.find((d) => !inner.has(d.at));
      if (printed && why) {
        why.push(printed.reason);
        return "";
      }
      return out;
    },
  };
  return { ok: true, template };
}

/** What a template that does not parse was probably written as. */
function syntaxHint(source: string): string {
  if (/{{[^}]*\|[^}]*}}/.test(source)) return "a helper comes before its value: {{lower version}}, not {{version | lower}}";
  if (/{{-?\s*\./.test(source)) return "this is Go's template syntax: write {{version}} (a variable of the spec), not {{ .Version }}";
  const open = (source.match(/{{#(if|unless)\b/g) ?? []).length;
  if (open > (source.match(/{{\/(if|unless)\s*}}/g) ?? []).length) return "close each {{#if …}} with {{/if}} (and {{#unless …}} with {{/unless}})";
  return "every {{ needs a matching }}";
}

/** How many values each helper takes, and how it is written (a wrong count rendered empty, or a wrong tag). */
const ARITY: Record<string, [min: number, max: number, example: string]> = {
  lower: [1, 1, "{{lower git.branch}}"],
  upper: [1, 1, "{{upper git.branch}}"],
  sanitize: [1, 1, "{{sanitize git.branch}}"],
  isPrerelease: [1, 1, "{{#if (isPrerelease version)}}…{{/if}}"],
  replace: [3, 3, '{{replace git.branch "/" "-"}}'],
  truncate: [2, 2, "{{truncate git.sha 7}}"],
  default: [2, 2, '{{default version "dev"}}'],
  date: [1, 1, '{{date "YYYYMMDD"}}'],
  lookup: [2, 3, "{{lookup NAME KEY}} or {{lookup NAME KEY FALLBACK}}"],
};

/** A helper named alone ({{date}}) reads as a variable: said as the helper it is. */
const helperAlone = (name: string): string | undefined => {
  const example = Object.hasOwn(ARITY, name)
    ? ARITY[name]![2]
    : name === "ref"
      ? '{{ref "branch"}}'
      : Object.hasOwn(releaseHelpers, name) && !NULLARY.has(name)
        ? `{{${name} version}}`
        : undefined;
  return example ? `${name} is a helper, not a variable: write ${example}` : undefined;
};

/** What is wrong with a helper's literal arguments, checked before any value is known. */
function literalProblem(name: string, params: hbs.AST.Expression[], hash: hbs.AST.Hash | undefined): string | undefined {
  const literal = (e: hbs.AST.Expression | undefined) => (e?.type === "StringLiteral" ? (e as hbs.AST.StringLiteral).value : undefined);
  const arity = Object.hasOwn(ARITY, name) ? ARITY[name] : undefined;
  if (arity && (params.length < arity[0] || params.length > arity[1]))
    return `${name} takes ${arity[0] === arity[1] ? arity[0] : `${arity[0]} or ${arity[1]}`} value${arity[1] === 1 ? "" : "s"}, e.g. ${arity[2]}`;
  // a length: a whole number, not negative (JavaScript's slice would count from the end)
  const length =
    params[1]?.type === "StringLiteral"
      ? literal(params[1])
      : params[1]?.type === "NumberLiteral"
        ? String((params[1] as hbs.AST.NumberLiteral).value)
        : undefined;
  if (name === "truncate" && length !== undefined && !/^\d+$/.test(length)) return `truncate takes a length (a whole number), e.g. ${arity![2]}`;
  const keys = (hash?.pairs ?? []).map((p) => p.key);
  const allowed: Record<string, string[]> = { ref: ["prefix"], sha: ["prefix", "format"] };
  const extra = keys.find((k) => !(allowed[name] ?? []).includes(k));
  if (extra) return `${name} takes no ${extra}=${allowed[name] ? ` (only ${allowed[name]!.join(", ")})` : ""}`;
  if (["major", "minor", "patch", "majorMinor"].includes(name) && params.length !== 1) return `${name} takes one version, e.g. {{${name} version}}`;
  if (name === "ref") {
    const event = literal(params[0]);
    if (params.length !== 1 || event === undefined || !REF_EVENTS.includes(event)) return `ref takes one of "branch", "tag" or "pr", e.g. {{ref "branch"}}`;
  }
  if (name === "sha") {
    const format = hash?.pairs.find((p) => p.key === "format");
    if (params.length > 0 || (format && !["short", "long"].includes(literal(format.value) ?? ""))) return `sha takes only format="short"|"long" and prefix="…"`;
  }
  if (name === "semver" && params.length > 1) {
    const pattern = literal(params[1]);
    if (params.length > 2) return "semver takes a version and, optionally, a pattern";
    if (pattern !== undefined) return checkSemverPattern(pattern);
  }
  return undefined;
}
