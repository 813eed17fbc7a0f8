// The run's report: per step what happened (execute.ts), and from that per image a status that only
// its own steps decide, and per user tag whether it moved. Pure functions over the step outcomes.
import { byDigest, type Plan, type Step } from "@multiarch/plan";
import type { BakeTargetResult } from "./bake-log.ts";
import type { PlatformCheck } from "./verify.ts";

/** What one step of the run did (execute.ts fills it in). */
export interface StepOutcome {
  id: string;
  kind: Step["kind"];
  image?: string;
  platform?: string;
  registry?: string;
  status: "ok" | "failed" | "skipped" | "unchanged" | "not-run";
  /** skipped: why (its image, or one it builds FROM, failed). */
  reason?: string;
  /** When the step started, in ms since the run started. */
  startMs: number;
  durationMs: number;
  /** publish, unchanged: the index the user tags already hold. */
  digest?: string;
  attempts: number;
  error?: string;
  /** Last lines of the failing command's stderr, redacted. */
  stderrTail?: string;
  check?: PlatformCheck;
  /** verify: the registry could not be read (network, HTTP 5xx, 401): the step failed, no check did. */
  unreadable?: true;
  output?: string;
  /** bake: what it did to each target (from BuildKit's log when it failed). */
  targets?: BakeTargetResult[];
  /** bake under --continue: each run of bake, the first with every target, each later one without the failed ones. */
  rounds?: { targets: string[]; ok: boolean; durationMs: number }[];
}

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
   * a shard's push, a dependency built inside bake), failed (its own build, push, check or test),
   * skipped (an image it builds FROM failed), cancelled (bake stopped it when another target failed),
   * not-run (the run stopped before it).
   */
  status: "published" | "unchanged" | "up-to-date" | "written" | "loaded" | "verified" | "built" | "failed" | "skipped" | "cancelled" | "not-run";
  /** Why its user tags did not move in this run, when they did not. */
  notPublished?: string;
  /** failed: the error (for a bake, what BuildKit says of this target: the instruction, its Dockerfile line); skipped, cancelled, not-run: why. */
  reason?: string;
}

/** One user tag and what this run did to it: moved to `digest`, already held it, or left where it was. */
export interface TagOutcome {
  image: string;
  ref: string;
  status: "moved" | "unchanged" | "not-moved";
  digest?: string;
  /** moved: what it held just before this run moved it (null: no such tag); absent when it was not read. */
  previous?: string | null;
  /** moved: what it held when the run started, given only when that was not `previous` (someone else moved it meanwhile). */
  heldAtStart?: string | null;
}

/** What a tag this run moved held before: see TagOutcome's `previous` and `heldAtStart`. */
export type Replaced = Pick<TagOutcome, "previous" | "heldAtStart">;

/** What this run pushed to a registry: name@digest, and the digest. */
export interface StagedRef {
  image?: string;
  ref: string;
  digest: string;
  /** The plan's key it is recorded under (a ref's `staging`, "-ARCH" for a per-arch image): a name, not a tag. */
  key: string;
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

/** What the bake step that builds `image` did to it, when it names its targets. */
const targetOf = (bakes: readonly StepOutcome[], image: string) => {
  for (const s of bakes) {
    const t = s.targets?.find((x) => x.target === image);
    if (t) return { step: s, ...t };
  }
  return undefined;
};

/** Why an image failed by its own steps (or its bake target), if it did. */
function ownFailure(image: string, mine: readonly StepOutcome[], bakes: readonly StepOutcome[]): string | undefined {
  const target = targetOf(bakes, image);
  if (target?.status === "failed") return target.error ?? target.step.error ?? "bake failed";
  // a bake that says nothing per target (a plan written before it could) fails all it builds
  const own = mine.filter((s) => s.status === "failed");
  const failed = own.length ? own : bakes.filter((s) => s.status === "failed" && !s.targets).slice(0, 1);
  if (!failed.length) return undefined;
  // each failed step's own words (a test failing on two platforms says both); what the tool said beats
  // the command line it ran, and its exit code stays (a test's output alone reads as a pass)
  return failed
    .map((f) => {
      const exit = /exit code:? (\d+)\s*$/.exec(f.error ?? "")?.[1];
      return f.stderrTail ? `${f.id} failed${exit ? ` (exit code ${exit})` : ""}:\n${f.stderrTail}` : `${f.id}: ${f.error ?? "failed"}`;
    })
    .join("\n");
}

/** Per image, from its own steps (and the shared bake step, which builds every image at once). */
/** `interrupted`: the run was stopped (SIGINT, SIGTERM): what failed then was cut off, not broken. */
export function summarize(plan: Plan, steps: StepOutcome[], built: ReadonlyMap<string, string>, interrupted = false): ImageSummary[] {
  const shared = steps.filter((s) => s.kind === "bake" && !s.image && s.status !== "not-run");
  const failures = new Map(
    plan.images.flatMap((img) => {
      const why = img.upToDate
        ? undefined
        : ownFailure(
            img.name,
            steps.filter((s) => s.image === img.name),
            shared,
          );
      return why ? [[img.name, why] as const] : [];
    }),
  );
  const dependsOn = new Map(plan.images.map((i) => [i.name, i.dependsOn]));
  /** A failed image this one builds FROM (through image: links), the first found. */
  const failedDependency = (name: string, seen = new Set<string>()): string | undefined => {
    for (const d of dependsOn.get(name) ?? []) {
      if (seen.has(d)) continue;
      seen.add(d);
      const found = failures.has(d) ? d : failedDependency(d, seen);
      if (found) return found;
    }
    return undefined;
  };
  const stoppedBy = [...failures.keys()];
  const summaries = plan.images.map((img) => {
    const mine = steps.filter((s) => s.image === img.name);
    const ran = (kind: Step["kind"]) => mine.filter((s) => s.kind === kind);
    const ok = (list: StepOutcome[]) => list.length > 0 && list.every((s) => s.status === "ok" || s.status === "unchanged");
    const publishes = ran("publish");
    const unchanged = publishes.length > 0 && publishes.every((s) => s.status === "unchanged");
    const target = targetOf(shared, img.name);
    // A failed dependency comes first: what is built FROM a broken image cannot be right (and BuildKit
    // may name a dependent for a step the two share). One an interrupt cut off is not broken: what was
    // built FROM it says what it got to.
    const dependency = img.upToDate || interrupted ? undefined : failedDependency(img.name);
    const failure = failures.get(img.name);
    const status: ImageSummary["status"] = img.upToDate
      ? "up-to-date"
      : dependency
        ? "skipped"
        : failure
          ? interrupted
            ? "cancelled"
            : "failed"
          : target?.status === "cancelled"
            ? "cancelled"
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
                      : [...mine, ...shared].some((s) => s.status === "ok") || target?.status === "built"
                        ? "built"
                        : "not-run";
    const others = stoppedBy.filter((n) => n !== img.name);
    const reason =
      status === "skipped"
        ? `needs ${dependency}, which failed`
        : status === "failed"
          ? failure
          : status === "cancelled"
            ? interrupted
              ? "interrupted: the run was stopped before it finished"
              : `bake stopped when ${others.join(", ")} failed`
            : status === "not-run" && interrupted
              ? "interrupted: the run was stopped before it got to it"
              : status === "not-run" && others.length
                ? `the run stopped when ${others.join(", ")} failed (apply --continue builds and publishes the others)`
                : undefined;
    const stagingDigest = img.refs.map((r) => built.get(r.staging)).find(Boolean);
    const digest =
      img.upToDate?.digest ??
      (unchanged ? publishes.find((s) => s.digest)?.digest : undefined) ??
      mine.find((s) => s.check?.digest)?.check?.digest ??
      stagingDigest;
    // Wall time from its first step's start to its last step's end (steps overlap).
    const spans = img.upToDate ? [] : [...mine, ...shared].filter((s) => s.status !== "not-run");
    const durationMs = spans.length ? Math.max(...spans.map((s) => s.startMs + s.durationMs)) - Math.min(...spans.map((s) => s.startMs)) : 0;
    // An image this run does not publish exists where it pushed it, by digest: show those, not user tags.
    const pushedRefs = [...built.keys()]
      .filter((ref) => img.refs.some((r) => ref === r.staging || ref.startsWith(`${r.staging}-`)))
      .map((ref) => byDigest(ref, built.get(ref)!));
    return {
      name: img.name,
      platforms: img.platforms,
      ...(digest ? { digest } : {}),
      tags: img.archive ? [img.archive] : img.notPublished ? pushedRefs : img.refs.flatMap((r) => r.tags.map((t) => `${r.name}:${t}`)),
      durationMs,
      status,
      ...(img.notPublished ? { notPublished: img.notPublished } : {}),
      ...(reason ? { reason } : {}),
    };
  });
  return summaries.map((sum) => {
    if (sum.status !== "not-run" || !builtThrough(sum.name, summaries, plan)) return sum;
    const { reason: _, ...built } = sum;
    return { ...built, status: "built" };
  });
}

/** The statuses of an image this run built. */
const BUILT: ReadonlySet<string> = new Set(["published", "unchanged", "written", "loaded", "verified", "built"]);

/** Images some image built in this run was built FROM: bake built them through its links, with no step of their own. */
function builtThrough(name: string, summaries: readonly ImageSummary[], plan: Plan): boolean {
  if (plan.stages.some((st) => st.steps.some((s) => s.image === name))) return false;
  // an up-to-date user is FROM'd by digest: nothing is built through it
  return plan.images.some(
    (i) =>
      i.dependsOn.includes(name) &&
      (BUILT.has(summaries.find((x) => x.name === i.name)?.status ?? "") || (!i.upToDate && builtThrough(i.name, summaries, plan))),
  );
}

/** Where the run's time went, per kind of step (build, push, verify, test, publish…), in the order they first ran. */
export interface KindTiming {
  kind: Step["kind"];
  /** wall time while at least one step of this kind ran (they overlap) */
  ms: number;
  steps: number;
  /** their durations added up */
  sumMs: number;
}

export function kindTimings(steps: readonly StepOutcome[]): KindTiming[] {
  const ran = steps.filter((s) => s.status !== "not-run" && s.durationMs > 0).sort((a, b) => a.startMs - b.startMs);
  const kinds = [...new Set(ran.map((s) => s.kind))];
  return kinds.map((kind) => {
    const mine = ran.filter((s) => s.kind === kind);
    // the union of their intervals
    let ms = 0;
    let end = Number.NEGATIVE_INFINITY;
    for (const s of mine) {
      const stop = s.startMs + s.durationMs;
      if (stop > end) {
        ms += stop - Math.max(s.startMs, end);
        end = stop;
      }
    }
    return { kind, ms, steps: mine.length, sumMs: mine.reduce((n, s) => n + s.durationMs, 0) };
  });
}

/**
 * An image's tags as the run left them: those that hold it (moved, or already did) and those it meant to
 * move and did not. An image that failed, or did not run, moved none but those its outcomes say moved.
 */
export function tagsLeft(report: Pick<Report, "tags">, image: Pick<ImageSummary, "name" | "status" | "tags">): { hold: string[]; notMoved: string[] } {
  const outcomes = report.tags.filter((t) => t.image === image.name);
  const stopped = ["failed", "skipped", "cancelled", "not-run"].includes(image.status);
  const isLeft = (ref: string) => {
    const o = outcomes.find((t) => t.ref === ref);
    return o ? o.status === "not-moved" : stopped;
  };
  return { hold: image.tags.filter((r) => !isLeft(r)), notMoved: image.tags.filter(isLeft) };
}

/** Per user tag: moved (to which digest), unchanged (already held it: the whole step, or `kept` alone), or not moved. */
export function tagOutcomes(
  plan: Plan,
  outcomes: ReadonlyMap<string, StepOutcome>,
  moved: ReadonlyMap<string, string>,
  kept: ReadonlyMap<string, string> = new Map(),
  replaced: ReadonlyMap<string, Replaced> = new Map(),
): TagOutcome[] {
  return plan.stages.flatMap((st) =>
    st.steps
      .filter((s) => s.kind === "publish")
      .flatMap((s) => {
        const o = outcomes.get(s.id);
        return (s.moveTags?.tags ?? s.commands.flatMap((c) => (c.moves ? [c.moves] : []))).map((ref): TagOutcome => {
          const image = s.image ?? "";
          if (o?.status === "unchanged") return { image, ref, status: "unchanged", ...(o.digest ? { digest: o.digest } : {}) };
          const held = kept.get(ref);
          if (held) return { image, ref, status: "unchanged", digest: held };
          const d = moved.get(ref);
          return d !== undefined ? { image, ref, status: "moved", ...(d ? { digest: d } : {}), ...replaced.get(ref) } : { image, ref, status: "not-moved" };
        });
      }),
  );
}

/** A tag that names one release: 1.2.3 or v1.2.3, no prerelease or suffix. */
const RELEASE_TAG = /^v?\d+\.\d+\.\d+$/;

/** Something a run did to a user tag that its user should know of (the CLI says it as a warning). */
export interface TagWarning {
  code: "tag-moved-during-run" | "tag-release-moved";
  ref: string;
  message: string;
  hint?: string;
}

/**
 * The tags this run took from another image: one someone else moved while the run went on (the last
 * writer wins, as with docker push, and it is said with the three digests), and a release version
 * (1.2.3), which usually names one build for good. The hint is the command that puts the image back.
 */
export function tagWarnings(tags: readonly TagOutcome[]): TagWarning[] {
  return tags.flatMap((t): TagWarning[] => {
    if (t.status !== "moved") return [];
    const now = t.digest ?? "a new index";
    const back = t.previous ? { hint: `to put it back: docker buildx imagetools create -t ${t.ref} ${byDigest(t.ref, t.previous)}` } : {};
    if (t.heldAtStart !== undefined)
      return [
        {
          code: "tag-moved-during-run",
          ref: t.ref,
          message: `${t.ref} was moved by someone else during this run: it held ${t.heldAtStart ?? "nothing"} when the run started, ${t.previous ?? "nothing (deleted)"} when this run moved it to ${now}`,
          ...back,
        },
      ];
    if (t.previous && RELEASE_TAG.test(t.ref.slice(t.ref.lastIndexOf(":") + 1)))
      return [
        {
          code: "tag-release-moved",
          ref: t.ref,
          message: `${t.ref} held another image (${t.previous}) before: this release version now names a new build (${now})`,
          ...back,
        },
      ];
    return [];
  });
}
