import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { execa } from "execa";

export const ROOT = resolve(import.meta.dirname, "../..");
export const BIN = join(ROOT, "packages/cli/bin/multiarch.js");
const ENV_FILE = process.env.MULTIARCH_ENV_DIR ? join(process.env.MULTIARCH_ENV_DIR, "env") : "/run/multiarch-env/env";

export interface TestEnv {
  registry: string;
  authRegistry: string;
  authUser: string;
  authPassword: string;
  baseImage: string;
  /** DOCKER_HOST of the second, independent engine ("another machine"). */
  docker2: string;
  /** The registry with token authentication, its token service's request log, and a base anyone may pull. */
  tokenRegistry: string;
  tokenLog: string;
  publicBaseImage: string;
}

/**
 * The environment from test/env/up.sh. Missing: under CI=true that is a failure (CI must provision it);
 * on a developer machine the suite says why it is skipped.
 */
export function testEnv(): TestEnv | undefined {
  if (!existsSync(ENV_FILE)) {
    const msg = `no test environment (${ENV_FILE} missing): run 'bash test/env/up.sh' as root first`;
    if (process.env.CI === "true") throw new Error(msg);
    console.warn(`SKIPPED e2e: ${msg}`);
    return undefined;
  }
  const vars = Object.fromEntries(
    readFileSync(ENV_FILE, "utf8")
      .split("\n")
      .filter((l) => l.includes("="))
      .map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)]),
  );
  return {
    registry: vars.MULTIARCH_E2E_REGISTRY!,
    authRegistry: vars.MULTIARCH_E2E_AUTH_REGISTRY!,
    authUser: vars.MULTIARCH_E2E_AUTH_USER!,
    authPassword: readFileSync(vars.MULTIARCH_E2E_AUTH_PASSWORD_FILE!, "utf8").trim(),
    baseImage: vars.MULTIARCH_E2E_BASE_IMAGE!,
    docker2: vars.MULTIARCH_E2E_DOCKER2!,
    tokenRegistry: vars.MULTIARCH_E2E_TOKEN_REGISTRY!,
    tokenLog: vars.MULTIARCH_E2E_TOKEN_LOG!,
    publicBaseImage: vars.MULTIARCH_E2E_PUBLIC_BASE_IMAGE!,
  };
}

export const env = testEnv();

/** Runs the built CLI as a user would. */
export async function cli(args: string[], opts: { cwd?: string; env?: Record<string, string> } = {}) {
  const r = await execa(process.execPath, [BIN, ...args], { cwd: opts.cwd ?? ROOT, env: { NO_COLOR: "1", ...opts.env }, reject: false, stdin: "ignore" });
  return { exitCode: r.exitCode ?? -1, stdout: String(r.stdout), stderr: String(r.stderr) };
}

export async function docker(args: string[], opts: { env?: Record<string, string>; cwd?: string } = {}) {
  const r = await execa("docker", args, { reject: false, stdin: "ignore", env: opts.env ?? {}, cwd: opts.cwd ?? ROOT });
  return { exitCode: r.exitCode ?? -1, stdout: String(r.stdout), stderr: String(r.stderr) };
}

/** A throwaway repository (has .git) with the given files; returns its folder. */
export function repo(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), "multiarch-e2e-"));
  mkdirSync(join(dir, ".git"));
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(join(dir, path, ".."), { recursive: true });
    writeFileSync(join(dir, path), content);
  }
  return dir;
}

/** A one-image project (linux/amd64 + linux/arm64, tags {{version}} and latest) in a fresh repository. */
export function project(registry: string, ns: string, dockerfile: string, extra = ""): string {
  return repo({
    "multiarch.yaml": `version: 1
platforms: [linux/amd64, linux/arm64]
registries:
  local: { url: "${registry}/${ns}", insecure: true }
variables:
  version: { env: VERSION, default: "1.0" }
images:
  app:
    context: app
    tags: ["{{version}}", latest]
${extra}`,
    "app/Dockerfile": dockerfile,
  });
}

/**
 * A copy of an example, so tests never write into the checkout. With `ns`, its registry's namespace
 * (127.0.0.1:5000/NAME) becomes that one: a test that reads a shared tag such as `latest` then owns it
 * while other files run beside it.
 */
export function example(name: string, ns?: string): string {
  const dir = mkdtempSync(join(tmpdir(), `multiarch-${name}-`));
  cpSync(join(ROOT, "examples", name), dir, { recursive: true, filter: (src) => !src.includes(".multiarch") });
  mkdirSync(join(dir, ".git"));
  if (ns) {
    const spec = join(dir, "multiarch.yaml");
    const text = readFileSync(spec, "utf8");
    const renamed = text.replaceAll(`127.0.0.1:5000/${name}`, `127.0.0.1:5000/${ns}`);
    if (renamed === text) throw new Error(`examples/${name} names no 127.0.0.1:5000/${name} registry to rename`);
    writeFileSync(spec, renamed);
  }
  return dir;
}

/** A namespace no other run uses, so tests never see each other's tags. */
export const namespace = (prefix: string) => `${prefix}-${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;

export async function platformsOf(ref: string): Promise<{ digest: string; platforms: string[] }> {
  const r = await docker(["buildx", "imagetools", "inspect", ref, "--format", "{{json .Manifest}}"]);
  if (r.exitCode !== 0) throw new Error(`inspect ${ref}: ${r.stderr}`);
  const m = JSON.parse(r.stdout) as { digest: string; manifests?: { platform?: { os: string; architecture: string; variant?: string } }[] };
  const platforms = (m.manifests ?? [])
    .map((d) => d.platform)
    .filter((p): p is NonNullable<typeof p> => p !== undefined && p.os !== "unknown")
    .map((p) => [p.os, p.architecture, p.variant].filter(Boolean).join("/"));
  return { digest: m.digest, platforms: platforms.sort() };
}

/** apply --json's report, with the plan's strategy beside it, as one object. */
export function reportOf(stdout: string) {
  const doc = JSON.parse(stdout);
  return { ...doc, ...doc.report };
}

/** GET /v2/NAME/tags/list of the test registry: the repository's tags, sorted ([] when it has none or does not exist). */
export async function tagsOf(repository: string): Promise<string[]> {
  const res = await fetch(`http://${env!.registry}/v2/${repository}/tags/list`);
  if (res.status === 404) return [];
  const body = (await res.json()) as { tags?: string[] | null };
  return [...(body.tags ?? [])].sort();
}

/** Waits until `cond` holds (checked every 50 ms) instead of a fixed sleep; fails after `ms`. */
export async function until(cond: () => boolean, what: string, ms = 60_000): Promise<void> {
  for (const end = Date.now() + ms; !cond(); ) {
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Every command line on the machine, sampled every 10 ms until the returned function stops it. */
export function watchArgv(): () => string[] {
  const seen = new Set<string>();
  let on = true;
  const tick = () => {
    for (const pid of readdirSync("/proc").filter((p) => /^\d+$/.test(p))) {
      try {
        seen.add(readFileSync(`/proc/${pid}/cmdline`, "utf8").replaceAll("\0", " "));
      } catch {}
    }
    if (on) setTimeout(tick, 10);
  };
  tick();
  return () => {
    on = false;
    return [...seen];
  };
}

/** The CLI packed as npm publishes it: the tarball's path (in a fresh folder). */
export async function packCli(): Promise<string> {
  const out = mkdtempSync(join(tmpdir(), "multiarch-pack-"));
  await execa("pnpm", ["pack", "--pack-destination", out], { cwd: join(ROOT, "packages/cli") });
  return join(out, readdirSync(out).find((f) => f.endsWith(".tgz"))!);
}

/** A tool the test package installs (test/package.json devDependencies). */
export const testTool = (name: string) => join(ROOT, "test/node_modules/.bin", name);
