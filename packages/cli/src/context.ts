// What every command shares: exit codes, parsed option values, the IO it may use, and the outcome it
// returns. Commands never print their own JSON or errors: cli.ts turns an Outcome into exactly one JSON
// document (--json) or into text on stderr.
import type { Diagnostic } from "@multiarch/spec";
import type { Io } from "./format.ts";
import type { CommandName, Values } from "./options.ts";

/** The version of the --json document (json-output.ts holds its schema). */
export const JSON_VERSION = 1;

export const EXIT = { ok: 0, usage: 1, failed: 2, verify: 3, environment: 4, locked: 5, internal: 70, interrupted: 130 } as const;

export interface CommandContext<C extends CommandName = CommandName> {
  /** The command that runs: a parameter, never an option value. */
  command: C;
  values: Values<C>;
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
  /** The message is a line the command printed already (a run's summary): the JSON document's alone. */
  messageShown?: true;
  errors?: Diagnostic[];
  warnings?: Diagnostic[];
  /** The command's own result, merged into the JSON document. */
  data?: Record<string, unknown>;
}

export type Handler<C extends CommandName> = (ctx: CommandContext<C>) => Promise<Outcome>;

/** A command's help text and module; its options are OPTIONS[name] (options.ts). */
export interface CommandDef<C extends CommandName> {
  summary: string;
  /** Shown under the usage line, before the options. */
  about: string;
  /** Shown after the options (exit codes, notes). */
  footer?: string;
  /** The command takes words that are not options, e.g. "github|gitlab". */
  positionals?: string;
  load: () => Promise<{ default: Handler<C> }>;
}

export const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? "" : "s"}`;
