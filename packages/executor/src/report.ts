// The run's report: per step what happened (execute.ts), and from that per image a status that only
// its own steps decide, and per user tag whether it moved. Pure functions over the step outcomes.
import type { Plan, Step } from "@multiarch/plan";
import type { StepOutcome } from "./execute.ts";
import { repoOf } from "./digest-push.ts";

export interface ImageSummary {
  name: string;
  platforms: string[];
  digest?: string;
  /** The user tags it publishes; for an image this run does not publish, the refs it pushed. */
  tags: string[];
  durationMs: number;
  /**
   * Its own steps decide it, not other images': published / unchanged (user tags hold it), written (OCI
   * archive), loaded (--load), verified (pushed and checked, not published), built (not verified:
   * a shard's push, a dependency built inside bake), failed, not-run.
   */
  status: "published" | "unchanged" | "up-to-date" | "written" | "loaded" | "verified" | "built" | "failed" | "not-run";
  /** Why its user tags did not move in this run, when they did not. */
  notPublished?: string;
}

/** One user tag and what this run did to it: moved to `digest`, already held it, or left where it was. */
export interface TagOutcome {
  image: string;
  ref: string;
  status: "moved" | "unchanged" | "not-moved";
  digest?: string;
}

/** A ref this run pushed to a registry, and the digest it pushed there. */
export interface StagedRef {
  image?: string;
  ref: string;
  digest: string;
}

export interface Report {
  ok: boolean;
  /** 0 success, 2 a build/push/login/test failed, 3 verification failed, 130 interrupted. */
  exitCode: 0 | 2 | 3 | 130;
  durationMs: number;
  steps: StepOutcome[];
  images: ImageSummary[];
  tags: TagOutcome[];
  staged: StagedRef[];
}

/** Per image, from its own steps (and the shared bake step, which builds every image at once). */
export function summarize(plan: Plan, steps: StepOutcome[], built: ReadonlyMap<string, string>): ImageSummary[] {
  const bakeSteps = steps.filter((s) => s.kind === "bake" && !s.image);
  const shared = bakeSteps.filter((s) => s.status !== "not-run");
  return plan.images.map((img) => {
    const mine = steps.filter((s) => s.image === img.name);
    const ran = (kind: Step["kind"]) => mine.filter((s) => s.kind === kind);
    const ok = (list: StepOutcome[]) => list.length > 0 && list.every((s) => s.status === "ok" || s.status === "unchanged");
    const publishes = ran("publish");
    const unchanged = publishes.length > 0 && publishes.every((s) => s.status === "unchanged");
    const status: ImageSummary["status"] = img.upToDate
      ? "up-to-date"
      : mine.some((s) => s.status === "failed") || shared.some((s) => s.status === "failed")
        ? "failed"
        : unchanged
          ? "unchanged"
          : ok(publishes)
            ? "published"
            : ok(ran("load"))
              ? "loaded"
              : img.archive && ok(ran("verify"))
                ? "written"
                : ok(ran("verify"))
                  ? "verified"
                  : [...mine, ...shared].some((s) => s.status === "ok")
                    ? "built"
                    : "not-run";
    const stagingDigest = img.refs.map((r) => built.get(r.staging)).find(Boolean);
    const digest =
      img.upToDate?.digest ??
      (unchanged ? publishes.find((s) => s.digest)?.digest : undefined) ??
      mine.find((s) => s.check?.digest)?.check?.digest ??
      stagingDigest;
    // Wall time from its first step's start to its last step's end (steps overlap).
    const spans = [...mine, ...shared].filter((s) => s.status !== "not-run");
    const durationMs = spans.length ? Math.max(...spans.map((s) => s.startMs + s.durationMs)) - Math.min(...spans.map((s) => s.startMs)) : 0;
    // An image this run does not publish exists where it pushed it, by digest: show those, not user tags.
    const pushedRefs = [...built.keys()]
      .filter((ref) => img.refs.some((r) => ref === r.staging || ref.startsWith(`${r.staging}-`)))
      .map((ref) => `${repoOf(ref)}@${built.get(ref)}`);
    return {
      name: img.name,
      platforms: img.platforms,
      ...(digest ? { digest } : {}),
      tags: img.archive ? [img.archive] : img.notPublished ? pushedRefs : img.refs.flatMap((r) => r.tags.map((t) => `${r.name}:${t}`)),
      durationMs,
      status,
      ...(img.notPublished ? { notPublished: img.notPublished } : {}),
    };
  });
}

/** Per user tag: moved (to which digest), unchanged (already held it), or not moved. */
export function tagOutcomes(plan: Plan, outcomes: ReadonlyMap<string, StepOutcome>, moved: ReadonlyMap<string, string>): TagOutcome[] {
  return plan.stages.flatMap((st) =>
    st.steps
      .filter((s) => s.kind === "publish")
      .flatMap((s) => {
        const o = outcomes.get(s.id);
        return s.commands
          .filter((c) => c.moves)
          .map((c): TagOutcome => {
            const ref = c.moves!;
            const image = s.image ?? "";
            if (o?.status === "unchanged") return { image, ref, status: "unchanged", ...(o.digest ? { digest: o.digest } : {}) };
            const d = moved.get(ref);
            return d !== undefined ? { image, ref, status: "moved", ...(d ? { digest: d } : {}) } : { image, ref, status: "not-moved" };
          });
      }),
  );
}
