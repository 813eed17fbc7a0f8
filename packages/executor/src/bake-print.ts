// `docker buildx bake --print` with bake's own arguments: buildx resolves variables, functions, inherits
// and matrix, and multiarch import reads the result.
import { runCommand } from "./runner.ts";

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
