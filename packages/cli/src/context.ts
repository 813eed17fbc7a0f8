// What every command shares: exit codes, parsed option values, the IO it may use, and the outcome it
// returns. Commands never print their own JSON or errors: cli.ts turns an Outcome into exactly one JSON
// document (--json) or into text on stderr.
import type { Diagnostic } from "@multiarch/spec";
import type { Io } from "./format.ts";

/** The version of the --json document (json-output.ts holds its schema). */
export const JSON_VERSION = 1;

export const EXIT = { ok: 0, usage: 1, failed: 2, verify: 3, environment: 4, locked: 5, internal: 70, interrupted: 130 } as const;

export type Values = Record<string, string | boolean | string[] | undefined>;

export interface CommandContext {
  values: Values;
  io: Io;
  signal: AbortSignal;
  /** --json: human output goes to stderr only; the Outcome becomes the one document on stdout. */
  json: boolean;
  /** Words after the command that are not options (commands that take them, e.g. `ci github`). */
  positionals: string[];
}

export interface Outcome {
  exit: number;
  /** One line for people: why the command stopped (errors are also in `errors`). */
  message?: string;
  errors?: Diagnostic[];
  warnings?: Diagnostic[];
  /** The command's own result, merged into the JSON document. */
  data?: Record<string, unknown>;
}

export type Handler = (ctx: CommandContext) => Promise<Outcome>;

/** One option: how it is parsed and how --help shows it (one table for both, so they never drift). */
export interface OptionSpec {
  type: "string" | "boolean";
  short?: string;
  multiple?: boolean;
  /** The value's name in help, e.g. FILE. */
  value?: string;
  /** Each value may be a comma list (P,Q), as docker's own flag takes it. */
  commaList?: boolean;
  description: string;
}

export interface CommandDef {
  summary: string;
  /** Shown under the usage line, before the options. */
  about: string;
  options: Record<string, OptionSpec>;
  /** Shown after the options (exit codes, notes). */
  footer?: string;
  /** The command takes words that are not options, e.g. "github|gitlab". */
  positionals?: string;
  load: () => Promise<{ default: Handler }>;
}

export const list = (v: unknown): string[] | undefined => (Array.isArray(v) ? (v as string[]) : undefined);
export const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? "" : "s"}`;
