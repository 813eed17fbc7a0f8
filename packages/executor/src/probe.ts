// Facts about the world the compiler needs injected: git values and what the engine can build.
import type { GitFacts } from "@multiarch/compiler";
import { runCommand } from "./runner.ts";

type Env = Readonly<Record<string, string | undefined>>;

const git = async (args: string[], cwd: string, env: Env): Promise<string | undefined> => {
  const r = await runCommand({ program: "git", args }, { cwd, env });
  return r.ok ? r.stdout.trim() : undefined;
};

/** undefined outside a git work tree (or without git). */
export async function probeGit(cwd: string, env: Env): Promise<GitFacts | undefined> {
  const sha = await git(["rev-parse", "--verify", "--quiet", "HEAD"], cwd, env);
  if (!sha) return undefined;
  const [branch, tag] = await Promise.all([git(["symbolic-ref", "--short", "--quiet", "HEAD"], cwd, env), git(["describe", "--tags", "--exact-match", "HEAD"], cwd, env)]);
  return { sha, shortSha: sha.slice(0, 7), branch: branch ?? "", tag: tag ?? "" };
}

export interface EngineFacts {
  reachable: boolean;
  buildx: boolean;
  /** The builder can build several platforms in one run (docker driver needs the containerd image store). */
  multiPlatform: boolean;
  driver?: string;
  reason: string;
}

export async function probeEngine(cwd: string, env: Env, builder?: string): Promise<EngineFacts> {
  const info = await runCommand({ program: "docker", args: ["info", "--format", "{{json .DriverStatus}}"] }, { cwd, env, timeoutMs: 15_000 });
  if (!info.ok) return { reachable: false, buildx: false, multiPlatform: false, reason: `docker engine not reachable (${info.message}: ${info.stderr.trim().split("\n").pop() ?? ""})` };
  const inspect = await runCommand({ program: "docker", args: ["buildx", "inspect", ...(builder ? [builder] : [])] }, { cwd, env, timeoutMs: 15_000 });
  if (!inspect.ok) return { reachable: true, buildx: false, multiPlatform: false, reason: "docker buildx is not available" };
  const driver = /^Driver:\s+(\S+)/m.exec(inspect.stdout)?.[1] ?? "unknown";
  if (driver !== "docker") return { reachable: true, buildx: true, multiPlatform: true, driver, reason: `builder driver ${driver} builds multi-platform images` };
  const containerdStore = info.stdout.includes("io.containerd.snapshotter");
  return containerdStore
    ? { reachable: true, buildx: true, multiPlatform: true, driver, reason: "docker driver with the containerd image store builds multi-platform images" }
    : { reachable: true, buildx: true, multiPlatform: false, driver, reason: "docker driver without the containerd image store cannot build several platforms at once" };
}
