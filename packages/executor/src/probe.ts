// Facts about the world the compiler needs injected: git values and what the engine can build.
import { accessSync, constants, existsSync, readFileSync, statSync } from "node:fs";
import { delimiter, join } from "node:path";
import type { EngineFacts, GitFacts } from "@multiarch/plan";
import { dockerConfigDir, readDockerConfig } from "./docker-config.ts";
import { readGitFiles } from "./git-files.ts";
import { type RunResult, runCommand } from "./runner.ts";

type Env = Readonly<Record<string, string | undefined>>;

const NOT_A_REPOSITORY = "the spec is not inside a git repository (or git is not installed)";

const git = async (args: string[], cwd: string, env: Env): Promise<string | undefined> => {
  const r = await runCommand({ program: "git", args }, { cwd, env });
  return r.ok ? r.stdout.trim() : undefined;
};

/**
 * Git facts, or why there are none. On a detached HEAD (how CI checks out tags and pull requests) the
 * branch comes from the CI's variables; a tag too when a shallow clone has none.
 */
export async function probeGit(cwd: string, env: Env, read: typeof readGitFiles = readGitFiles): Promise<GitFacts | { unavailable: string }> {
  // from the repository's files where they say exactly what git would (no process), else from git
  const files = read(cwd, env);
  if (files === "no-repository") return { unavailable: NOT_A_REPOSITORY };
  // all at once: each git process costs tens of milliseconds to start
  const ask = (known: string | null | undefined, args: string[]) => (typeof known === "string" ? known || undefined : git(args, cwd, env));
  const [head, branch, tag, remote] = await Promise.all([
    ask(files?.head, ["log", "-1", "--format=%H %ct", "HEAD"]),
    ask(files?.branch, ["symbolic-ref", "--short", "--quiet", "HEAD"]),
    ask(files?.tag, ["describe", "--tags", "--exact-match", "HEAD"]),
    ask(files?.remote, ["config", "--get", "remote.origin.url"]),
  ]);
  if (!head) {
    const top = await git(["rev-parse", "--show-toplevel"], cwd, env);
    return {
      unavailable: top === undefined ? NOT_A_REPOSITORY : `the git repository at ${top} has no commits yet`,
    };
  }
  const [sha = "", time] = head.split(" ");
  const source = remote ? publicUrl(remote) : undefined;
  return { sha, shortSha: sha.slice(0, 7), branch: branch || ciBranch(env), tag: tag || ciTag(env), ...(time ? { time } : {}), ...(source ? { source } : {}) };
}

/** A remote as a browsable URL without credentials: git@github.com:a/b.git -> https://github.com/a/b. */
export function publicUrl(remote: string): string | undefined {
  const scp = /^[\w.-]+@([\w.-]+):(.+?)(\.git)?$/.exec(remote);
  if (scp) return `https://${scp[1]}/${scp[2]}`;
  try {
    const u = new URL(remote);
    if (!/^https?:$/.test(u.protocol)) return undefined;
    u.username = "";
    u.password = "";
    // a token may ride in the query (?token=…) or the fragment as well as in the user part
    u.search = "";
    u.hash = "";
    return u.toString().replace(/\.git$/, "");
  } catch {
    return undefined;
  }
}

/** GitHub Actions (pull requests first), GitLab CI, Buildkite: the branch a detached checkout was made from. */
export function ciBranch(env: Env): string {
  if (env.GITHUB_HEAD_REF) return env.GITHUB_HEAD_REF;
  if (env.GITHUB_REF_NAME && env.GITHUB_REF_TYPE !== "tag") return env.GITHUB_REF_NAME;
  return env.CI_COMMIT_BRANCH || (env.CI_COMMIT_TAG ? "" : env.CI_COMMIT_REF_NAME) || env.BUILDKITE_BRANCH || "";
}

export function ciTag(env: Env): string {
  if (env.GITHUB_REF_TYPE === "tag" && env.GITHUB_REF_NAME) return env.GITHUB_REF_NAME;
  return env.CI_COMMIT_TAG || env.BUILDKITE_TAG || "";
}

export type { EngineFacts };

/**
 * With no builder named in the spec and none selected with `docker buildx use`, the builder is the
 * current context's own, whose driver is always `docker`: no need to ask buildx (half a second or more).
 */
export function defaultDockerBuilder(env: Env, builder?: string): boolean {
  if (builder) return false;
  const config = dockerConfigDir(env);
  // `current` names the selected builder; an empty name (or none) is the context's default builder
  try {
    const current = JSON.parse(readFileSync(join(config, "buildx", "current"), "utf8")) as { Name?: string };
    if (current.Name) return false;
  } catch {
    // no builder selected
  }
  const dirs = [
    join(config, "cli-plugins"),
    "/usr/local/lib/docker/cli-plugins",
    "/usr/local/libexec/docker/cli-plugins",
    "/usr/lib/docker/cli-plugins",
    "/usr/libexec/docker/cli-plugins",
  ];
  return dirs.some((d) => existsSync(join(d, "docker-buildx")));
}

/** The platforms `docker buildx inspect` lists, node by node, each node's own (default) platform first. */
export const inspectPlatforms = (stdout: string): string[] =>
  [...stdout.matchAll(/^Platforms:\s+(.+)$/gm)].flatMap((m) => m[1]!.split(",").map((p) => p.trim().replace(/\*$/, "")));

/**
 * The engine's socket when the docker CLI would talk to the local one: DOCKER_HOST unset or unix://, and
 * no context chosen (DOCKER_HOST wins over contexts, as in the CLI). Contexts, TCP, TLS and ssh are left
 * to the CLI, and so is a relative socket path: the CLI resolves it in the folder it runs in, the spec's.
 */
export function localEngineSocket(env: Env): string | undefined {
  if (env.DOCKER_HOST) return /^unix:\/\/\//.test(env.DOCKER_HOST) ? env.DOCKER_HOST.slice("unix://".length) : undefined;
  const context = env.DOCKER_CONTEXT || readDockerConfig(env).currentContext;
  return context && context !== "default" ? undefined : "/var/run/docker.sock";
}

/** How long the engine is given to answer, over its socket or through the CLI. */
const ENGINE_TIMEOUT_MS = 15_000;

/**
 * What `docker info --format '{{json .DriverStatus}}'` prints, asked of the engine's API when it listens
 * on the local socket: the CLI takes about 100 ms to say it (it asks every CLI plugin for its metadata).
 * One HTTP/1.0 GET on the socket: node's http module costs 20 ms of start-up to load and set up, this 5.
 * Started before the spec is read, the engine's 20-30 ms overlap the reading. undefined when there is no
 * local socket or no plain answer: the CLI then asks, and words what went wrong. An engine that accepts
 * and never answers times out here, as it would for the CLI.
 */
export function engineInfoOverSocket(env: Env, signal?: AbortSignal): Promise<RunResult | undefined> {
  const path = localEngineSocket(env);
  if (!path) return Promise.resolve(undefined);
  const t0 = performance.now();
  return new Promise((resolve) => {
    const socket = process.getBuiltinModule("node:net").connect({ path });
    const chunks: Buffer[] = [];
    const give = (result: RunResult | undefined) => {
      clearTimeout(timer);
      signal?.removeEventListener("abort", withdraw);
      socket.destroy();
      resolve(result);
    };
    const withdraw = () => give(undefined);
    // An engine that took the request and says nothing would say nothing to the CLI either: the probe
    // ends here, as the CLI's would, instead of asking again for another 15 s.
    const timer = setTimeout(
      () =>
        give({
          ok: false,
          reason: "timeout",
          command: `GET /info on ${path}`,
          stdout: "",
          stderr: "",
          durationMs: performance.now() - t0,
          message: "no answer",
        }),
      ENGINE_TIMEOUT_MS,
    );
    signal?.addEventListener("abort", withdraw);
    socket.on("connect", () => socket.write("GET /info HTTP/1.0\r\nHost: docker\r\n\r\n"));
    socket.on("data", (c: Buffer) => chunks.push(c));
    socket.on("error", withdraw);
    socket.on("end", () => {
      const text = Buffer.concat(chunks).toString("utf8");
      const split = text.indexOf("\r\n\r\n");
      if (!/^HTTP\/1\.[01] 200 /.test(text) || split < 0) return give(undefined);
      try {
        const info = JSON.parse(text.slice(split + 4)) as { DriverStatus?: unknown };
        give({ ok: true, stdout: `${JSON.stringify(info.DriverStatus ?? null)}\n`, stderr: "", durationMs: performance.now() - t0 });
      } catch {
        give(undefined);
      }
    });
  });
}

/** Whether program is an executable file in one of PATH's folders, where a spawn would find it. */
function onPath(program: string, env: Env): boolean {
  return (env.PATH ?? "").split(delimiter).some((dir) => {
    const file = join(dir || ".", program);
    try {
      accessSync(file, constants.X_OK);
      return statSync(file).isFile();
    } catch {
      return false;
    }
  });
}

/** early: engineInfoOverSocket's answer, when the caller started it before it knew the engine was needed. */
export async function probeEngine(cwd: string, env: Env, builder?: string, early?: Promise<RunResult | undefined>, signal?: AbortSignal): Promise<EngineFacts> {
  // The engine and the builder are asked at once: each docker CLI call costs a hundred ms or more.
  const docker = defaultDockerBuilder(env, builder);
  const [info, inspect] = await Promise.all([
    // The socket answers without the docker CLI, but everything after the probe runs it: a missing CLI
    // is the probe's to say, as the CLI's spawn failure.
    (early ?? engineInfoOverSocket(env, signal)).then((bySocket) =>
      bySocket && (!bySocket.ok || onPath("docker", env))
        ? bySocket
        : runCommand({ program: "docker", args: ["info", "--format", "{{json .DriverStatus}}"] }, { cwd, env, timeoutMs: ENGINE_TIMEOUT_MS, signal }),
    ),
    docker
      ? Promise.resolve({ ok: true as const, stdout: "Driver: docker\n", stderr: "", durationMs: 0 })
      : runCommand({ program: "docker", args: ["buildx", "inspect", ...(builder ? [builder] : [])] }, { cwd, env, timeoutMs: ENGINE_TIMEOUT_MS, signal }),
  ]);
  if (!info.ok) {
    const where = env.DOCKER_HOST ? `at ${env.DOCKER_HOST}` : env.DOCKER_CONTEXT ? `of context ${env.DOCKER_CONTEXT}` : "";
    const why =
      info.reason === "timeout"
        ? `did not answer within ${ENGINE_TIMEOUT_MS / 1000} s`
        : info.reason === "spawn"
          ? "cannot be asked: the docker CLI is not installed or not on PATH"
          : `is not reachable: ${info.stderr.trim().split("\n").pop() || info.message}`;
    return { reachable: false, buildx: false, multiPlatform: false, reason: `the docker engine ${where ? `${where} ` : ""}${why}` };
  }
  if (!inspect.ok) {
    // buildx missing, or only the builder the spec names?
    const version = await runCommand({ program: "docker", args: ["buildx", "version"] }, { cwd, env, timeoutMs: ENGINE_TIMEOUT_MS, signal });
    if (!version.ok) return { reachable: true, buildx: false, multiPlatform: false, reason: "docker buildx is not available" };
    const name = builder ?? "(the current builder)";
    return {
      reachable: true,
      buildx: true,
      multiPlatform: false,
      builderMissing: name,
      reason: `buildx builder ${name} does not exist: create it with docker buildx create --name ${builder ?? "NAME"} --use, or remove build.builder from the spec`,
    };
  }
  const driver = /^Driver:\s+(\S+)/m.exec(inspect.stdout)?.[1] ?? "unknown";
  const platforms = inspectPlatforms(inspect.stdout);
  if (driver !== "docker")
    return { reachable: true, buildx: true, multiPlatform: true, driver, platforms, reason: `builder driver ${driver} builds multi-platform images` };
  const containerdStore = info.stdout.includes("io.containerd.snapshotter");
  return containerdStore
    ? { reachable: true, buildx: true, multiPlatform: true, driver, reason: "docker driver with the containerd image store builds multi-platform images" }
    : {
        reachable: true,
        buildx: true,
        multiPlatform: false,
        driver,
        reason: "docker driver without the containerd image store cannot build several platforms at once",
      };
}
