// doctor's facts: one gatherer that asks everything at once (docker, buildx, the kernel, binfmt_misc,
// QEMU, the builder, each registry, each base image) and never judges; checks.ts does, purely.
import { existsSync, readFileSync } from "node:fs";
import { release } from "node:os";
import { join } from "node:path";
import {
  type BinfmtHandler,
  gatherInputs,
  probeEngine,
  RegistryClient,
  type RegistryWait,
  dockerConfigFile,
  specCredentials,
  readDockerConfig,
  readHandler,
  runCommand,
} from "@multiarch/executor";
import { nativeArchs, platformParts, qemuHandler } from "@multiarch/plan";
import type { Spec } from "@multiarch/spec";
import type { DoctorFacts } from "./facts.ts";

export type Env = Readonly<Record<string, string | undefined>>;

function readBinfmt(dir: string, confDir: string, needed: readonly string[]): DoctorFacts["binfmt"] {
  const mounted = existsSync(join(dir, "register"));
  const handlers: Record<string, BinfmtHandler | null> = {};
  const available: Record<string, string> = {};
  for (const name of needed) {
    try {
      const line = readFileSync(join(confDir, `${name}.conf`), "utf8").split("\n")[0] ?? "";
      if (line.split(":")[1] === name) available[name] = line;
    } catch {}
  }
  for (const name of needed) handlers[name] = readHandler(dir, name);
  return { dir, mounted, handlers, available };
}

export const firstLine = (s: string) => s.trim().split("\n")[0] ?? "";

/** Everything doctor judges, asked in parallel. `deep`: also each registry and each base image (network). */
export async function gatherDoctorFacts(
  spec: Spec,
  env: Env,
  opts: {
    binfmtDir?: string;
    confDir?: string;
    deep?: boolean;
    args?: ReadonlyMap<string, Record<string, string>>;
    signal?: AbortSignal;
    /** A registry request with no answer for a while: said while doctor waits on it. */
    onWait?: (wait: RegistryWait) => void;
  } = {},
): Promise<DoctorFacts> {
  const cwd = spec.dir;
  const signal = opts.signal;
  const run = (program: string, args: string[]) => runCommand({ program, args }, { cwd, env, timeoutMs: 15_000, ...(signal ? { signal } : {}) });
  const dir = opts.binfmtDir ?? env.MULTIARCH_BINFMT_DIR ?? "/proc/sys/fs/binfmt_misc";
  // only the handlers the spec's platforms need: each probe is a process
  const native = nativeArchs(process.arch);
  const needed = [
    ...new Set(
      spec.images
        .flatMap((i) =>
          i.platforms
            .map((p) => platformParts(p).arch)
            .filter((arch) => !native.includes(arch))
            .map(qemuHandler),
        )
        .filter((h): h is string => h !== undefined),
    ),
  ];
  const binfmt = readBinfmt(dir, opts.confDir ?? "/usr/lib/binfmt.d", needed);
  const foreign = Object.keys(binfmt.handlers);
  const { byHost: credentials, state: credentialState } = specCredentials(spec, env);
  const client = new RegistryClient({
    env,
    insecureHosts: spec.registries.filter((r) => r.insecure).map((r) => r.host),
    credentials,
    timeoutMs: 5_000,
    ...(opts.onWait ? { onWait: opts.onWait } : {}),
    ...(signal ? { signal } : {}),
  });
  const [info, engine, updateBinfmts, qemu, registries, inputs] = await Promise.all([
    // one CLI call for the client's and engine's versions and the buildx plugin's (each call costs ~0.2 s)
    run("docker", ["info", "--format", "{{json .}}"]),
    probeEngine(cwd, env, spec.build.builder, undefined, signal),
    run("update-binfmts", ["--version"]),
    Promise.all(
      foreign.map(async (h) => {
        const r = await run(h, ["--version"]);
        return [h, r.ok ? firstLine(r.stdout) : undefined] as const;
      }),
    ),
    opts.deep === false
      ? Promise.resolve([])
      : Promise.all(
          spec.registries.map(async (r) => [r.name, { host: r.host, ...(await client.ping(r.host)), credentials: credentialState[r.name]! }] as const),
        ),
    opts.deep === false
      ? Promise.resolve(undefined)
      : gatherInputs(spec, spec.images, opts.args ?? new Map(), env, opts.onWait ? { onWait: opts.onWait } : {}).then(
          (i) => ({ inputs: i.facts }),
          (e: Error) => ({ error: e.message }),
        ),
  ]);
  const docker: DoctorFacts["docker"] = {};
  let buildx: string | undefined;
  if (!info.ok && info.reason === "spawn") docker.missing = true;
  try {
    const v = JSON.parse(info.stdout) as { ClientInfo?: { Version?: string; Plugins?: { Name: string; Version?: string }[] }; ServerVersion?: string };
    if (v.ClientInfo?.Version) docker.client = v.ClientInfo.Version;
    if (v.ServerVersion) docker.server = v.ServerVersion;
    const plugin = v.ClientInfo?.Plugins?.find((p) => p.Name === "buildx");
    if (plugin) buildx = `buildx ${plugin.Version ?? ""}`.trim();
  } catch {}
  if (!docker.server && !docker.missing) docker.error = firstLine(info.stderr) || (info.ok ? "no engine answered" : info.message);
  const experimental = env.DOCKER_CLI_EXPERIMENTAL === "enabled" || readDockerConfig(env).experimental === "enabled";
  const facts: DoctorFacts = {
    hostArch: process.arch,
    target: env.DOCKER_HOST ?? (env.DOCKER_CONTEXT ? `context ${env.DOCKER_CONTEXT}` : "unix:///var/run/docker.sock"),
    docker,
    experimental,
    dockerConfig: dockerConfigFile(env),
    kernel: release(),
    binfmt,
    qemu: Object.fromEntries(qemu.filter((q): q is readonly [string, string] => q[1] !== undefined)),
    engine,
    registries: Object.fromEntries(registries),
    dockerfiles: Object.fromEntries(
      spec.images.flatMap((img) => {
        try {
          return [[img.name, readFileSync(join(spec.dir, img.context, img.dockerfile), "utf8")]];
        } catch {
          return [];
        }
      }),
    ),
  };
  if (buildx) facts.buildx = buildx;
  if (updateBinfmts.ok) facts.updateBinfmts = firstLine(updateBinfmts.stdout || updateBinfmts.stderr);

  if (spec.sign) {
    const cosign = await run("cosign", ["version"]);
    const version = /GitVersion:\s*(\S+)/.exec(cosign.stdout)?.[1];
    facts.cosign = cosign.ok ? { version: version ?? firstLine(cosign.stdout) } : { error: cosign.message };
  }
  if (inputs && "inputs" in inputs) facts.inputs = inputs.inputs;
  else if (inputs && "error" in inputs) facts.inputsError = inputs.error;
  return facts;
}
