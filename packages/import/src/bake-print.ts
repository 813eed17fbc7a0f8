// `docker buildx bake --print` with bake's own arguments: buildx resolves variables, functions, inherits
// and matrix, and multiarch import reads the result.
import { closeSync, constants, fstatSync, mkdtempSync, openSync, readFileSync, readSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { inspectPlatforms, runCommand } from "@multiarch/executor";
import { printable } from "./printable.ts";

type Env = Readonly<Record<string, string | undefined>>;

/**
 * Settings bake reads but --print does not show (buildx 0.13 prints no network, entitlements, extra-hosts
 * or call): import cannot see them, so it finds them in the files bake read, to say they are not carried.
 */
const UNPRINTED = /^\s*"?(network|entitlements|extra[-_]hosts|call)"?\s*[=:]/gm;

/** FILE:LINE: KEY for each setting of UNPRINTED in the files bake said it read ("#1 reading FILE 215B / 215B done"). */
function unprintedSettings(stderr: string, cwd: string): string[] {
  const files = [...stderr.matchAll(/^#\d+ reading (.+?) \d+B \/ \d+B/gm)].map((m) => m[1]!);
  return files.flatMap((f) => {
    let text: string;
    try {
      text = readFileSync(resolve(cwd, f), "utf8");
    } catch {
      return [];
    }
    return [...text.matchAll(UNPRINTED)].map(
      (m) =>
        `${f}:${text.slice(0, m.index).split("\n").length}: ${m[1]} is set (in whichever target holds that line), which bake --print does not show: not carried (multiarch has no equivalent); a build that needs it must get it another way`,
    );
  });
}

/**
 * A file given with -f whose first 8 KiB hold a NUL byte or are no UTF-8: no bake file, and bake's excerpt
 * of it would put its bytes on the terminal. Files that cannot be read, and what is no regular file (a FIFO would block
 * the open, and Ctrl-C with it), are bake's to report.
 */
function binaryFile(files: readonly string[], cwd: string): string | undefined {
  const head = Buffer.alloc(8192);
  return files.find((f) => {
    let fd: number | undefined;
    try {
      fd = openSync(resolve(cwd, f), constants.O_RDONLY | constants.O_NONBLOCK);
      if (!fstatSync(fd).isFile()) return false;
      const read = head.subarray(0, readSync(fd, head, 0, head.length, 0));
      return read.includes(0) || !utf8(read.length === head.length ? read.subarray(0, lastWhole(read)) : read);
    } catch {
      return false;
    } finally {
      if (fd !== undefined) closeSync(fd);
    }
  });
}

const utf8 = (bytes: Uint8Array): boolean => {
  try {
    new TextDecoder("utf-8", { fatal: true }).decode(bytes);
    return true;
  } catch {
    return false;
  }
};

/** Where the last whole UTF-8 character of a cut read ends: a character the cut split is not counted against it. */
function lastWhole(bytes: Uint8Array): number {
  let i = bytes.length;
  // back over continuation bytes (10xxxxxx) to the lead byte of the last character, at most 3
  while (i > bytes.length - 4 && i > 0 && (bytes[i - 1]! & 0xc0) === 0x80) i--;
  return i > 0 && bytes[i - 1]! >= 0xc0 ? i - 1 : bytes.length;
}

/** `signal`: Ctrl-C ends bake (and its plugin process) at once; `interrupted` then says so. */
export async function bakePrint(
  args: readonly string[],
  cwd: string,
  env: Env,
  signal?: AbortSignal,
): Promise<{ ok: true; json: unknown; unprinted: string[] } | { ok: false; message: string; input: boolean; interrupted?: true }> {
  const files = args.filter((a, i) => args[i - 1] === "--file");
  const binary = binaryFile(files, cwd);
  if (binary !== undefined)
    return { ok: false, message: `${printable(binary, false)} is not a text file (NUL bytes, or no UTF-8): bake reads HCL, JSON or compose YAML`, input: true };
  const print = (e: Env) =>
    runCommand({ program: "docker", args: ["buildx", "bake", "--print", ...args] }, { cwd, env: e, timeoutMs: 60_000, ...(signal ? { signal } : {}) });
  let r = await print(env);
  // ssh = ["default"] makes bake check SSH_AUTH_SOCK even to print, and a CI runner has no agent: the
  // spec carries no ssh (import warns), so a socket file nobody answers on lets bake print the rest
  // (SSH_AUTH_SOCK gone, a folder, or a file that is no socket: stat, read and parse fail on it)
  const sock = env.SSH_AUTH_SOCK;
  const noAgent =
    r.stderr.includes("invalid empty ssh agent socket") ||
    (sock !== undefined && [`stat ${sock}:`, `read ${sock}:`, `parse ${sock}:`].some((s) => r.stderr.includes(s)));
  if (!r.ok && noAgent) r = await withPlaceholderAgent((socket) => print({ ...env, SSH_AUTH_SOCK: socket }));
  if (!r.ok && r.reason === "canceled") return { ok: false, message: "interrupted: bake --print was stopped", input: false, interrupted: true };
  if (!r.ok) {
    // bake's progress lines ("#1 reading docker-bake.hcl") say nothing of the failure
    const said = r.stderr
      .trim()
      .split("\n")
      .filter((l) => !/^#\d+ /.test(l));
    // bake's own words: from its code frame (a file position, then the lines) to its ERROR
    const frame = said.findIndex((l) => /^\S+:\d+$/.test(l));
    const why =
      r.reason === "spawn" ? "the docker CLI is not installed or not on PATH" : printable(said.slice(frame === -1 ? -3 : frame).join("\n")) || r.message;
    // an ssh key or a secret's src= that only another machine has (a CI runner's): bake stats them to print
    // (a relative name too: a secret with neither env= nor src= is its id's variable, else the file of that name)
    const found = /(?:stat|parse|read) ([^:\s]+): (?:(?:stat|read) [^:]+: )?(no such file or directory|ssh: no key found|is a directory)/.exec(r.stderr);
    // (a bake file given with -f that is a folder is bake's own input, said in its words)
    const missing = found && !files.includes(found[1]!) ? found : null;
    const what =
      missing?.[2] !== "no such file or directory"
        ? "is not an ssh key"
        : !/^[A-Za-z_][A-Za-z0-9_]*$/.test(missing[1]!)
          ? "is not on this machine"
          : `is not on this machine (nor is environment variable ${missing[1]} set, which a secret id=${missing[1]} with neither env= nor src= reads first)`;
    // no file given, and none of bake's default names here
    const none = r.stderr.includes("couldn't find a bake definition");
    const given = files.length > 0;
    const hint = missing
      ? `\nbake reads every ssh key and secret file (src=) even to print, and ${missing[1]} ${what}: import on a machine that has it, or create it first`
      : none && given
        ? "\nthe files given with -f define no target (an empty file?): name a bake file with targets"
        : none
          ? "\nno docker-bake.hcl, docker-bake.json, docker-compose.yml or compose.yaml here: run import where one is, or name it with -f FILE"
          : "";
    // bake refusing a file (a position in it, or a file it cannot find) is the input's fault, not the machine's
    const input =
      r.reason !== "spawn" &&
      (missing !== null ||
        none ||
        /ERROR: (?:.*\.(?:hcl|json|ya?ml):\d+|open .*: (?:no such file|permission denied)|read .*: is a directory|(?:yaml|json): |failed to find target|unknown key|invalid )/.test(
          r.stderr,
        ));
    return { ok: false, message: `docker buildx bake --print failed: ${why}${hint}`, input };
  }
  try {
    return { ok: true, json: JSON.parse(r.stdout), unprinted: unprintedSettings(r.stderr, cwd) };
  } catch {
    return { ok: false, message: "docker buildx bake --print did not print JSON", input: false };
  }
}

/** fn with a listening Unix socket that answers nothing, removed after. */
async function withPlaceholderAgent<T>(fn: (socket: string) => Promise<T>): Promise<T> {
  const dir = mkdtempSync(join(tmpdir(), "multiarch-import-agent-"));
  const socket = join(dir, "agent.sock");
  const server = createServer((c) => c.destroy());
  try {
    await new Promise<void>((resolve, reject) => server.once("error", reject).listen(socket, resolve));
    return await fn(socket);
  } finally {
    await new Promise((resolve) => server.close(resolve));
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * The platform bake builds a target that names none for: the current builder's own (its first node's
 * first platform). Undefined when buildx cannot say.
 */
export async function bakeDefaultPlatform(cwd: string, env: Env, signal?: AbortSignal): Promise<string | undefined> {
  const r = await runCommand({ program: "docker", args: ["buildx", "inspect"] }, { cwd, env, timeoutMs: 15_000, ...(signal ? { signal } : {}) });
  return r.ok ? inspectPlatforms(r.stdout)[0] : undefined;
}
