// The one command runner: every process multiarch starts goes through runCommand, detached clean-up too. Argument arrays only
// (never a shell), stdin closed unless a credential is fed through it, references resolved at the last
// moment, and every resolved secret value redacted from whatever output is kept or shown.
import type * as ChildProcess from "node:child_process";
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import type { Arg, Built, Command, Plan, ValueRef, Verified } from "@multiarch/plan";
import { maskUrlPassword } from "./url-password.ts";

/** node:child_process (and the net and dgram modules it loads) on the first command: plan runs none. */
const childProcess = (): typeof ChildProcess => process.getBuiltinModule("node:child_process");

export type RunResult =
  | { ok: true; stdout: string; stderr: string; durationMs: number }
  | {
      ok: false;
      reason: "exit" | "signal" | "timeout" | "canceled" | "spawn" | "unresolved";
      exitCode?: number;
      command: string;
      stdout: string;
      stderr: string;
      durationMs: number;
      message: string;
    };

export interface RunOptions {
  cwd: string;
  env: Readonly<Record<string, string | undefined>>;
  signal?: AbortSignal;
  timeoutMs?: number;
  /** Called for each output line (already redacted), e.g. for --verbose progress. */
  onLine?: (line: string, stream: "stdout" | "stderr") => void;
  /** name@digest of what verification saw under a staging ref (for { verified } arguments). */
  verified?: (v: Verified) => string | undefined;
  /** name@digest of what this run built or pushed under a staging ref (for { built } arguments). */
  built?: (ref: string) => string | undefined;
  /** The run's private folder, for { runFile } arguments. */
  runDir?: string;
  /** Hides every secret value from output; applied to every line, tail and message. */
  redact?: (s: string) => string;
  /**
   * Told of each command's process group (its leader's pid) when it starts; what it returns is called
   * when the command ends. The run keeps them, so that they end with it however it ends (run-folder.ts).
   */
  onGroup?: (pid: number) => () => void;
}

export class UnresolvedRef extends Error {}

export function resolveRef(ref: ValueRef, opts: Pick<RunOptions, "cwd" | "env">): string {
  if ("env" in ref) {
    const v = opts.env[ref.env];
    if (v === undefined || v === "") throw new UnresolvedRef(`environment variable ${ref.env} is not set`);
    return v;
  }
  try {
    return readFileSync(resolve(opts.cwd, ref.file), "utf8").replace(/\r?\n$/, "");
  } catch {
    throw new UnresolvedRef(`cannot read ${ref.file}`);
  }
}

const showArg = (a: Arg): string => {
  if (typeof a === "string") return /^[\w@%+=:,./-]+$/.test(a) ? a : JSON.stringify(a);
  if ("env" in a) return `$${a.env}`;
  if ("file" in a) return `$(cat ${a.file})`;
  if ("verified" in a) return `<${a.verified}${a.platform ? ` ${a.platform}` : ""} as verified>`;
  if ("built" in a) return `${a.prefix ?? ""}<${a.built} as built>`;
  return `${a.prefix ?? ""}<run>/${a.runFile}`;
};

/** An argument as the command gets it; UnresolvedRef when what it names is not there. */
export function resolveArg(a: Arg, opts: RunOptions): string {
  if (typeof a === "string") return a;
  if ("verified" in a) {
    const v = opts.verified?.(a);
    if (v === undefined) throw new UnresolvedRef(`${a.verified}${a.platform ? ` (${a.platform})` : ""} was not verified in this run`);
    return v;
  }
  if ("built" in a) return builtRef(a, opts);
  if ("runFile" in a) {
    if (!opts.runDir) throw new UnresolvedRef(`${a.runFile}: no run folder`);
    return `${a.prefix ?? ""}${resolve(opts.runDir, a.runFile)}`;
  }
  return resolveRef(a, opts);
}

function builtRef(a: Built, opts: RunOptions): string {
  const v = opts.built?.(a.built);
  if (v === undefined) throw new UnresolvedRef(`${a.built} was not built or pushed by this run`);
  return `${a.prefix ?? ""}${v}`;
}

/** How a command is shown to people: references stay references, nothing is resolved. */
/**
 * What the runner starts: a plan's command (plans name only docker, git and cosign, checked when a plan is read),
 * or one of doctor's own probes and fixes (mount, update-binfmts, qemu-*), built in code.
 */
export type Runnable = Omit<Command, "program"> & {
  program: string;
  /** Plain text fed to stdin that is no secret (a credential helper's server address). */
  input?: string;
};

export const showCommand = (cmd: Runnable): string =>
  [
    ...Object.entries(cmd.setEnv ?? {}).map(([k, v]) => `${k}=${typeof v === "string" ? JSON.stringify(v) : showArg(v)}`),
    cmd.program,
    ...cmd.args.map(showArg),
  ].join(" ") + (cmd.stdin ? ` < ${showArg(cmd.stdin)}` : "");

/**
 * Hides secret values (at least 4 characters; shorter ones would blank out ordinary words) and the
 * password of any user:password@ URL. Multi-line values are hidden line by line too, since tools
 * print them one line at a time.
 */
export function redactor(secrets: readonly string[]): (s: string) => string {
  const parts = secrets.flatMap((s) => [s, ...s.split(/\r?\n/).map((l) => l.trim())]);
  const values = [...new Set(parts.filter((s) => s.length >= 4))].sort((a, b) => b.length - a.length);
  return (s) => maskUrlPassword(values.reduce((acc, v) => acc.split(v).join("***"), s));
}

/** Every secret value the plan's commands may meet, resolved now; those not set simply cannot leak. */
export function planRedactor(plan: Pick<Plan, "secrets">, cwd: string, env: RunOptions["env"]): (s: string) => string {
  const values: string[] = [];
  for (const ref of plan.secrets) {
    try {
      values.push(resolveRef(ref, { cwd, env }));
    } catch {
      // unset or unreadable: the step that needs it fails and says so
    }
  }
  return redactor(values);
}

export async function runCommand(cmd: Runnable, opts: RunOptions): Promise<RunResult> {
  const started = performance.now();
  const command = showCommand(cmd);
  let args: string[];
  let secret: string | undefined;
  let own: Record<string, string>;
  try {
    args = cmd.args.map((a) => resolveArg(a, opts));
    secret = cmd.stdin ? resolveRef(cmd.stdin, opts) : undefined;
    own = Object.fromEntries(Object.entries(cmd.setEnv ?? {}).map(([k, v]) => [k, typeof v === "string" ? v : resolveRef(v, opts)]));
  } catch (e) {
    return {
      ok: false,
      reason: "unresolved",
      command,
      stdout: "",
      stderr: "",
      durationMs: 0,
      message: opts.redact ? opts.redact((e as Error).message) : (e as Error).message,
    };
  }
  if (cmd.detach) {
    // nothing reads its output: no pipes, its own process group, and the run does not wait for it
    const child = childProcess().spawn(cmd.program, args, { cwd: opts.cwd, env: { ...opts.env, ...own }, detached: true, stdio: "ignore" });
    child.on("error", () => {});
    child.unref();
    return { ok: true, stdout: "", stderr: "", durationMs: performance.now() - started };
  }
  const fed = redactor([
    ...(secret !== undefined ? [secret] : []),
    ...Object.entries(cmd.setEnv ?? {}).flatMap(([k, v]) => (typeof v === "string" ? [] : [own[k]!])),
  ]);
  const input = secret ?? cmd.input;
  const redact = opts.redact ? (t: string) => opts.redact!(fed(t)) : fed;
  // A short command read only when it ends (git facts, engine probes): node's execFile. execa's streams
  // cost plan a quarter of its start-up on 50 images (four git calls); they stay for what streams,
  // reads stdin or can be cancelled.
  if (input === undefined && !opts.onLine && !opts.signal && !opts.timeoutMs)
    return captured(cmd.program, args, { ...opts.env, ...own }, opts.cwd, redact, command);
  const lines = (stream: "stdout" | "stderr") =>
    async function* (line: unknown) {
      const text = redact(String(line));
      opts.onLine?.(text, stream);
      yield text;
    };
  // loaded on first use: a command that starts no process (plan, validate) does not initialise it
  const { execa } = await import("execa");
  const child = execa(cmd.program, args, {
    cwd: opts.cwd,
    env: { ...opts.env, ...own },
    extendEnv: false,
    reject: false,
    stdin: input !== undefined ? undefined : "ignore",
    input,
    stdout: lines("stdout"),
    stderr: lines("stderr"),
    lines: false,
    // A process group of its own, ended whole when the run is cancelled: a docker CLI plugin (buildx) is a
    // grandchild, and a signal that reaches the CLI before the plugin handles signals is lost while the
    // plugin runs on, holding the output pipes (seen: a SIGTERM in bake's first 100 ms waited for the build).
    detached: true,
    ...(opts.signal ? { cancelSignal: opts.signal } : {}),
    forceKillAfterDelay: 2000,
  });
  const endGroup = () => {
    const group = child.pid;
    if (group === undefined) return;
    const kill = (sig: NodeJS.Signals) => {
      try {
        process.kill(-group, sig);
      } catch {
        // the group is gone already
      }
    };
    kill("SIGTERM");
    setTimeout(() => kill("SIGKILL"), 2000).unref();
  };
  const ended = child.pid === undefined ? undefined : opts.onGroup?.(child.pid);
  opts.signal?.addEventListener("abort", endGroup, { once: true });
  // a timeout ends the whole group: execa's own ended the docker CLI alone, and waited for the plugin it
  // started, which held the pipes (seen: bake --print reading a FIFO ran 10 minutes past a 60 s timeout)
  let timedOut = false;
  const timer = !opts.timeoutMs
    ? undefined
    : setTimeout(() => {
        timedOut = true;
        endGroup();
      }, opts.timeoutMs);
  const result = await child;
  ended?.();
  clearTimeout(timer);
  opts.signal?.removeEventListener("abort", endGroup);
  const durationMs = performance.now() - started;
  const stdout = redact(String(result.stdout ?? ""));
  const stderr = redact(String(result.stderr ?? ""));
  if (!result.failed) return { ok: true, stdout, stderr, durationMs };
  const reason = result.isCanceled
    ? "canceled"
    : timedOut
      ? "timeout"
      : result.exitCode === undefined && !result.signal
        ? "spawn"
        : result.signal
          ? "signal"
          : "exit";
  const message =
    reason === "spawn"
      ? `${cmd.program} not found or not executable (${redact(result.shortMessage ?? "")})`
      : reason === "exit"
        ? `exit code ${result.exitCode}`
        : reason;
  return { ok: false, reason, ...(result.exitCode !== undefined ? { exitCode: result.exitCode } : {}), command, stdout, stderr, durationMs, message };
}

/** execFile with execa's defaults where they matter: 100 MB of output, one final newline stripped. */
function captured(program: string, args: string[], env: RunOptions["env"], cwd: string, redact: (s: string) => string, command: string): Promise<RunResult> {
  const started = performance.now();
  return new Promise((done) => {
    const child = childProcess().execFile(program, args, { cwd, env, encoding: "utf8", maxBuffer: 100_000_000 }, (error, out, err) => {
      const durationMs = performance.now() - started;
      const stdout = redact(out.replace(/\r?\n$/, ""));
      const stderr = redact(err.replace(/\r?\n$/, ""));
      if (!error) return done({ ok: true, stdout, stderr, durationMs });
      const base = { ok: false as const, command, stdout, stderr, durationMs };
      if (typeof error.code === "string")
        return done({ ...base, reason: "spawn", message: `${program} not found or not executable (${redact(error.message)})` });
      if (error.signal) return done({ ...base, reason: "signal", message: "signal" });
      done({ ...base, reason: "exit", exitCode: error.code ?? 1, message: `exit code ${error.code}` });
    });
    child.stdin?.end(); // nothing to read: stdin closed, so nothing can prompt
  });
}
