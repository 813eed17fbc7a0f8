// An in-memory Io for running the CLI in-process in tests.
import type { Io } from "../format.ts";

export function memoryIo(cwd: string, env: Record<string, string | undefined> = {}): Io & { out: () => string; err: () => string } {
  let out = "";
  let err = "";
  return {
    stdout: { write: (s: string) => (out += s) },
    stderr: { write: (s: string) => (err += s) },
    cwd,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env },
    out: () => out,
    err: () => err,
  };
}
