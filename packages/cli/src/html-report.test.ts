import type { Report } from "@multiarch/executor";
import type { Plan } from "@multiarch/plan";
import { describe, expect, test } from "vitest";
import { cellOf, htmlReport, stepSummary } from "./html-report.ts";

const tail = [
  "#9 [broken linux/arm64 2/2] RUN make",
  "#10 [ok linux/arm64 2/2] RUN echo fine",
  "#10 CANCELED",
  '#9 ERROR: process "/bin/sh -c make" did not complete successfully: exit code: 2',
  "------",
  " > [broken linux/arm64 2/2] RUN make:",
  "------",
].join("\n");
const report: Report = {
  ok: false,
  exitCode: 2,
  durationMs: 2000,
  steps: [
    {
      id: "bake",
      kind: "bake",
      status: "failed",
      startMs: 0,
      durationMs: 2000,
      attempts: 1,
      error: "exit code 1",
      stderrTail: tail,
      // as the executor reads BuildKit's log (executor/bake-log.ts)
      targets: [
        { target: "ok", status: "cancelled" },
        { target: "broken", status: "failed", platforms: ["linux/arm64"], error: tail.slice(tail.indexOf(" > [")) },
      ],
    },
  ],
  images: [
    { name: "ok", platforms: ["linux/amd64", "linux/arm64"], tags: [], durationMs: 2000, status: "cancelled", reason: "bake stopped when broken failed" },
    { name: "broken", platforms: ["linux/amd64", "linux/arm64"], tags: [], durationMs: 2000, status: "failed", reason: tail.slice(tail.indexOf(" > [")) },
  ],
  tags: [],
  staged: [],
};
const plan = {
  version: 3,
  spec: "multiarch.yaml",
  cwd: ".",
  strategy: { requested: "auto", chosen: "bake", reason: "t" },
  images: ["ok", "broken"].map((name) => ({ name, platforms: ["linux/amd64", "linux/arm64"], dependsOn: [], refs: [] })),
  stages: [],
  secrets: [],
} as Plan;

describe("the HTML report", () => {
  test("a shared bake failure is put on the image and platform BuildKit names", () => {
    expect(cellOf(report, plan, "broken", "linux/arm64")).toMatchObject({ status: "failed", error: expect.stringContaining("RUN make") });
    expect(cellOf(report, plan, "broken", "linux/amd64").status).toBe("not-run");
    expect(cellOf(report, plan, "ok", "linux/arm64")).toEqual({ status: "cancelled", text: "cancelled: bake stopped when broken failed" });
  });

  // found by a review: each platform's cell of an image broken on three showed all three's errors
  test("an image broken on several platforms: each cell shows its own platform's quote", () => {
    const quote = (p: string) => [` > [broken ${p} 2/2] COPY missing.txt /m:`, "------", `ERROR on ${p}`];
    const error = ["linux/amd64", "linux/arm64"].flatMap(quote).join("\n");
    const [bake] = report.steps;
    const both: Report = {
      ...report,
      steps: [{ ...bake!, targets: [{ target: "broken", status: "failed", platforms: ["linux/amd64", "linux/arm64"], error }] }],
    };
    expect(cellOf(both, plan, "broken", "linux/amd64").error).toBe(quote("linux/amd64").join("\n"));
    expect(cellOf(both, plan, "broken", "linux/arm64").error).toBe(quote("linux/arm64").join("\n"));
  });

  test("self-contained and escaped: no script, no external URL; the job summary is a markdown table", () => {
    const html = htmlReport({ ...report, images: [{ ...report.images[0]!, name: "<img src=x>" }] }, plan, { title: "t<script>" });
    expect(html).not.toMatch(/<script|src=["']?http|<link|@import|url\(/i);
    expect(html).toContain("&lt;img src=x&gt;");
    const md = stepSummary(report, plan, "multiarch apply");
    expect(md).toContain("| broken | ❌ failed | linux/amd64, linux/arm64 | – |  |");
    expect(md).toContain("| ok | ⏹️ cancelled | linux/amd64, linux/arm64 | – |  |");
    // a failed image's tags are not said to hold it
    const tagged = { ...report, images: report.images.map((i) => ({ ...i, tags: [`r/${i.name}:1`] })) };
    expect(stepSummary(tagged, plan, "multiarch apply")).toContain("| broken | ❌ failed | linux/amd64, linux/arm64 | – | not moved: r/broken:1 |");
    // the failed image's own error, not the bake command line
    expect(md).toContain("- ❌ **broken**: ` > [broken linux/arm64 2/2] RUN make: `");
  });

  test("a tag someone else moved during the run: the page shows what it held, the job summary the run's warning", () => {
    const [start, theirs, ours] = ["sha256:aaa", "sha256:bbb", "sha256:ccc"];
    const moved: Report = { ...report, tags: [{ image: "ok", ref: "r/ok:latest", status: "moved", digest: ours, previous: theirs, heldAtStart: start }] };
    expect(htmlReport(moved, plan, { title: "t" })).toContain(
      "<td><code>sha256:bbb</code> (moved by someone else during the run; at its start: <code>sha256:aaa</code>)</td>",
    );
    expect(stepSummary(moved, plan, "multiarch apply")).toContain(
      "- ⚠️ ` r/ok:latest was moved by someone else during this run: it held sha256:aaa when the run started, sha256:bbb when this run moved it to sha256:ccc `",
    );
  });

  // found by a review: the heading named one platform's failure and the tail below it was another's
  test("a long failure in the job summary says where its lines were cut", () => {
    const blocks = ["linux-amd64", "linux-arm-v7"].map((p) => [
      `build:app/${p} failed (exit code 1):`,
      ...Array.from({ length: 9 }, (_, n) => `${p} line ${n}`),
    ]);
    const long = { ...report.images[1]!, reason: blocks.flat().join("\n") };
    const md = stepSummary({ ...report, images: [report.images[0]!, long] }, plan, "multiarch apply").split("\n");
    const at = md.indexOf("- ❌ **broken**: ` build:app/linux-amd64 failed (exit code 1): `");
    expect(md.slice(at + 1, at + 4)).toEqual(["  ```text", "  … 7 lines cut: the report (--report, --json) has them all", "  linux-amd64 line 7"]);
    expect(md.slice(at + 4, at + 15).at(-1)).toBe("  linux-arm-v7 line 8");
    // a short one is whole, with no such line
    expect(stepSummary(report, plan, "multiarch apply")).not.toContain("lines cut");
  });

  // found by a review: a failing RUN that echoed Markdown put a link and an image on the run's page
  test("build output in the job summary is text, never markup", () => {
    const said = "RUN echo '![pwn](https://evil.example/t.png) [Approve](https://evil.example/login) <img src=x>' `x`";
    const broken = { ...report.images[1]!, reason: said };
    const md = stepSummary({ ...report, images: [report.images[0]!, broken] }, plan, "multiarch apply: [a](b)");
    expect(md).toContain(`**broken**: \`\` ${said} \`\``);
    expect(md).toContain("### multiarch apply: \\[a\\](b)");
  });
});
