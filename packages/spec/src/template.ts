// Tag, arg, label and annotation values are handlebars templates. One isolated, strict environment:
// no HTML escaping, a fixed set of helpers, no prototype access, and every template checked statically
// at validation time (syntax, helpers, variable names) so rendering can only fail on missing values.
import Handlebars from "handlebars";
import { didYouMean } from "./suggest.ts";

const hb = Handlebars.create();

const str = (v: unknown): string => (v === undefined || v === null ? "" : String(v));
const SEMVER_RE = /^v?(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-([0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?(?:\+([0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?$/;
/** "/re/flags" is a regular expression; anything else is matched literally. */
const pattern = (from: string): RegExp | string => {
  const m = /^\/(.+)\/([gimsuy]*)$/.exec(from);
  return m ? new RegExp(m[1]!, m[2]!.includes("g") ? m[2] : `${m[2]}g`) : from;
};
const HELPERS: Record<string, (...args: unknown[]) => string | boolean> = {
  lower: (s) => str(s).toLowerCase(),
  upper: (s) => str(s).toUpperCase(),
  /** Literal text, or a regular expression written /re/flags ($1 in the replacement). */
  replace: (s, from, to) => {
    const p = pattern(str(from));
    return typeof p === "string" ? str(s).split(p).join(str(to)) : str(s).replace(p, str(to));
  },
  truncate: (s, n) => str(s).slice(0, Number(n)),
  /** Makes any text tag-safe: feature/x -> feature-x. */
  sanitize: (s) =>
    str(s)
      .replace(/[^A-Za-z0-9_.-]+/g, "-")
      .replace(/^[.-]+/, ""),
  default: (s, fallback) => (str(s) === "" ? str(fallback) : str(s)),
  // Semantic versions as docker/metadata-action tags them: a value that is not one renders empty, so its
  // tag is dropped for that run (a branch build has no "1.2"); `semver` insists.
  major: (s) => SEMVER_RE.exec(str(s))?.[1] ?? "",
  majorMinor: (s) => {
    const m = SEMVER_RE.exec(str(s));
    return m ? `${m[1]}.${m[2]}` : "";
  },
  isPrerelease: (s) => Boolean(SEMVER_RE.exec(str(s))?.[4]),
  semver: (s) => {
    const m = SEMVER_RE.exec(str(s));
    if (!m) throw new Error(`"${str(s)}" is not a semantic version (MAJOR.MINOR.PATCH[-PRERELEASE])`);
    return str(s).replace(/^v/, "");
  },
};
for (const [n, fn] of Object.entries(HELPERS)) hb.registerHelper(n, (...args: unknown[]) => fn(...args.slice(0, -1)));

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
hb.registerHelper("lookup", (...args: unknown[]) => {
  const [map, key, fallback] = args.slice(0, -1);
  if (!(map instanceof MapValue)) throw new Error("lookup reads a map variable (one with map:)");
  const value = map.entries.get(str(key));
  if (value !== undefined) return value;
  if (args.length > 3) return str(fallback);
  throw new Error(
    `"${str(key)}" is not a key of ${map.name} (keys: ${[...map.entries.keys()].join(", ")}); add a fallback: {{lookup ${map.name} KEY "other"}}`,
  );
});

/**
 * `date FORMAT`: the commit's time (SOURCE_DATE_EPOCH when set), never the clock, in UTC; YYYY MM DD HH
 * mm ss are replaced. Renders the same on every machine that builds this commit.
 */
hb.registerHelper("date", (format: unknown, options: { data?: { epoch?: string } }) => {
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
});

const BLOCK_HELPERS = new Set(["if", "unless"]);
export const HELPER_NAMES = [...Object.keys(HELPERS), "date", "lookup", ...BLOCK_HELPERS];
const KNOWN_HELPERS: Record<string, boolean> = { each: false, with: false, log: false, helperMissing: false, blockHelperMissing: false };
for (const n of HELPER_NAMES) KNOWN_HELPERS[n] = true;

/** Built-in names a template may use, besides the spec's variables. */
export const BUILTINS: Record<string, readonly string[]> = {
  git: ["sha", "shortSha", "branch", "tag"],
  image: ["name", "repository"],
  /** From the common CI variables: the pull/merge request number (empty outside one) and the ref. */
  ci: ["pr", "ref"],
};

export type TemplateProblem = { code: "template-syntax" | "template-unknown-variable" | "template-unknown-helper"; message: string; hint?: string };

export interface CheckedTemplate {
  source: string;
  /** Roots the template reads, e.g. "version", "git". */
  uses: Set<string>;
  /** `epoch`: the commit's time in seconds (SOURCE_DATE_EPOCH), for the date helper. */
  render(context: Record<string, unknown>, epoch?: string): string;
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
    if (NOT_NAMES.has(root) || (field === undefined && (Object.hasOwn(hb.helpers, root) || Object.hasOwn(KNOWN_HELPERS, root)))) return undefined;
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
    ast = simple ? simpleProgram(simple) : hb.parse(source);
  } catch (e) {
    // handlebars reports "Parse error on line 1:\n<source>\n----^\nExpecting ..., got 'X'"
    const lines = (e instanceof Error ? e.message : String(e)).split("\n");
    const caret = lines.find((l) => /^-*\^$/.test(l));
    const got = /got '([^']+)'/.exec(lines[lines.length - 1] ?? "")?.[1];
    const where = caret ? ` at character ${caret.length}` : "";
    const what = got ? `: unexpected ${got === "INVALID" ? "character" : got === "EOF" ? "end" : got}` : `: ${lines[0]}`;
    return {
      ok: false,
      problem: { code: "template-syntax", message: `template "${source}": syntax error${where}${what}`, hint: "every {{ needs a matching }}" },
    };
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
        const hint = field
          ? didYouMean(
              `${root}.${field}`,
              builtin.map((f) => `${root}.${f}`),
            )
          : `use ${builtin.map((f) => `${root}.${f}`).join(", ")}`;
        problems.push({ code: "template-unknown-variable", message: `template "${source}": unknown variable "${p.original}"`, hint });
      }
    } else if (!variables.has(root) || field !== undefined) {
      const hint =
        root === "platform"
          ? "platform values differ per platform: use the TARGETPLATFORM / TARGETARCH build args inside the Dockerfile"
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
    const known = block ? BLOCK_HELPERS.has(helperName) : Object.hasOwn(HELPERS, helperName) || helperName === "date" || helperName === "lookup";
    if (!known) {
      problems.push({
        code: "template-unknown-helper",
        message: `template "${source}": unknown helper "${helperName}"`,
        hint: didYouMean(helperName, HELPER_NAMES) ?? `helpers: ${HELPER_NAMES.join(", ")}`,
      });
    }
  };
  const visitExpr = (e: hbs.AST.Expression | undefined) => {
    if (!e) return;
    if (e.type === "PathExpression") checkPath(e as hbs.AST.PathExpression);
    else if (e.type === "SubExpression") visitCall(e as hbs.AST.SubExpression, false);
  };
  const visitCall = (n: { path: hbs.AST.Expression; params: hbs.AST.Expression[]; hash?: hbs.AST.Hash }, block: boolean) => {
    if (block || n.params.length > 0 || (n.hash?.pairs.length ?? 0) > 0) {
      checkHelper(n.path, block);
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

  let compiled: ((ctx: unknown, options: { data: { epoch?: string } }) => string) | undefined;
  const template: CheckedTemplate = {
    source,
    uses,
    render(context, epoch) {
      const fast = simple && renderSimple(simple, context);
      if (typeof fast === "string") return fast;
      compiled ??= hb.compile(source, { strict: true, noEscape: true, knownHelpersOnly: true, knownHelpers: KNOWN_HELPERS });
      return compiled(context, { data: { epoch } });
    },
  };
  return { ok: true, template };
}
