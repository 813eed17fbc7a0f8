// Which strategy a plan uses, from what was asked and what the engine can do. Pure: facts in, decision
// out; the plan records the decision, the reason and the facts it rested on.
import type { EngineFacts, Strategy } from "@multiarch/plan";

export type Requested = Strategy["requested"];

/**
 * auto becomes bake or manifest by what the engine can do; without buildx the manifest strategy uses the
 * legacy builder; bake on buildx's docker driver writes OCI layouts that apply pushes by digest. `engine` is undefined when none was asked.
 */
export function resolveStrategy(requested: Requested, fromFlag: boolean, engine: EngineFacts | undefined): Strategy {
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
    // layouts work on every driver; only a builder known to push by digest itself (not the docker driver) goes without
    ...(chosen === "bake" && (!engine?.driver || engine.driver === "docker") ? { ociLayout: true } : {}),
    ...(engine?.reachable ? { engine } : {}),
  };
}
