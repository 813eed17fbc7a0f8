// Shared by the commands: find and load the spec, decide the output folder, gather facts, compile.
import { mkdirSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join, relative, resolve, sep } from "node:path";
import { type CompileResult, compile, type Plan } from "@multiarch/compiler";
import type { EngineFacts } from "@multiarch/executor";
import { diag, findSpec, loadSpec, SPEC_FILE_NAME, type Spec, type SpecResult } from "@multiarch/spec";
import type { Values } from "../cli.ts";
import type { Io } from "../format.ts";

export function loadFromFlags(values: Values, io: Io): SpecResult {
  const file = typeof values.file === "string" ? resolve(io.cwd, values.file) : findSpec(io.cwd);
  if (!file) {
    return { ok: false, errors: [diag("spec-not-found", { file: join(io.cwd, SPEC_FILE_NAME), line: 0, col: 0 }, `no ${SPEC_FILE_NAME} in ${io.cwd} or any folder above`, { hint: "pass -f path/to/multiarch.yaml" })], warnings: [] };
  }
  return loadSpec(file);
}

/** Output folder as given (relative to cwd) or .multiarch next to the spec; returned absolute. */
export const outDirOf = (values: Values, io: Io, spec: Spec): string => (typeof values.out === "string" ? resolve(io.cwd, values.out) : join(spec.dir, ".multiarch"));

const STRATEGIES = ["auto", "bake", "manifest"] as const;
export type Requested = (typeof STRATEGIES)[number];

export function requestedStrategy(values: Values, spec: Spec): Requested | { error: string } {
  const s = values.strategy ?? spec.build.strategy;
  return (STRATEGIES as readonly unknown[]).includes(s) ? (s as Requested) : { error: `--strategy must be one of ${STRATEGIES.join(", ")}` };
}

export async function compileWith(spec: Spec, values: Values, io: Io, strategy: Plan["strategy"], outAbs: string): Promise<CompileResult> {
  const { probeGit } = await import("@multiarch/executor");
  const usesGit = spec.images.some((i) => [...i.tags, ...i.args.map((a) => a.value), ...i.labels.map((a) => a.value), ...i.annotations.map((a) => a.value)].some((t) => t.uses.includes("git")));
  const git = usesGit ? await probeGit(spec.dir, io.env) : undefined;
  const list = (v: unknown) => (Array.isArray(v) ? (v as string[]) : undefined);
  const images = list(values.image);
  const platforms = list(values.platform);
  return compile(spec, { git, env: io.env }, {
    strategy,
    outDir: relative(spec.dir, outAbs).split(sep).join("/") || ".",
    ...(images ? { images } : {}),
    ...(platforms ? { platforms } : {}),
    ...(values.load ? { load: true } : {}),
  });
}

/** Writes the artifacts; plan files of platforms no longer planned are removed, so DIR is exact. */
export function writeArtifacts(outAbs: string, files: Record<string, string>, archives: readonly string[] = []): string[] {
  mkdirSync(join(outAbs, "plans"), { recursive: true });
  // buildx (even --print) wants an archive's folder to exist.
  for (const a of archives) mkdirSync(dirname(a), { recursive: true });
  for (const old of readdirSync(join(outAbs, "plans"))) {
    if (!files[`plans/${old}`]) rmSync(join(outAbs, "plans", old), { force: true });
  }
  if (!files["docker-bake.publish.json"]) rmSync(join(outAbs, "docker-bake.publish.json"), { force: true });
  for (const [rel, content] of Object.entries(files)) {
    mkdirSync(dirname(join(outAbs, rel)), { recursive: true });
    writeFileSync(join(outAbs, rel), content);
  }
  return Object.keys(files).map((f) => join(outAbs, f));
}

/**
 * auto becomes bake or manifest by what the engine can do; without buildx the manifest strategy uses the
 * legacy builder. The plan records the choice and why. `engine` is undefined when none was asked.
 */
export function resolveStrategy(requested: Requested, fromFlag: boolean, engine: EngineFacts | undefined): Plan["strategy"] {
  const legacy = engine?.reachable === true && !engine.buildx;
  const why = (reason: string) => (legacy ? `${reason}; no docker buildx: legacy builder` : reason);
  const chosen = requested !== "auto" ? requested : !engine?.reachable || engine.multiPlatform ? "bake" : "manifest";
  const reason =
    requested !== "auto"
      ? why(fromFlag ? "chosen with --strategy" : "build.strategy in the spec")
      : engine?.reachable
        ? why(engine.reason)
        : `${engine?.reason ?? "engine not asked"}: bake assumed, apply decides again`;
  return {
    requested,
    chosen,
    reason,
    ...(legacy && chosen === "manifest" ? { legacyBuilder: true } : {}),
    ...(chosen === "bake" && engine?.driver === "docker" ? { pushWithDocker: true } : {}),
  };
}

export const archivesOf = (plan: Plan, specDir: string): string[] => plan.images.flatMap((i) => (i.archive ? [resolve(specDir, i.archive)] : []));
