// Errors are values: every problem found in a spec is a Diagnostic pointing at the YAML that caused it.
// Only the CLI turns them into text.

export type Severity = "error" | "warning";

/** Errors and warnings apart, each sorted by position, each problem once. */
export function splitDiagnostics(ds: readonly Diagnostic[]): { errors: Diagnostic[]; warnings: Diagnostic[] } {
  const unique = [...new Map(ds.map((d) => [`${d.code}:${d.file}:${d.line}:${d.col}:${d.message}`, d])).values()];
  return { errors: sortDiagnostics(unique.filter((d) => d.severity === "error")), warnings: sortDiagnostics(unique.filter((d) => d.severity === "warning")) };
}

/** Stable codes: tests, `--json` consumers and the README's table rely on them. */
export type DiagnosticCode =
  | "spec-not-found"
  | "spec-too-large"
  | "spec-empty"
  | "yaml-syntax"
  | "yaml-multiple-documents"
  | "yaml-duplicate-key"
  | "yaml-alias-limit"
  | "yaml-too-deep"
  | "forbidden-key"
  | "unknown-key"
  | "invalid-type"
  | "invalid-value"
  | "missing-key"
  | "platform-invalid"
  | "platform-unknown"
  | "platform-normalised"
  | "platform-duplicate"
  | "repository-invalid"
  | "tag-invalid"
  | "tag-duplicate"
  | "tag-empty"
  | "tag-internal"
  | "registry-url-invalid"
  | "registry-unknown"
  | "credential-literal"
  | "template-syntax"
  | "template-unknown-variable"
  | "template-unknown-helper"
  | "template-not-string"
  | "template-render"
  | "context-unknown-image"
  | "context-platforms"
  | "dependency-cycle"
  | "path-missing"
  | "path-outside-repo"
  | "path-absolute"
  | "arg-looks-secret"
  | "env-unset"
  | "git-unavailable"
  | "selection-unknown"
  | "set-invalid"
  | "builder-platforms"
  | "image-unused"
  | "group-unknown-image"
  | "base-platform-missing"
  | "tag-moved-during-run"
  | "tag-release-moved"
  | "run-leftovers";

export interface SourcePos {
  file: string;
  /** 1-based; 0 when the problem has no place in the file (e.g. the file is missing). */
  line: number;
  col: number;
}

export interface Diagnostic extends SourcePos {
  code: DiagnosticCode;
  severity: Severity;
  message: string;
  hint?: string;
  /** Path of the offending value inside the spec, e.g. ["images", "api", "tags", 0]. */
  path?: (string | number)[];
}

export function diag(
  code: DiagnosticCode,
  at: SourcePos,
  message: string,
  extra: { hint?: string | undefined; severity?: Severity; path?: (string | number)[] } = {},
): Diagnostic {
  const d: Diagnostic = { code, severity: extra.severity ?? "error", message, file: at.file, line: at.line, col: at.col };
  if (extra.hint) d.hint = extra.hint;
  if (extra.path) d.path = extra.path;
  return d;
}

export const hasErrors = (ds: readonly Diagnostic[]): boolean => ds.some((d) => d.severity === "error");

/** Order by position so output reads top to bottom. */
export function sortDiagnostics(ds: Diagnostic[]): Diagnostic[] {
  return ds.sort((a, b) => a.file.localeCompare(b.file) || a.line - b.line || a.col - b.col);
}
