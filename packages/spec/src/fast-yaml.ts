// A fast path for the plain YAML that specs are written in: a block mapping at the root, block
// sequences, one-line flow collections, quoted and plain scalars, comments after a space. It produces
// exactly what source-map.ts builds from the `yaml` library (data plus key/value offsets) and gives up
// (returns undefined) on anything else: tabs anywhere, a BOM, CR line ends, a root that is not a
// mapping, anchors, aliases, tags, block scalars, multi-line scalars, escapes, long numbers, deep
// nesting, duplicate or odd keys. The library then parses the text and reports any error, so errors
// always come from one parser. source-map.test.ts holds a generated differential test against it.
// Why: the library is ~1 MB/s on a cold start; a 1,000-image spec must plan in well under a second.
// source-map.test.ts checks that both paths agree on every fixture, example and generated spec.

export interface FastParse {
  data: unknown;
  keys: Map<string, number>;
  values: Map<string, number>;
}

/** Keys that could reach objects' prototypes: refused by both readers. */
export const FORBIDDEN_KEYS: ReadonlySet<string> = new Set(["__proto__", "constructor", "prototype"]);

class Bail extends Error {}
const bail = (): never => {
  throw new Bail();
};

interface Line {
  indent: number;
  /** Offset of the first non-space character, and of the line's end (before "\n"). */
  start: number;
  end: number;
}

const KEY_AT = /[A-Za-z0-9_$][A-Za-z0-9_.$/-]*/y;

/** The plain key starting exactly at offset, if any. */
function keyAt(text: string, offset: number, end: number): string | undefined {
  KEY_AT.lastIndex = offset;
  const m = KEY_AT.exec(text);
  return m && offset + m[0].length <= end ? m[0] : undefined;
}
const MAX_BLOCK_DEPTH = 64;
/** Where a plain scalar in a flow collection ends: scanned by one regex, not a loop over its characters. */
const FLOW_PLAIN = /[^,[\]{}#\n]*/y;

export function fastParse(text: string): FastParse | undefined {
  try {
    return new FastParser(text).parse();
  } catch (e) {
    if (e instanceof Bail) return undefined;
    throw e;
  }
}

class FastParser {
  private readonly lines: Line[] = [];
  private i = 0;
  readonly keys = new Map<string, number>();
  readonly values = new Map<string, number>();

  constructor(private readonly text: string) {
    // Tabs are separators in some places and content in others, a lone \r breaks lines: never guess. Nor
    // with other white space JavaScript trims and YAML keeps as text (a no-break space, \f, U+2028, a BOM):
    // past this, space is the only white space in a line.
    if (/[^\S \n]/.test(text)) bail();
    let offset = 0;
    for (const line of text.split("\n")) {
      // an implicit key ends within 1024 characters of its start, or YAML refuses it
      if (line.length > 1024) bail();
      let indent = 0;
      while (line.charCodeAt(indent) === 32) indent++;
      const rest = line.slice(indent);
      if (rest !== "" && !rest.startsWith("#")) {
        if (rest.startsWith("---") || rest.startsWith("...") || rest.startsWith("%")) bail();
        this.lines.push({ indent, start: offset + indent, end: offset + line.length });
      }
      offset += line.length + 1;
    }
  }

  parse(): FastParse {
    const first = this.lines[0] ?? bail();
    if (first.indent !== 0 || this.isSeqItem(first)) bail(); // a spec is a mapping; the library says so
    const data = this.block(0, "", 0);
    if (this.i !== this.lines.length) bail();
    return { data, keys: this.keys, values: this.values };
  }

  private content(l: Line): string {
    return this.text.slice(l.start, l.end);
  }

  private isSeqItem(l: Line): boolean {
    const c = this.content(l);
    return c === "-" || c.startsWith("- ");
  }

  /** A block node whose first line is this.lines[this.i], at exactly `indent`. */
  private block(indent: number, path: string, depth: number): unknown {
    const l = this.lines[this.i]!;
    // Real specs nest a few levels; deep documents go to the library, which reports them without recursion.
    if (l.indent !== indent || depth > MAX_BLOCK_DEPTH) bail();
    this.values.set(path, l.start);
    return this.isSeqItem(l) ? this.sequence(indent, path, depth) : this.mapping(indent, path, l.start, depth);
  }

  private mapping(indent: number, path: string, firstStart: number, depth: number): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    let start = firstStart;
    for (;;) {
      const l = this.lines[this.i]!;
      const key = keyAt(this.text, start, l.end) ?? bail();
      if (FORBIDDEN_KEYS.has(key) || Object.hasOwn(out, key) || typeof plainScalar(key) !== "string") bail();
      const colon = start + key.length;
      if (this.text[colon] !== ":" || !(colon + 1 === l.end || this.text[colon + 1] === " ")) bail();
      const child = `${path}/${key}`;
      this.keys.set(child, start);
      const valueStart = start + key.length + 1;
      const inline = this.skipSpaces(valueStart, l.end);
      this.i++;
      if (inline < l.end && this.text[inline] !== "#") {
        out[key] = this.inline(inline, l.end, child);
        const next = this.lines[this.i];
        if (next && next.indent > indent) bail(); // a multi-line plain scalar
      } else {
        const next = this.lines[this.i] ?? bail();
        if (next.indent > indent) out[key] = this.block(next.indent, child, depth + 1);
        else if (next.indent === indent && this.isSeqItem(next)) out[key] = this.block(indent, child, depth + 1);
        else bail(); // an empty value
      }
      const next = this.lines[this.i];
      if (!next || next.indent < indent) return out;
      if (next.indent > indent || this.isSeqItem(next)) bail();
      start = next.start;
    }
  }

  private sequence(indent: number, path: string, depth: number): unknown[] {
    const out: unknown[] = [];
    for (;;) {
      const l = this.lines[this.i]!;
      const itemStart = this.skipSpaces(l.start + 1, l.end);
      if (itemStart >= l.end || this.text[itemStart] === "#") bail(); // a nested block under "-"
      const child = `${path}/${out.length}`;
      const key = keyAt(this.text, itemStart, l.end);
      const colon = itemStart + (key?.length ?? 0);
      if (key !== undefined && this.text[colon] === ":" && (colon + 1 === l.end || this.text[colon + 1] === " ")) {
        // "- key: value": a mapping whose indentation is the column of its first key
        const column = itemStart - (l.start - l.indent);
        this.values.set(child, itemStart);
        this.lines[this.i] = { indent: column, start: itemStart, end: l.end };
        out.push(this.mapping(column, child, itemStart, depth + 1));
      } else {
        this.i++;
        out.push(this.inline(itemStart, l.end, child));
        const next = this.lines[this.i];
        if (next && next.indent > indent) bail();
      }
      const next = this.lines[this.i];
      // a sequence may sit at its parent key's indentation: a key at that indentation ends it
      if (!next || next.indent < indent || (next.indent === indent && !this.isSeqItem(next))) return out;
      if (next.indent > indent) bail();
    }
  }

  private skipSpaces(from: number, to: number): number {
    let p = from;
    while (p < to && this.text.charCodeAt(p) === 32) p++;
    return p;
  }

  /** A value that ends on this line: quoted or plain scalar, or a flow collection; then only a comment. */
  private inline(start: number, end: number, path: string): unknown {
    const c = this.text[start]!;
    if (c === "[" || c === "{" || c === '"' || c === "'") {
      const [value, next] = this.flow(start, end, path);
      const rest = this.skipSpaces(next, end);
      if (rest < end && !(this.text[rest] === "#" && rest > next)) bail();
      return value;
    }
    this.values.set(path, start);
    const line = this.text.slice(start, end);
    const hash = line.indexOf(" #"); // searching the rest of the text would make this quadratic
    const raw = (hash === -1 ? line : line.slice(0, hash)).trimEnd();
    if (/^[-?:,\]}#&*!|>%@`](\s|$)/.test(raw) || /^[\]}#&*!|>%@`,[{]/.test(raw) || raw.includes(": ") || raw.endsWith(":")) bail();
    return plainScalar(raw);
  }

  /** Flow node at `start`; returns the value and the offset after it. */
  private flow(start: number, end: number, path: string, depth = 0): [unknown, number] {
    if (depth > 32) bail(); // deep nesting: the library reports it
    this.values.set(path, start);
    const c = this.text[start];
    if (c === '"' || c === "'") return this.quoted(start, end);
    if (c === "[") {
      const out: unknown[] = [];
      let p = this.skipSpaces(start + 1, end);
      if (this.text[p] === "]") return [out, p + 1];
      for (;;) {
        const [v, next] = this.flowItem(p, end, `${path}/${out.length}`, "]", depth);
        out.push(v);
        p = this.skipSpaces(next, end);
        if (this.text[p] === "]") return [out, p + 1];
        if (this.text[p] !== ",") bail();
        p = this.skipSpaces(p + 1, end);
        if (this.text[p] === "]") bail();
      }
    }
    if (c === "{") {
      const out: Record<string, unknown> = {};
      let p = this.skipSpaces(start + 1, end);
      if (this.text[p] === "}") return [out, p + 1];
      for (;;) {
        const key = keyAt(this.text, p, end) ?? bail();
        if (
          FORBIDDEN_KEYS.has(key) ||
          Object.hasOwn(out, key) ||
          typeof plainScalar(key) !== "string" ||
          this.text[p + key.length] !== ":" ||
          this.text[p + key.length + 1] !== " "
        )
          bail();
        this.keys.set(`${path}/${key}`, p);
        const [v, next] = this.flowItem(this.skipSpaces(p + key.length + 1, end), end, `${path}/${key}`, "}", depth);
        out[key] = v;
        p = this.skipSpaces(next, end);
        if (this.text[p] === "}") return [out, p + 1];
        if (this.text[p] !== ",") bail();
        p = this.skipSpaces(p + 1, end);
        if (this.text[p] === "}") bail();
      }
    }
    return bail();
  }

  private flowItem(start: number, end: number, path: string, close: "]" | "}", depth: number): [unknown, number] {
    const c = this.text[start];
    if (c === "[" || c === "{" || c === '"' || c === "'") return this.flow(start, end, path, depth + 1);
    FLOW_PLAIN.lastIndex = start;
    const p = Math.min(end, start + FLOW_PLAIN.exec(this.text)![0].length);
    const raw = this.text.slice(start, p).trimEnd();
    if (
      raw === "" ||
      (this.text[p] !== "," && this.text[p] !== close) ||
      /^[-?:](\s|$)/.test(raw) ||
      /^[&*!|>%@`]/.test(raw) ||
      raw.includes(": ") ||
      raw.endsWith(":")
    )
      bail();
    this.values.set(path, start);
    return [plainScalar(raw), start + raw.length];
  }

  private quoted(start: number, end: number): [string, number] {
    const q = this.text[start]!;
    let p = start + 1;
    let out = "";
    for (;;) {
      const next = this.text.indexOf(q, p);
      if (next === -1 || next >= end) bail();
      const part = this.text.slice(p, next);
      if (q === '"' && part.includes("\\")) bail();
      out += part;
      if (q === "'" && this.text[next + 1] === "'") {
        out += "'";
        p = next + 2;
        continue;
      }
      return [out, next + 1];
    }
  }
}

// YAML 1.2 core schema, as the `yaml` library resolves plain scalars by default.
function plainScalar(s: string): unknown {
  if (!"0123456789+-.~nNtTfF".includes(s[0] ?? "n")) return s; // most values: no need for the regexes
  if (s === "" || s === "~" || s === "null" || s === "Null" || s === "NULL") return null;
  if (s === "true" || s === "True" || s === "TRUE") return true;
  if (s === "false" || s === "False" || s === "FALSE") return false;
  const number =
    /^[-+]?[0-9]+$/.test(s) || /^0o[0-7]+$/.test(s) || /^0x[0-9a-fA-F]+$/.test(s) || /^[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?$/.test(s);
  // Past double precision (or at -0) number parsers may disagree: the library decides.
  if (number && (s.length > 15 || /^-0*\.?0*$/.test(s))) bail();
  if (/^[-+]?[0-9]+$/.test(s)) return Number.parseInt(s, 10);
  if (/^0o[0-7]+$/.test(s)) return Number.parseInt(s.slice(2), 8);
  if (/^0x[0-9a-fA-F]+$/.test(s)) return Number.parseInt(s.slice(2), 16);
  if (/^[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?$/.test(s)) return Number.parseFloat(s);
  if (/^[-+]?\.(?:inf|Inf|INF)$/.test(s) || /^\.(?:nan|NaN|NAN)$/.test(s)) bail();
  return s;
}
