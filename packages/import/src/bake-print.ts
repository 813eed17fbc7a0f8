// `docker buildx bake --print` with bake's own arguments: buildx resolves variables, functions, inherits
// and matrix, and multiarch import reads the result.
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { inspectPlatforms, runCommand } from "@multiarch/executor";

type Env = Readonly<Record<string, string | undefined>>;

export async function bakePrint(args: readonly string[], cwd: string, env: Env): Promise<{ ok: true; json: unknown } | { ok: false; message: string }> {
  const print = (e: Env) => runCommand({ program: "docker", args: ["buildx", "bake", "--print", ...args] }, { cwd, env: e, timeoutMs: 60_000 });
  let r = await print(env);
  // ssh = ["default"] makes bake check SSH_AUTH_SOCK even to print, and a CI runner has no agent: the
  // spec carries no ssh (import warns), so a socket file nobody answers on lets bake print the rest
  const noAgent = r.stderr.includes("invalid empty ssh agent socket") || (env.SSH_AUTH_SOCK !== undefined && r.stderr.includes(`stat ${env.SSH_AUTH_SOCK}:`));
  if (!r.ok && noAgent) r = await withPlaceholderAgent((socket) => print({ ...env, SSH_AUTH_SOCK: socket }));
  if (!r.ok) {
    const why = r.reason === "spawn" ? "the docker CLI is not installed or not on PATH" : r.stderr.trim().split("\n").slice(-3).join("\n") || r.message;
    return { ok: false, message: `docker buildx bake --print failed: ${why}` };
  }
  try {
    return { ok: true, json: JSON.parse(r.stdout) };
  } catch {
    return { ok: false, message: "docker buildx bake --print did not print JSON" };
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
export async function bakeDefaultPlatform(cwd: string, env: Env): Promise<string | undefined> {
  const r = await runCommand({ program: "docker", args: ["buildx", "inspect"] }, { cwd, env, timeoutMs: 15_000 });
  return r.ok ? inspectPlatforms(r.stdout)[0] : undefined;
}
