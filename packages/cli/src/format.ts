// Everything the CLI prints to people: diagnostics with code frames, tables, colour (off with NO_COLOR
// or when the stream is not a terminal).
import { readFileSync } from "node:fs";
import { relative } from "node:path";
import type { RegistryWait } from "@multiarch/executor";
import { maskUrlPassword } from "@multiarch/executor/url-password";
import type { Diagnostic } from "@multiarch/spec";

export interface Io {
  stdout: { write(s: string): unknown; isTTY?: boolean };
  stderr: { write(s: string): unknown; isTTY?: boolean };
  cwd: string;
  env: Readonly<Record<string, string | undefined>>;
}

export interface Style {
  red(s: string): string;
  yellow(s: string): string;
  green(s: string): string;
  dim(s: string): string;
  bold(s: string): string;
}

/**
 * Colour: never with NO_COLOR (no-color.org); FORCE_COLOR forces it on unless it is 0 or false, as node
 * and chalk read it; else on a terminal that is not TERM=dumb.
 */
export function style(io: Io, stream: "stdout" | "stderr"): Style {
  const force = io.env.FORCE_COLOR;
  const on = !io.env.NO_COLOR && (force !== undefined ? force !== "0" && force !== "false" : io.env.TERM !== "dumb" && Boolean(io[stream].isTTY));
  const wrap = (open: number, close: number) => (s: string) => (on ? `\u001b[${open}m${s}\u001b[${close}m` : s);
  return { red: wrap(31, 39), yellow: wrap(33, 39), green: wrap(32, 39), dim: wrap(2, 22), bold: wrap(1, 22) };
}

export const displayPath = (file: string, cwd: string): string => {
  const rel = relative(cwd, file);
  return rel.startsWith("..") && rel.split("/").filter((p) => p === "..").length > 2 ? file : rel || file;
};

/** Control characters (newlines, NUL, escapes, C1, line separators) from the input are shown escaped, never printed raw. */
export const sanitize = (s: string): string =>
  s.replace(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u2028\u2029]|\n(?!$)/g, (c) =>
    c === "\n" ? "\\n" : `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`,
  );

const indentOf = (line: string): number => line.length - line.trimStart().length;

/**
 * Where a literal credential's characters end on its line, from the column it starts at: a quoted one at
 * its closing quote, a plain one at a comment or the line's end (inside { } or [ ], at the next , } ]).
 */
function scalarEnd(line: string, start: number): number {
  const quote = line[start];
  if (quote === '"' || quote === "'") {
    for (let i = start + 1; i < line.length; i++) {
      if (quote === '"' && line[i] === "\\") i++;
      else if (line[i] === quote && quote === "'" && line[i + 1] === "'") i++;
      else if (line[i] === quote) return i + 1;
    }
    return line.length;
  }
  const before = line.slice(0, start);
  const inFlow = (before.match(/[{[]/g)?.length ?? 0) > (before.match(/[}\]]/g)?.length ?? 0);
  const rest = line.slice(start);
  const stop = rest.search(inFlow ? /\s+#|[,}\]]/ : /\s+#/);
  return start + (stop === -1 ? rest.trimEnd().length : stop);
}

/**
 * The frame's lines with credentials hidden: user:password@ on every line, and for a literal credential
 * its characters alone (and the more indented lines that continue it); the lines around stay readable.
 */
function maskFrame(source: readonly string[], d: Diagnostic, from: number, to: number): string[] {
  const out = source.slice(from - 1, to).map(maskUrlPassword);
  if (d.code !== "credential-literal") return out;
  const at = d.line - from;
  const line = out[at] ?? "";
  const start = Math.min(d.col - 1, line.length);
  out[at] = `${line.slice(0, start)}***${line.slice(scalarEnd(line, start))}`;
  for (let i = at + 1; i < out.length && out[i]!.trim() !== "" && indentOf(out[i]!) > indentOf(line); i++) out[i] = `${" ".repeat(indentOf(out[i]!))}***`;
  return out;
}

/** How much of a line the frame shows. */
const FRAME_WIDTH = 160;

/** FILE:LINE:COL: severity[code]: message, a hint, and two lines of context around the spot. */
export function formatDiagnostic(d: Diagnostic, io: Io, sources: Map<string, string[] | undefined>): string {
  const s = style(io, "stderr");
  const file = displayPath(d.file, io.cwd);
  const where = d.line > 0 ? `${file}:${d.line}:${d.col}` : file;
  const sev = d.severity === "error" ? s.red("error") : s.yellow("warning");
  const out = [`${s.bold(where)}: ${sev}[${d.code}]: ${sanitize(d.message)}`];
  if (d.hint) out.push(`  ${s.dim("hint:")} ${sanitize(d.hint)}`);
  if (d.line > 0) {
    if (!sources.has(d.file)) {
      try {
        // a CRLF file's lines end in \r: not part of what the frame shows
        sources.set(
          d.file,
          readFileSync(d.file, "utf8")
            .split("\n")
            .map((l) => (l.endsWith("\r") ? l.slice(0, -1) : l)),
        );
      } catch {
        sources.set(d.file, undefined);
      }
    }
    const source = sources.get(d.file);
    if (source && d.line <= source.length) {
      // a file that ends with a newline has no line after it to show
      const last = Math.max(d.line, source.at(-1) === "" ? source.length - 1 : source.length);
      const from = Math.max(1, d.line - 2);
      const to = Math.min(last, d.line + 1);
      const lines = maskFrame(source, d, from, to);
      const width = String(to).length;
      const shownText = (line: string) => sanitize(line.replaceAll("\t", "→"));
      // the column as shown: what comes before it masked and escaped as the line is (a password as ***, a CR as \u000d)
      const col = shownText(maskUrlPassword((source[d.line - 1] ?? "").slice(0, d.col - 1))).length + 1;
      for (let n = from; n <= to; n++) {
        const mark = n === d.line ? ">" : " ";
        const text = shownText(lines[n - from] ?? "");
        // a long line shows 160 characters: from its start, or around the column on the problem's line
        const at = n === d.line && col > FRAME_WIDTH ? col - 1 - FRAME_WIDTH / 2 : 0;
        const shown = `${at > 0 ? "…" : ""}${text.slice(at, at + FRAME_WIDTH)}${text.length > at + FRAME_WIDTH ? "…" : ""}`;
        out.push(s.dim(`  ${mark} ${String(n).padStart(width)} | `) + shown);
        const caret = Math.max(0, col - 1 - at + (at > 0 ? 1 : 0));
        if (n === d.line) out.push(s.dim(`    ${" ".repeat(width)} | `) + " ".repeat(caret) + s.red("^"));
      }
    }
  }
  return out.join("\n");
}

export function printDiagnostics(ds: readonly Diagnostic[], io: Io): void {
  const sources = new Map<string, string[] | undefined>();
  for (const d of ds) io.stderr.write(`${formatDiagnostic(d, io, sources)}\n`);
}

/** A plain aligned table; the last column may be long. */
export function table(rows: string[][], header: string[]): string {
  const all = [header, ...rows];
  const widths = header.map((_, i) => Math.max(...all.map((r) => visible(r[i] ?? "").length)));
  return all
    .map((r) =>
      r
        .map((c, i) => (i === r.length - 1 ? c : c + " ".repeat(widths[i]! - visible(c).length)))
        .join("  ")
        .trimEnd(),
    )
    .join("\n");
}

const visible = (s: string) => s.replace(/\u001b\[[0-9;]*m/g, "");

export const seconds = (ms: number): string => `${(ms / 1000).toFixed(1)}s`;

/** A registry request with no answer for a while, said once (apply's and doctor's progress, on stderr). */
export function sayWait(io: Io): (w: RegistryWait) => void {
  const err = style(io, "stderr");
  return (w) =>
    io.stderr.write(err.yellow(`waiting for ${w.host} (${w.request}): no answer for ${seconds(w.waitedMs)}; giving up after ${seconds(w.limitMs)}\n`));
}
