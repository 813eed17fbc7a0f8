// Git facts for templates and staging names. Always asked by plan and apply (a staging name includes the
// commit, so two commits never share one); an error only where a template uses git.* and none are there.
import type { GitFacts } from "@multiarch/plan";
import type { Spec } from "@multiarch/spec";
import type { Io } from "../format.ts";

export type GitResult = { git: GitFacts | undefined; problem?: string };
const gitCache = new WeakMap<Io, Map<string, Promise<GitResult>>>();

/** Git facts of the spec's folder, asked once per command (which may compile more than once). */
export function gitFacts(spec: Spec, io: Io): Promise<GitResult> {
  const mine = gitCache.get(io) ?? new Map<string, Promise<GitResult>>();
  gitCache.set(io, mine);
  let facts = mine.get(spec.dir);
  if (!facts) {
    facts = import("@multiarch/executor").then(async ({ probeGit }) => {
      const g = await probeGit(spec.dir, io.env);
      return "unavailable" in g ? { git: undefined, problem: g.unavailable } : { git: g };
    });
    mine.set(spec.dir, facts);
  }
  return facts;
}

/** Whether any template of the spec reads git.* (validate asks git only then). */
export const usesGit = (spec: Spec): boolean =>
  spec.images.some((i) =>
    [...i.tags, ...i.args.map((a) => a.value), ...i.labels.map((a) => a.value), ...i.annotations.map((a) => a.value)].some((t) => t.uses.includes("git")),
  );
