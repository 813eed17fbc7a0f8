// `docker buildx bake --print` with bake's own arguments: buildx resolves variables, functions, inherits
// and matrix, and multiarch import reads the result.
import { inspectPlatforms, runCommand } from "@multiarch/executor";

type Env = Readonly<Record<string, string | undefined>>;

export async function bakePrint(args: readonly string[], cwd: string, env: Env): Promise<{ ok: true; json: unknown } | { ok: false; message: string }> {
  const r = await runCommand({ program: "docker", args: ["buildx", "bake", "--print", ...args] }, { cwd, env, timeoutMs: 60_000 });
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

/**
 * The platform bake builds a target that names none for: the current builder's own (its first node's
 * first platform). Undefined when buildx cannot say.
 */
export async function bakeDefaultPlatform(cwd: string, env: Env): Promise<string | undefined> {
  const r = await runCommand({ program: "docker", args: ["buildx", "inspect"] }, { cwd, env, timeoutMs: 15_000 });
  return r.ok ? inspectPlatforms(r.stdout)[0] : undefined;
}
