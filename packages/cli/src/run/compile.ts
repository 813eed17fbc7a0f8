// The options that shape a plan (PlanShape), turned into the compiler's request: the strategy asked
// for, this machine's platform for --load, and one compile of the spec with the facts gathered.
import { arch } from "node:os";
import { relative, sep } from "node:path";
import { type CompileOptions, type CompileResult, compile, type Facts, type Requested } from "@multiarch/compiler";
import type { Plan } from "@multiarch/plan";
import type { Spec } from "@multiarch/spec";
import type { Io } from "../format.ts";
import type { PlanShape } from "../options.ts";
import { gitFacts, usesGit } from "./git-facts.ts";

const STRATEGIES = ["auto", "bake", "manifest"] as const;

export function requestedStrategy(shape: Pick<PlanShape, "strategy">, spec: Spec): Requested | { error: string } {
  const s = shape.strategy ?? spec.build.strategy;
  return (STRATEGIES as readonly unknown[]).includes(s) ? (s as Requested) : { error: `--strategy must be one of ${STRATEGIES.join(", ")}` };
}

/** This machine's platform, as docker names it: what --load pulls. */
export function hostPlatform(nodeArch: string = arch()): string {
  const map: Record<string, string> = {
    x64: "linux/amd64",
    arm64: "linux/arm64",
    arm: "linux/arm/v7",
    ia32: "linux/386",
    ppc64: "linux/ppc64le",
    s390x: "linux/s390x",
    riscv64: "linux/riscv64",
    loong64: "linux/loong64",
  };
  return map[nodeArch] ?? `linux/${nodeArch}`;
}

/** Which job compiles: validate asks git only where a template reads it; the others always (staging names, SOURCE_DATE_EPOCH). */
export type CompileJob = "validate" | "plan" | "apply" | "merge";

/** One compile of the spec with the facts gathered, for plan, apply, shards and merge. */
export async function compileWith(...request: Parameters<typeof compileRequest>): Promise<CompileResult> {
  return compile(request[0], ...(await compileRequest(...request)));
}

/** What compile is asked: the facts gathered (git) and the options; validate checks with it without planning. */
export async function compileRequest(
  spec: Spec,
  shape: PlanShape,
  io: Io,
  strategy: Plan["strategy"],
  outAbs: string,
  job: CompileJob,
  extra: Partial<Facts> = {},
): Promise<[Facts, CompileOptions]> {
  const facts = job === "validate" && !usesGit(spec) ? { git: undefined } : await gitFacts(spec, io);
  const { image, group, platform, set } = shape;
  return [
    { git: facts.git, env: io.env, ...(facts.problem ? { gitProblem: facts.problem } : {}), ...extra },
    {
      strategy,
      outDir: posixPath(relative(spec.dir, outAbs)) || ".",
      specFromOut: posixPath(relative(outAbs, spec.dir)) || ".",
      ...(image ? { images: image } : {}),
      ...(group ? { groups: group } : {}),
      ...(platform ? { platforms: platform } : {}),
      ...(shape.load ? { load: true, hostPlatform: hostPlatform() } : {}),
      ...(shape["no-publish"] ? { noPublish: true } : {}),
      ...(shape["no-push"] ? { noPush: true } : {}),
      ...(shape.rebuild ? { rebuild: true } : {}),
      ...(set ? { sets: set } : {}),
      ociLabels: spec.build.ociLabels,
    },
  ];
}

const posixPath = (p: string) => p.split(sep).join("/");
