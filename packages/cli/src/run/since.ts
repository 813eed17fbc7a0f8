// --since REF: only the images whose inputs changed since a commit, and their dependents.
import { realpathSync } from "node:fs";
import { join, relative } from "node:path";
import { compile, renderImages } from "@multiarch/compiler";
import type { Plan } from "@multiarch/plan";
import { loadSpec, type Spec } from "@multiarch/spec";
import { type Io, sayWait } from "../format.ts";
import { gitFacts } from "./git-facts.ts";

/**
 * --since REF: the images whose input hash differs from what REF's commit would produce (dependents
 * follow through the Merkle chain). REF is checked out beside the working tree, read, and removed.
 */
export async function changedSince(spec: Spec, ref: string, strategy: Plan["strategy"], io: Io): Promise<{ images: string[] } | { error: string }> {
  const { checkoutAt } = await import("@multiarch/executor");
  const co = await checkoutAt(spec.dir, ref, io.env);
  if (!co.ok) return { error: co.message };
  try {
    const now = await hashesOf(spec, strategy, io);
    const then = loadSpec(join(co.dir, relative(co.root, realpathSync.native(spec.file))), { env: io.env });
    // a spec that did not exist (or was broken) at REF: everything is new
    const before = then.ok ? await hashesOf(then.spec, strategy, io) : new Map<string, string>();
    return { images: spec.images.filter((i) => before.get(i.name) !== now.get(i.name)).map((i) => i.name) };
  } finally {
    await co.remove();
  }
}

async function hashesOf(spec: Spec, strategy: Plan["strategy"], io: Io): Promise<Map<string, string>> {
  const { gatherInputs } = await import("@multiarch/executor");
  const { git, problem } = await gitFacts(spec, io);
  const { rendered } = renderImages(spec, spec.images, { git, env: io.env });
  const { facts: inputs } = await gatherInputs(spec, spec.images, new Map(rendered.map((r) => [r.image.name, r.args])), io.env, { onWait: sayWait(io) });
  const r = compile(spec, { git, env: io.env, inputs, ...(problem ? { gitProblem: problem } : {}) }, { strategy });
  return new Map(r.ok ? r.compiled.plan.images.map((i) => [i.name, i.inputHash ?? ""]) : []);
}
