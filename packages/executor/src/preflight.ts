// Whether this engine can run a plan, or why not. Pure: the plan and the facts gathered now in, one
// reason out. Checked on every apply, so a plan made on one machine and run on another says what differs.
import type { EngineFacts, Plan } from "@multiarch/plan";
import type { EmulationProblem } from "./emulation.ts";

export function preflight(plan: Pick<Plan, "strategy" | "images">, engine: EngineFacts, emulation: readonly EmulationProblem[] = []): string | undefined {
  const s = plan.strategy;
  const multi = plan.images.some((i) => i.platforms.length > 1);
  const needsBuildx = s.chosen === "bake" || !s.legacyBuilder;
  const changed = s.engine ? engineChange(s.engine, engine) : undefined;
  const fix = changed ? `planned where ${changed}; plan again on this machine` : "plan again on this machine";
  if (!engine.reachable || engine.builderMissing) return engine.reason;
  if (needsBuildx && !engine.buildx) return `this plan needs docker buildx, which the engine lacks; ${s.chosen === "bake" ? "use --strategy manifest" : fix}`;
  if (s.chosen === "bake" && !s.ociLayout && engine.driver === "docker")
    return `this plan lets bake push by digest, which buildx's docker driver cannot (it was made for ${s.engine?.driver ?? "another"} builder); ${fix}`;
  if (s.chosen === "bake" && multi && !engine.multiPlatform)
    return `${engine.reason}; use --strategy manifest, enable the containerd image store, or create a docker-container builder${changed ? ` (${fix})` : ""}`;
  if (emulation.length > 0) {
    const lines = emulation.map(
      (e) =>
        `  ${e.platform}: binfmt_misc handler ${e.handler} is ${e.problem === "missing" ? "not registered" : e.problem === "disabled" ? "disabled" : "registered without the F (fix-binary) flag"}`,
    );
    return `this machine cannot run the build steps of every planned platform:\n${lines.join("\n")}\n  hint: install qemu-user-static and register its handlers with the F flag (test/env/up.sh does), or run docker run --privileged --rm tonistiigi/binfmt --install all`;
  }
  return undefined;
}

/** What differs between the engine a plan was made on and this one, in words; undefined when nothing does. */
export function engineChange(then: EngineFacts, now: EngineFacts): string | undefined {
  const diffs: string[] = [];
  if (then.driver !== now.driver) diffs.push(`the builder driver was ${then.driver ?? "none"} (now ${now.driver ?? "none"})`);
  if (then.buildx !== now.buildx) diffs.push(`buildx was ${then.buildx ? "present" : "missing"} (now ${now.buildx ? "present" : "missing"})`);
  if (then.multiPlatform !== now.multiPlatform)
    diffs.push(`multi-platform builds were ${then.multiPlatform ? "possible" : "impossible"} (now ${now.multiPlatform ? "possible" : "impossible"})`);
  return diffs.length ? diffs.join(", ") : undefined;
}
