import { readFileSync } from "node:fs";
import { describe, expect, test } from "vitest";
import { readBakeLog } from "./bake-log.ts";

// A real bake of base, lib (FROM base), a and b (FROM lib), c (FROM base) where b's `RUN false` failed
// on amd64; c's own `RUN exit 3` never ran to its end (cancelled), a was cancelled while exporting.
const LOG = readFileSync(new URL("./bake-log.fixture.txt", import.meta.url), "utf8");
// A real bake of the same monorepo (plus d FROM b) into OCI layouts: b's RUN false failed on both
// platforms; the exports it cut short print their own ERROR lines ("… locked …: unavailable") between
// the quotes and the Dockerfile excerpt.
const OCI_LOG = readFileSync(new URL("./bake-log-oci.fixture.txt", import.meta.url), "utf8");
// Real bakes of base (`RUN false` on line 3) and app FROM base (contexts: { base: "image:base" }): BuildKit
// runs base's steps once for both targets and prints each under either name. In the first, amd64's
// failure is quoted as app's and arm64's as base's; in the second, the one quote names app.
const BASE_FAILED = readFileSync(new URL("./bake-log-base-failed.fixture.txt", import.meta.url), "utf8");
const BASE_FAILED_AS_APP = readFileSync(new URL("./bake-log-base-failed-as-app.fixture.txt", import.meta.url), "utf8");
// A real bake of a and b (one Dockerfile text, two contexts) and c (another Dockerfile): BuildKit ran a's and
// b's identical `RUN … && false` once, as vertex #9, printed under both names, and quoted it as a's.
const SHARED_STEP = readFileSync(new URL("./bake-log-shared-step.fixture.txt", import.meta.url), "utf8");

/** How BuildKit ends the log of a bake whose `RUN false` (line 3) failed: the excerpt, then the error. */
const RUN_FALSE_END = [
  "Dockerfile:3",
  "--------------------",
  "   3 | >>> RUN false",
  "--------------------",
  'ERROR: failed to solve: process "/bin/sh -c false" did not complete successfully: exit code: 1',
];

describe("readBakeLog", () => {
  test("the target BuildKit quotes failed, with its Dockerfile line; finished ones built; the rest cancelled", () => {
    const r = readBakeLog(LOG, ["base", "lib", "a", "b", "c"]);
    expect(r.map((t) => [t.target, t.status])).toEqual([
      ["base", "built"],
      ["lib", "built"],
      ["a", "cancelled"],
      ["b", "failed"],
      ["c", "cancelled"],
    ]);
    const b = r.find((t) => t.target === "b")!;
    expect(b.platforms).toEqual(["linux/amd64"]);
    expect(b.error).toContain(" > [b linux/amd64 2/3] RUN false:");
    expect(b.error).toContain("3 | >>> RUN false");
    expect(b.error).toContain('ERROR: failed to solve: process "/bin/sh -c false" did not complete successfully: exit code: 1');
  });

  test("the step's last output lines are part of its error; one platform failing names that platform", () => {
    const log = [
      "#12 [api linux/arm64 builder 3/4] RUN ./configure && make",
      "#12 0.215 no arm64 support yet",
      "#14 [web linux/arm64 2/2] COPY . /srv",
      "#14 CANCELED",
      "------",
      " > [api linux/arm64 builder 3/4] RUN ./configure && make:",
      "0.215 no arm64 support yet",
      "------",
      "ERROR: failed to solve: exit code: 2",
    ].join("\n");
    const [ok, broken] = readBakeLog(log, ["web", "api"]);
    expect(ok).toEqual({ target: "web", status: "cancelled" });
    expect(broken).toMatchObject({ status: "failed", platforms: ["linux/arm64"], error: expect.stringContaining("no arm64 support yet") });
  });

  test("a one-target bake (no target prefix) and an error outside any step fall on every unfinished target", () => {
    const one = readBakeLog(" > [linux/amd64 2/2] RUN false:\n------\nERROR: failed to solve: exit code: 1", ["app"]);
    expect(one).toEqual([{ target: "app", status: "failed", error: " > [linux/amd64 2/2] RUN false:\nERROR: failed to solve: exit code: 1" }]);
    const push = readBakeLog("#5 [a] exporting to image\n#5 DONE 1.0s\nERROR: failed to push 127.0.0.1:5000/x/b: 500", ["a", "b"]);
    expect(push).toEqual([
      { target: "a", status: "built" },
      { target: "b", status: "failed", error: "ERROR: failed to push 127.0.0.1:5000/x/b: 500" },
    ]);
  });

  test("several quotes: each its own step's error; a target quoted for a step it shares with a failed dependency is not failed", () => {
    const log = [
      "#30 [c linux/amd64 2/3] RUN exit 3",
      '#30 ERROR: process "/bin/sh -c exit 3" did not complete successfully: exit code: 3',
      "#33 [d linux/arm64 2/3] RUN false",
      "#33 CANCELED",
      "------",
      " > [c linux/amd64 2/3] RUN exit 3:",
      "------",
      "------",
      " > [d linux/arm64 2/3] RUN false:",
      "------",
      "------",
      " > [b linux/amd64 2/3] RUN false:",
      "------",
      "Dockerfile:3",
      "   3 | >>> RUN false",
      'ERROR: failed to solve: process "/bin/sh -c false" did not complete successfully: exit code: 1',
    ].join("\n");
    const r = readBakeLog(log, ["b", "c", "d"], new Map([["d", ["b"]]]));
    expect(r.map((t) => [t.target, t.status])).toEqual([
      ["b", "failed"],
      ["c", "failed"],
      ["d", "cancelled"],
    ]);
    expect(r[1]!.error).toBe(' > [c linux/amd64 2/3] RUN exit 3:\nERROR: process "/bin/sh -c exit 3" did not complete successfully: exit code: 3');
    expect(r[0]!.error).toContain("3 | >>> RUN false\nERROR: failed to solve");
  });

  // seen in a one-image run: the quote before the excerpt kept BuildKit's closing rule ("------") above "Dockerfile:2"
  test("a one-target bake failing on two platforms: both quotes, the excerpt after the last, no rule between", () => {
    const stepError = 'ERROR: process "/bin/sh -c false" did not complete successfully: exit code: 1';
    // the Dockerfile excerpt and the final error, as BuildKit prints them after the last quote
    const excerpt = [
      "Dockerfile:2",
      "--------------------",
      "   1 |     FROM busybox",
      "   2 | >>> RUN false",
      "--------------------",
      'ERROR: failed to solve: process "/bin/sh -c false" did not complete successfully: exit code: 1',
    ];
    const log = [
      "#9 [linux/arm64 2/2] RUN false",
      `#9 ${stepError}`,
      "------",
      " > [linux/arm64 2/2] RUN false:",
      "------",
      "------",
      " > [linux/amd64 2/2] RUN false:",
      "------",
      ...excerpt,
    ].join("\n");
    expect(readBakeLog(log, ["bad"])[0]!.error).toBe([" > [linux/arm64 2/2] RUN false:", stepError, " > [linux/amd64 2/2] RUN false:", ...excerpt].join("\n"));
  });

  test("a step BuildKit quotes under a dependent's name is the dependency's when the Dockerfile line is the dependency's", () => {
    const log = [
      "------",
      " > [lib linux/arm64 2/2] RUN ./build.sh:",
      "------",
      "Dockerfile:2",
      "--------------------",
      "   1 |     FROM busybox",
      "   2 | >>> RUN ./build.sh",
      "--------------------",
      "ERROR: failed to solve: exit code: 4",
    ].join("\n");
    const files: Record<string, string[]> = { base: ["FROM busybox", "RUN ./build.sh"], lib: ["FROM base", "RUN echo lib"] };
    const dockerfileOf = (t: string) => files[t]?.join("\n");
    const deps = new Map([["lib", ["base"]]]);
    expect(readBakeLog(log, ["base", "lib"], deps, dockerfileOf).map((t) => [t.target, t.status])).toEqual([
      ["base", "failed"],
      ["lib", "cancelled"],
    ]);
    // the quoted target's own lines: its failure (every quoted line is its Dockerfile's, as the dependency's)
    files.lib = ["FROM busybox", "RUN ./build.sh"];
    expect(readBakeLog(log, ["base", "lib"], deps, dockerfileOf).map((t) => t.status)).toEqual(["cancelled", "failed"]);
  });

  // found by a review: a library's failing line was the same text, at the same line, as a line of its
  // dependents' Dockerfiles (boilerplate): the dependent BuildKit named was blamed, the library cancelled
  test("the lines around the failed one tell a library's step from its dependent's of the same text", () => {
    const log = [
      "------",
      " > [app1 linux/amd64 2/3] RUN echo installing; exit 9:",
      "------",
      "Dockerfile:3",
      "--------------------",
      "   1 |     FROM base",
      "   2 |     RUN echo lib-a > /lib.txt",
      "   3 | >>> RUN echo installing; exit 9",
      "--------------------",
      "ERROR: failed to solve: exit code: 9",
    ].join("\n");
    const files: Record<string, string[]> = {
      "lib-a": ["FROM base", "RUN echo lib-a > /lib.txt", "RUN echo installing; exit 9"],
      app1: ["FROM lib", "COPY hello.txt /app.txt", "RUN echo installing; exit 9"],
    };
    const r = readBakeLog(log, ["lib-a", "app1"], new Map([["app1", ["lib-a"]]]), (t) => files[t]?.join("\n"));
    expect(r.map((t) => [t.target, t.status])).toEqual([
      ["lib-a", "failed"],
      ["app1", "cancelled"],
    ]);
    expect(r[0]!.error).toContain(" > [lib-a linux/amd64 2/3] RUN echo installing; exit 9:");
  });

  // found by a review: with two steps failing at once, the Dockerfile excerpt (the first failure's) went to
  // the step quoted last, another image's
  test("the Dockerfile excerpt goes to the step its >>> line is, not to the step quoted last", () => {
    const log = [
      "#10 [app linux/arm64 3/3] RUN false",
      '#10 ERROR: process "/bin/sh -c false" did not complete successfully: exit code: 1',
      '#11 [tool linux/arm64 3/3] RUN [ "$(uname -m)" != aarch64 ]',
      '#11 ERROR: process "/bin/sh -c [ \\"$(uname -m)\\" != aarch64 ]" did not complete successfully: exit code: 1',
      "------",
      " > [app linux/arm64 3/3] RUN false:",
      "------",
      "------",
      ' > [tool linux/arm64 3/3] RUN [ "$(uname -m)" != aarch64 ]:',
      "------",
      "Dockerfile:3",
      "--------------------",
      "   1 |     FROM 127.0.0.1:5000/base/busybox:1",
      "   2 |     RUN echo base2 > /base.txt",
      "   3 | >>> RUN false",
      "--------------------",
      'ERROR: failed to solve: process "/bin/sh -c false" did not complete successfully: exit code: 1',
    ].join("\n");
    const files: Record<string, string> = {
      base: "FROM 127.0.0.1:5000/base/busybox:1\nRUN echo base2 > /base.txt\nRUN false\n",
      app: "FROM base\nRUN echo app\n",
      tool: 'FROM 127.0.0.1:5000/base/busybox:1\nRUN echo tool\nRUN [ "$(uname -m)" != aarch64 ]\n',
    };
    const deps = new Map([["app", ["base"]]]);
    const [base, app, tool] = readBakeLog(log, ["base", "app", "tool"], deps, (t) => files[t]);
    expect(base).toMatchObject({ status: "failed" });
    expect(base!.error).toContain("3 | >>> RUN false");
    expect(app).toEqual({ target: "app", status: "cancelled" });
    expect(tool).toMatchObject({ status: "failed" });
    expect(tool!.error).toContain("aarch64 ]");
    expect(tool!.error).not.toContain(">>> RUN false");
    // its own line, from its Dockerfile (BuildKit quotes the lines of the first failure only)
    expect(tool!.error).toContain('Dockerfile:3\n--------------------\n   3 | >>> RUN [ "$(uname -m)" != aarch64 ]\n--------------------\nERROR: ');
    // named as the target's file is
    const [, , named] = readBakeLog(
      log,
      ["base", "app", "tool"],
      deps,
      (t) => files[t],
      (t) => `${t}.Dockerfile`,
    );
    expect(named!.error).toContain("tool.Dockerfile:3\n");
  });

  test("a failed base's step BuildKit quotes under a dependent's name is the base's, and says so; the dependent is cancelled, without it", () => {
    const files: Record<string, string> = {
      base: "FROM 127.0.0.1:5000/base/busybox:1\nRUN echo base > /base\nRUN false\n",
      app: "FROM base\nRUN echo app > /app\n",
    };
    const deps = new Map([["app", ["base"]]]);
    const [base, app] = readBakeLog(BASE_FAILED, ["base", "app"], deps, (t) => files[t]);
    expect(app).toEqual({ target: "app", status: "cancelled" });
    expect(base).toMatchObject({ status: "failed", platforms: ["linux/amd64", "linux/arm64"] });
    expect(base!.error).toContain(' > [base linux/amd64 3/3] RUN false:\nERROR: process "/bin/sh -c false" did not complete successfully: exit code: 1');
    expect(base!.error).toContain(" > [base linux/arm64 3/3] RUN false:");
    expect(base!.error).toContain("3 | >>> RUN false");
    expect(base!.error).not.toContain("[app ");
    const [onlyBase, onlyApp] = readBakeLog(BASE_FAILED_AS_APP, ["base", "app"], deps, (t) => files[t]);
    expect(onlyApp).toEqual({ target: "app", status: "cancelled" });
    expect(onlyBase).toMatchObject({ status: "failed", platforms: ["linux/amd64"] });
    expect(onlyBase!.error).toMatch(/^ > \[base linux\/amd64 3\/3\] RUN false:\n/);
    expect(onlyBase!.error).toContain("3 | >>> RUN false\n");
    expect(onlyBase!.error).not.toContain("[app ");
    // quoted before another target's failure, without the Dockerfile excerpt: the instruction says whose it
    // is, and its Dockerfile gives the excerpt BuildKit printed for the other step only (found by a review)
    const log = [
      "#12 [app linux/amd64 3/3] RUN false",
      '#12 ERROR: process "/bin/sh -c false" did not complete successfully: exit code: 1',
      "#14 [c linux/amd64 2/2] RUN exit 3",
      '#14 ERROR: process "/bin/sh -c exit 3" did not complete successfully: exit code: 3',
      "------",
      " > [app linux/amd64 3/3] RUN false:",
      "------",
      "------",
      " > [c linux/amd64 2/2] RUN exit 3:",
      "------",
      "Dockerfile:2",
      "--------------------",
      "   2 | >>> RUN exit 3",
      "--------------------",
      'ERROR: failed to solve: process "/bin/sh -c exit 3" did not complete successfully: exit code: 3',
    ].join("\n");
    files.c = "FROM busybox\nRUN exit 3\n";
    expect(readBakeLog(log, ["base", "app", "c"], deps, (t) => files[t])).toEqual([
      {
        target: "base",
        status: "failed",
        platforms: ["linux/amd64"],
        error: [
          " > [base linux/amd64 3/3] RUN false:",
          "Dockerfile:3",
          "--------------------",
          "   3 | >>> RUN false",
          "--------------------",
          'ERROR: process "/bin/sh -c false" did not complete successfully: exit code: 1',
        ].join("\n"),
      },
      { target: "app", status: "cancelled" },
      expect.objectContaining({ target: "c", status: "failed" }),
    ]);
  });

  test("an export cut short by another target's failure is cancelled, not failed (apply --continue builds it again)", () => {
    // seen in CI: bake cancelled c's export when b's RUN failed, and c was reported failed
    const log = [
      "#31 [c] exporting to image",
      "#31 ERROR: failed to commit kx to p2 during finalize: failed to stat active key during commit: snapshot kx does not exist: not found",
      "------",
      " > [c] exporting to image:",
      "------",
      " > [b linux/amd64 2/3] RUN false:",
      "------",
      ...RUN_FALSE_END,
    ].join("\n");
    expect(readBakeLog(log, ["b", "c"]).map((t) => [t.target, t.status])).toEqual([
      ["b", "failed"],
      ["c", "cancelled"],
    ]);
  });

  test("the Dockerfile excerpt after the ERROR lines of cut-short exports is the failed step's (OCI layout outputs)", () => {
    const targets = ["base", "lib", "a", "b", "c", "d"];
    const deps = new Map([
      ["lib", ["base"]],
      ["a", ["lib"]],
      ["b", ["lib"]],
      ["c", ["base"]],
      ["d", ["b"]],
    ]);
    const files: Record<string, string[]> = { b: ["FROM lib", "RUN echo b > /b", "RUN false"], d: ["FROM b", "RUN echo d > /d"] };
    const dockerfileOf = (t: string) => files[t]?.join("\n");
    const r = readBakeLog(OCI_LOG, targets, deps, dockerfileOf);
    expect(r.map((t) => [t.target, t.status])).toEqual([
      ["base", "built"],
      ["lib", "cancelled"],
      ["a", "cancelled"],
      ["b", "failed"],
      ["c", "built"],
      ["d", "cancelled"],
    ]);
    const b = r.find((t) => t.target === "b")!;
    expect(b.error).toContain("3 | >>> RUN false");
    expect(b.error).toContain("Dockerfile:3");
    expect(b.error).not.toContain("locked");
    // BuildKit quoting b's step under d's name (seen in one run in five): the excerpt says it is b's
    const asD = OCI_LOG.replaceAll("[b linux/", "[d linux/");
    const asRead = readBakeLog(asD, targets, deps, dockerfileOf);
    expect(asRead.map((t) => t.status)).toEqual(["built", "cancelled", "cancelled", "failed", "built", "cancelled"]);
    expect(asRead[3]!.error).toContain(" > [b linux/");
    expect(asRead[3]!.error).not.toContain("[d ");
  });

  test("an export quoted after the failed step (seen in CI) leaves the excerpt and the final error to that step", () => {
    const log = [
      "#30 [b linux/amd64 2/3] RUN false",
      '#30 ERROR: process "/bin/sh -c false" did not complete successfully: exit code: 1',
      "#33 [a] exporting to oci image format",
      "#33 ERROR: error reading from server: EOF: unavailable",
      "------",
      " > [b linux/amd64 2/3] RUN false:",
      "------",
      "------",
      " > [a] exporting to oci image format:",
      "------",
      "ERROR: (*service).Write failed: rpc error: code = Unavailable desc = ref layer-sha256:12f4 locked for 56ms: unavailable",
      ...RUN_FALSE_END,
    ].join("\n");
    const r = readBakeLog(log, ["a", "b"]);
    expect(r.map((t) => t.status)).toEqual(["cancelled", "failed"]);
    expect(r[1]!.error).toContain("3 | >>> RUN false");
    expect(r[1]!.error).toContain("ERROR: failed to solve");
    expect(r[1]!.error).not.toContain("locked");
  });

  // found by a review: b was "cancelled", though the very step that failed was b's too
  test("a step two targets share (the same instruction, run once) fails both, each quoted under its own name", () => {
    const text = (t: string) =>
      t === "c" ? "FROM 127.0.0.1:5000/base/busybox:1\nRUN echo fine\n" : "FROM 127.0.0.1:5000/base/busybox:1\nRUN echo hi-dup && false\n";
    const r = readBakeLog(SHARED_STEP, ["a", "b", "c"], new Map(), text);
    expect(r.map((t) => [t.target, t.status])).toEqual([
      ["a", "failed"],
      ["b", "failed"],
      ["c", "cancelled"],
    ]);
    const b = r.find((t) => t.target === "b")!;
    expect(b.error).toContain(" > [b 2/2] RUN echo hi-dup && false:");
    expect(b.error).toContain("2 | >>> RUN echo hi-dup && false");
    expect(b.error).toContain("ERROR: failed to solve: process");
  });

  test("an export that fails (a push) fails its target", () => {
    const log = "#7 [a] exporting to image\n#7 ERROR: failed to push: 401\n#8 [b] exporting to image\n#8 CANCELED\nERROR: failed to solve: failed to push: 401";
    expect(readBakeLog(log, ["a", "b"]).map((t) => t.status)).toEqual(["failed", "cancelled"]);
  });
});
