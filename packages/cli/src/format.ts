// Everything the CLI prints to people: diagnostics with code frames, tables, colour (off with NO_COLOR
// or when the stream is not a terminal).
import { readFileSync } from "node:fs";
import { relative } from "node:path";
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

export function style(io: Io, stream: "stdout" | "stderr"): Style {
  const on = !io.env.NO_COLOR && (io.env.FORCE_COLOR ? io.env.FORCE_COLOR !== "0" : Boolean(io[stream].isTTY));
  const wrap = (open: number, close: number) => (s: string) => (on ? `\u001b[${open}m${s}\u001b[${close}m` : s);
  return { red: wrap(31, 39), yellow: wrap(33, 39), green: wrap(32, 39), dim: wrap(2, 22), bold: wrap(1, 22) };
}

export const displayPath = (file: string, cwd: string): string => {
  const rel = relative(cwd, file);
  return rel.startsWith("..") && rel.split("/").filter((p) => p === "..").length > 2 ? file : rel || file;
};

/** Control characters (newlines, NUL, escapes) from the input are shown escaped, never printed raw. */
export const sanitize = (s: string): string =>
  s.replace(/[\u0000-\u0008\u000b-\u001f\u007f]|\n(?!$)/g, (c) => (c === "\n" ? "\\n" : `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`));

/** Credentials written into the spec never reach a code frame: user:password@ in URLs, literal passwords. */
const maskLine = (text: string, code: string): string => {
  const masked = text.replace(/([\w.%~-]+:)[^\s@/'"]+@/g, "$1***@");
  return code === "credential-literal" ? masked.replace(/(:\s*)(\S.*)$/, "$1***") : masked;
};

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
        sources.set(d.file, readFileSync(d.file, "utf8").split("\n"));
      } catch {
        sources.set(d.file, undefined);
      }
    }
    const lines = sources.get(d.file);
    if (lines && d.line <= lines.length) {
      const from = Math.max(1, d.line - 2);
      const to = Math.min(lines.length, d.line + 1);
      const width = String(to).length;
      for (let n = from; n <= to; n++) {
        const mark = n === d.line ? ">" : " ";
        const text = sanitize(maskLine((lines[n - 1] ?? "").replaceAll("\t", "→"), d.code));
        out.push(s.dim(`  ${mark} ${String(n).padStart(width)} | `) + (text.length > 160 ? `${text.slice(0, 160)}…` : text));
        if (n === d.line) out.push(s.dim(`    ${" ".repeat(width)} | `) + " ".repeat(Math.max(0, d.col - 1)) + s.red("^"));
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
