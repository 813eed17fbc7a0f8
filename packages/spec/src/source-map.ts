// The only module that touches yaml nodes: parse with positions, turn YAML errors into diagnostics,
// and answer "where is the value at this path" in O(1) after one walk of the tree.
import type * as Yaml from "yaml";
import { type Diagnostic, diag, type SourcePos } from "./diagnostics.ts";
import { FORBIDDEN_KEYS, fastParse } from "./fast-yaml.ts";

export type Path = readonly (string | number)[];

export interface SourceMap {
  file: string;
  /** Position of the value at path; falls back to the nearest ancestor that exists. */
  valueAt(path: Path): SourcePos;
  /** Position of the key at path (for unknown/forbidden keys); falls back to valueAt. */
  keyAt(path: Path): SourcePos;
}

export type ParsedYaml = { ok: true; data: unknown; map: SourceMap } | { ok: false; errors: Diagnostic[] };

/** The parse result before positions become lines: data, and offsets of keys and values by path. */
export type YamlTables = { ok: true; data: unknown; keys: Map<string, number>; values: Map<string, number> } | { ok: false; errors: Diagnostic[] };

export const MAX_SPEC_BYTES = 4 * 1024 * 1024;

const YAML_CODES: Record<string, Diagnostic["code"]> = {
  MULTIPLE_DOCS: "yaml-multiple-documents",
  DUPLICATE_KEY: "yaml-duplicate-key",
  RESOURCE_EXHAUSTION: "yaml-too-deep",
};

/** A spec over the size limit: its own code, and no frame (nothing in it is at fault but its size). */
export const tooLarge = (file: string, bytes: number): Diagnostic =>
  diag(
    "spec-too-large",
    { file, line: 0, col: 0 },
    `the spec is ${(bytes / 1024 / 1024).toFixed(1)} MiB; a spec may be at most ${MAX_SPEC_BYTES / 1024 / 1024} MiB (a large one is usually generated, or not a spec)`,
    { hint: "check that -f names the spec; split a generated one into several specs" },
  );

/** 1-based line and column of an offset; a byte order mark takes no column (editors do not show it). */
function positions(text: string, file: string): (offset: number) => SourcePos {
  const starts = [text.charCodeAt(0) === 0xfeff ? 1 : 0];
  for (let i = text.indexOf("\n"); i !== -1; i = text.indexOf("\n", i + 1)) starts.push(i + 1);
  return (offset) => {
    let lo = 0;
    let hi = starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (starts[mid]! <= offset) lo = mid;
      else hi = mid - 1;
    }
    return { file, line: lo + 1, col: Math.max(1, offset - starts[lo]! + 1) };
  };
}

/**
 * No document: nothing but YAML's white space (space and tab; \r and \n break lines), comments and a
 * leading BOM. JavaScript's white space is wider (a no-break space is text to YAML).
 */
const emptyYaml = (text: string): boolean =>
  text
    .replace(/^\ufeff/, "")
    .split(/\r\n?|\n/)
    .every((l) => /^[ \t]*(?:#[\s\S]*)?$/.test(l));

export function parseYaml(text: string, file: string, opts: { fast?: boolean } = {}): ParsedYaml {
  const pos = positions(text, file);
  if (text.length > MAX_SPEC_BYTES) return { ok: false, errors: [tooLarge(file, text.length)] };
  if (emptyYaml(text)) {
    return { ok: false, errors: [diag("spec-empty", pos(0), "spec is empty", { hint: "start with: version: 1" })] };
  }
  const fast = opts.fast === false ? undefined : fastParse(text);
  const t: YamlTables = fast ? { ok: true, ...fast } : yamlTables(text, pos);
  if (!t.ok) return t;
  const lookup = (table: Map<string, number>, path: Path): SourcePos => {
    for (let n = path.length; n >= 0; n--) {
      const key = n === 0 ? "" : `/${path.slice(0, n).join("/")}`;
      const offset = table.get(key) ?? t.values.get(key);
      if (offset !== undefined) return pos(offset);
    }
    return pos(0);
  };
  return { ok: true, data: t.data, map: { file, valueAt: (p) => lookup(t.values, p), keyAt: (p) => lookup(t.keys, p) } };
}

/**
 * The `yaml` library's reading of the text: the reference, and the source of every YAML error. Loaded
 * here, on first use: fastParse reads the usual spec, and the library's 70-odd modules cost a tenth of
 * validate's start-up. require(): synchronous, and the bundle inlines it.
 */
export function yamlTables(text: string, pos: (offset: number) => SourcePos): YamlTables {
  const { isAlias, isMap, isScalar, isSeq, parseDocument, visit } = require("yaml") as typeof Yaml;
  let doc: Yaml.Document.Parsed;
  try {
    doc = parseDocument(text, { uniqueKeys: true, prettyErrors: false, merge: false, strict: true, logLevel: "error" });
  } catch (e) {
    return { ok: false, errors: [unexpected(e, pos(0))] };
  }
  /** The duplicate key starting at offset, and where the mapping first has it; the library says neither. */
  const duplicateAt = (offset: number): { key: string; first: number } | undefined => {
    let found: { key: string; first: number } | undefined;
    visit(doc, {
      Map(_, map) {
        const seen = new Map<unknown, number>();
        for (const pair of map.items) {
          const k = pair.key as Yaml.Node | null;
          if (!isScalar(k) || !k.range) continue;
          if (k.range[0] === offset && seen.has(k.value)) {
            found = { key: String(k.value), first: seen.get(k.value)! };
            return visit.BREAK;
          }
          if (!seen.has(k.value)) seen.set(k.value, k.range[0]);
        }
        return undefined;
      },
    });
    return found;
  };
  if (doc.errors.length > 0) {
    // each problem once: the library says one unclosed [ again for every level it opened
    const once = (ds: Diagnostic[]) => [...new Map(ds.map((d) => [`${d.code} ${d.line}:${d.col} ${d.message}`, d])).values()];
    return {
      ok: false,
      errors: once(
        doc.errors.map((e) => {
          const code = YAML_CODES[e.code] ?? "yaml-syntax";
          // the library's own words for running out of stack ("Maximum call stack size exceeded") say nothing to a user
          if (code === "yaml-too-deep") return tooDeep(pos(e.pos[0]));
          // the library's words, but for what it says to programmers ("please use YAML.parseAllDocuments()")
          const duplicate = code === "yaml-duplicate-key" ? duplicateAt(e.pos[0]) : undefined;
          const message =
            code === "yaml-multiple-documents"
              ? "the file holds more than one YAML document"
              : duplicate
                ? `duplicate key "${duplicate.key}" (first at line ${pos(duplicate.first).line})`
                : e.message.split("\n")[0]!.replace(/ at line \d+, column \d+:?$/, "");
          const hint =
            e.code === "TAB_AS_INDENT"
              ? "indent with spaces, not tabs"
              : code === "yaml-multiple-documents"
                ? "keep one document per file (remove ---)"
                : code === "yaml-duplicate-key"
                  ? "a key appears once in a mapping: remove one, or merge their values"
                  : /\r(?!\n)/.test(text)
                    ? "the file's lines end in a carriage return alone (old Mac OS): save it with LF line ends"
                    : undefined;
          return diag(code, pos(e.pos[0]), message, { hint });
        }),
      ),
    };
  }
  if (!isMap(doc.contents)) {
    const where = doc.contents ? pos(doc.contents.range[0]) : pos(0);
    return { ok: false, errors: [diag("invalid-type", where, "a spec is a mapping of keys (version, images, ...)", { hint: "start with: version: 1" })] };
  }

  const keys = new Map<string, number>();
  const values = new Map<string, number>([["", doc.contents.range[0]]]);
  const problems: Diagnostic[] = [];
  let firstAlias: number | undefined;
  // Iterative walk: a 5,000-deep document must not overflow the stack here either.
  const stack: { node: Yaml.Node | null; path: string }[] = [{ node: doc.contents, path: "" }];
  while (stack.length > 0) {
    const { node, path } = stack.pop()!;
    if (!node) continue;
    if (isAlias(node) && node.range) firstAlias ??= node.range[0];
    if (isMap(node)) {
      for (const pair of node.items) {
        const k = pair.key as Yaml.Node | null;
        const keyText = isScalar(k) ? String(k.value) : undefined;
        const child = keyText === undefined ? `${path}/?` : `${path}/${keyText}`;
        if (k?.range) keys.set(child, k.range[0]);
        const v = pair.value as Yaml.Node | null;
        if (v?.range) values.set(child, v.range[0]);
        if (keyText !== undefined && FORBIDDEN_KEYS.has(keyText) && k?.range) {
          problems.push(
            diag("forbidden-key", pos(k.range[0]), `"${keyText}" is not allowed as a key`, { hint: "it could change objects' prototypes; rename it" }),
          );
        }
        stack.push({ node: v, path: child });
      }
    } else if (isSeq(node)) {
      node.items.forEach((item, i) => {
        const child = `${path}/${i}`;
        const n = item as Yaml.Node | null;
        if (n?.range) values.set(child, n.range[0]);
        stack.push({ node: n, path: child });
      });
    }
  }
  if (problems.length > 0) return { ok: false, errors: problems };

  try {
    return { ok: true, data: doc.toJS({ maxAliasCount: 50 }), keys, values };
  } catch (e) {
    const where = firstAlias !== undefined ? pos(firstAlias) : pos(0);
    if (e instanceof ReferenceError && /alias/i.test(e.message)) {
      return {
        ok: false,
        errors: [
          diag("yaml-alias-limit", where, "too many alias expansions (a YAML alias bomb?)", { hint: "write the values out instead of using * aliases" }),
        ],
      };
    }
    return { ok: false, errors: [unexpected(e, where)] };
  }
}

const tooDeep = (where: SourcePos): Diagnostic =>
  diag("yaml-too-deep", where, "the YAML here is nested hundreds of levels deep, too deep to read; a spec needs a handful", {
    hint: "look for a [ or { that is never closed, or indentation that keeps growing, from this line up",
  });

function unexpected(e: unknown, where: SourcePos): Diagnostic {
  if (e instanceof RangeError) return tooDeep(where);
  return diag("yaml-syntax", where, e instanceof Error ? e.message : String(e));
}
