import type { Report } from "@multiarch/executor";
import type { Plan } from "@multiarch/plan";
import { expect, test } from "vitest";
import { memoryIo } from "../testing/io.ts";
import { summary } from "./plan-summary.ts";
import { explain, finalSummary, leftoversLines } from "./run-plan.ts";

// found by a review: after Ctrl-C with one image published whole, the tags another image had already moved
// were named nowhere ("interrupted; published the others: i2")
test("an interrupted run names every tag that moved: images published whole, and the others' tags one by one", () => {
  const image = (name: string, status: Report["images"][number]["status"]) => ({ name, platforms: ["linux/amd64"], tags: [], durationMs: 1, status });
  const report: Report = {
    ok: false,
    exitCode: 130,
    durationMs: 10,
    steps: [],
    images: [image("i1", "cancelled"), image("i2", "published")],
    tags: [
      { image: "i1", ref: "r/i1:1", status: "moved", digest: "sha256:a" },
      { image: "i1", ref: "r/i1:latest", status: "not-moved" },
      { image: "i2", ref: "r/i2:1", status: "moved", digest: "sha256:b" },
    ],
    staged: [],
  };
  expect(finalSummary(report, memoryIo("/")).split("\n").at(-1)).toBe(
    "interrupted; published: i2; these tags had already moved to the new, verified images: r/i1:1; a re-run moves the rest (1 left)",
  );
});

// found by a review: --dry-run with nothing to do printed "0 steps in 0 stages: "
test("a plan with no step says there is nothing to run", () => {
  const image = { name: "a", platforms: ["linux/amd64" as const], dependsOn: [], refs: [], upToDate: { digest: "sha256:a" } };
  const plan = {
    version: 3,
    spec: "multiarch.yaml",
    cwd: ".",
    strategy: { requested: "bake", chosen: "bake", reason: "t" },
    images: [image],
    stages: [],
    secrets: [],
  };
  expect(
    summary(plan as Plan, memoryIo("/"))
      .split("\n")
      .at(-1),
  ).toBe("nothing to run: every image is up to date");
});

// found by a review: the table listed a failed image's tags as if they held it ("broken failed … r/broken:1")
test("the summary table says which tags hold each image and which this run did not move", () => {
  const image = (name: string, status: Report["images"][number]["status"], tags: string[]) => ({
    name,
    platforms: ["linux/amd64"],
    tags,
    durationMs: 1,
    status,
  });
  const report: Report = {
    ok: false,
    exitCode: 2,
    durationMs: 10,
    steps: [],
    images: [
      image("ok", "published", ["r/ok:1"]),
      image("broken", "failed", ["r/broken:1", "r/broken:latest"]),
      image("half", "cancelled", ["r/half:1", "r/half:2"]),
    ],
    tags: [
      { image: "ok", ref: "r/ok:1", status: "moved", digest: "sha256:a" },
      { image: "broken", ref: "r/broken:1", status: "not-moved" },
      { image: "half", ref: "r/half:1", status: "moved", digest: "sha256:b" },
      { image: "half", ref: "r/half:2", status: "not-moved" },
    ],
    staged: [],
  };
  const rows = finalSummary(report, memoryIo("/")).split("\n");
  expect(rows.find((r) => r.startsWith("ok "))).toMatch(/ r\/ok:1$/);
  // r/broken:latest has no outcome (its publish step was not planned): a failed image moved none
  expect(rows.find((r) => r.startsWith("broken "))).toMatch(/ not moved: r\/broken:1 r\/broken:latest$/);
  expect(rows.find((r) => r.startsWith("half "))).toMatch(/ r\/half:1 not moved: r\/half:2$/);
});

// found by a read-through: two runs' leftovers with one image read "and the the image their tests pulled"
test("what runs that ended without cleaning up left is said in one line, images counted", () => {
  const swept = { runs: 2, bytes: 2_000_000, images: ["r/a@sha256:1"], emptied: [], running: [] };
  expect(leftoversLines(swept, { cwd: "/" })).toEqual([
    "cleaned up after 2 runs that ended without cleaning up: removed their folders (2.0 MB) and the image their tests pulled (r/a@sha256:1)",
  ]);
  expect(leftoversLines({ ...swept, runs: 1, images: ["r/a@sha256:1", "r/b@sha256:2"] }, { cwd: "/" })).toEqual([
    "cleaned up after 1 run that ended without cleaning up: removed its folder (2.0 MB) and the 2 images its tests pulled (r/a@sha256:1 r/b@sha256:2)",
  ]);
});

// found by a review: an image built as a dependency of --image, or with --no-publish, lost why it was built
test("--explain says why an image is built whether or not it is published", () => {
  const image = (name: string, more: object) => ({ name, platforms: ["linux/amd64"], dependsOn: [], refs: [], ...more });
  const plan = {
    images: [
      image("lib", { changed: ["context"], notPublished: "dependency of app: it is built FROM by digest" }),
      image("app", { changed: ["contexts"] }),
      image("other", { notPublished: "--no-publish" }),
    ],
  } as unknown as Plan;
  expect(explain(plan).split("\n")).toEqual([
    "lib: built (changed: context), not published (dependency of app: it is built FROM by digest)",
    "app: built: changed: contexts",
    "other: built (--rebuild, or no input facts), not published (--no-publish)",
  ]);
});
