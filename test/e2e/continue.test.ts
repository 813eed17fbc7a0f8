// One broken image in a monorepo (issue 23, items 1-2), on the real engine and registry: the image that
// broke is the one reported failed, with BuildKit's error for it (its Dockerfile line); what bake did not
// finish is cancelled, what builds FROM it skipped; the summary, --json, the HTML report and the job
// summary say the same. With --continue the healthy images are published (bake: baked again without the
// broken one), each user tag on an index with every planned platform; without it nothing is.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { cli, docker, env, namespace, platformsOf, reportOf, repo } from "./helpers.ts";

interface Image {
  name: string;
  status: string;
  digest?: string;
  reason?: string;
}

/** base; lib FROM base; a (tested) and b (RUN false) FROM lib; c FROM base; d FROM b. */
function monorepo(ns: string): string {
  const from = (dep: string, body: string) => `FROM ${dep}\n${body}\n`;
  return repo({
    "multiarch.yaml": `version: 1
platforms: [linux/amd64, linux/arm64]
registries: { local: { url: "${env!.registry}/${ns}", insecure: true } }
images:
  base: { context: base }
  lib: { context: lib, contexts: { base: "image:base" } }
  a: { context: a, contexts: { lib: "image:lib" }, test: { run: [cat, /a] } }
  b: { context: b, contexts: { lib: "image:lib" } }
  c: { context: c, contexts: { base: "image:base" } }
  d: { context: d, contexts: { b: "image:b" } }
`,
    "base/Dockerfile": from(env!.baseImage, "RUN echo base > /base"),
    "lib/Dockerfile": from("base", "RUN echo lib > /lib"),
    "a/Dockerfile": from("lib", "RUN echo a > /a"),
    "b/Dockerfile": from("lib", "RUN echo b > /b\nRUN false"),
    "c/Dockerfile": from("base", "RUN echo c > /c"),
    "d/Dockerfile": from("b", "RUN echo d > /d"),
  });
}

const statuses = (images: Image[]) => Object.fromEntries(images.map((i) => [i.name, i.status]));
const exists = async (ref: string) => (await docker(["buildx", "imagetools", "inspect", ref])).exitCode === 0;

describe.skipIf(!env)("one broken image in a monorepo", () => {
  test("bake, all or nothing: the broken image failed with its Dockerfile line, the rest not failed, nothing published; every output agrees", async () => {
    const ns = namespace("broken");
    const dir = monorepo(ns);
    const html = join(dir, "out/report.html");
    const summary = join(dir, "step-summary.md");
    const t0 = performance.now();
    const r = await cli(["apply", "-f", join(dir, "multiarch.yaml"), "--strategy", "bake", "--json", "--report", html], {
      env: { GITHUB_STEP_SUMMARY: summary },
    });
    console.log(`bake, all or nothing: ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    expect(r.exitCode, r.stderr).toBe(2);
    const images: Image[] = reportOf(r.stdout).images;
    const s = statuses(images);
    expect(s.b).toBe("failed");
    expect(s.d).toBe("skipped");
    // bake cancels what it had not finished when b failed; what it had finished is built
    for (const n of ["base", "lib", "a", "c"]) expect(["built", "cancelled"]).toContain(s[n]);
    const b = images.find((i) => i.name === "b")!;
    // BuildKit may quote b's step under d's name (a step they share): the Dockerfile line says it is b's, and so does the quote
    expect(b.reason).toMatch(/> \[b linux\/(amd64|arm64) 2\/3\] RUN false:/);
    expect(b.reason).not.toContain("[d ");
    expect(b.reason).toContain(">>> RUN false");
    expect(b.reason).toContain("Dockerfile:3");
    expect(images.find((i) => i.name === "d")!.reason).toBe("needs b, which failed");
    // the text summary (on stderr with --json) says the same
    expect(r.stderr).toMatch(/^b\s+failed\s/m);
    expect(r.stderr).toMatch(/^d\s+skipped\s/m);
    expect(r.stderr).toContain("1 image failed (b)");
    // and the JSON document's message, said once on stderr (found by a review: it was empty)
    expect(JSON.parse(r.stdout).message).toMatch(/^1 image failed \(b\), 1 skipped \(built FROM a failed image\)/);
    expect(r.stderr.match(/1 image failed \(b\)/g)).toHaveLength(1);
    // the job summary and the HTML report: b is the only failure
    const md = readFileSync(summary, "utf8");
    expect(md).toContain("| b | ❌ failed |");
    expect(md).toContain("| d | ⏭️ skipped |");
    expect(md.match(/❌ failed/g)).toHaveLength(1);
    expect(md).toContain(">>> RUN false");
    const page = readFileSync(html, "utf8");
    const failedRows = [...page.matchAll(/<tr data-image="([a-z]+)">[\s\S]*?<\/tr>/g)].filter((m) => m[0].includes('class="failed"')).map((m) => m[1]);
    expect(failedRows).toEqual(["b"]);
    expect(page).toContain("&gt;&gt;&gt; RUN false");
    for (const n of ["base", "lib", "a", "b", "c", "d"]) expect(await exists(`${env!.registry}/${ns}/${n}:latest`)).toBe(false);
  }, 300_000);

  for (const strategy of ["bake", "manifest"] as const) {
    test(`${strategy} --continue: every healthy image is published whole; the broken one failed, what builds FROM it skipped; exit 2`, async () => {
      const ns = namespace(`continue-${strategy}`);
      const dir = monorepo(ns);
      const t0 = performance.now();
      const r = await cli(["apply", "-f", join(dir, "multiarch.yaml"), "--strategy", strategy, "--continue", "--json", "--timings"]);
      const took = (performance.now() - t0) / 1000;
      expect(r.exitCode, r.stderr).toBe(2);
      const report = reportOf(r.stdout);
      const images: Image[] = report.images;
      expect(statuses(images)).toEqual({ base: "published", lib: "published", a: "published", b: "failed", c: "published", d: "skipped" });
      expect(images.find((i) => i.name === "b")!.reason).toContain(">>> RUN false");
      expect(images.find((i) => i.name === "d")!.reason).toBe("needs b, which failed");
      // the promise: each moved tag holds the verified index of this run, with every planned platform
      for (const i of images.filter((x) => x.status === "published")) {
        const held = await platformsOf(`${env!.registry}/${ns}/${i.name}:latest`);
        expect(held).toEqual({ digest: i.digest, platforms: ["linux/amd64", "linux/arm64"] });
      }
      for (const n of ["b", "d"]) expect(await exists(`${env!.registry}/${ns}/${n}:latest`)).toBe(false);
      expect((await docker(["run", "--rm", "--platform", "linux/arm64", `${env!.registry}/${ns}/a:latest`, "cat", "/a"])).stdout.trim()).toBe("a");
      expect(r.stderr).toContain("published the others: base, lib, a, c");
      // --timings: where the time went, before the steps and per kind of step
      expect(r.stderr).toMatch(/^hash inputs \(files, base image digests\)\s+\d/m);
      expect(r.stderr).toMatch(/^publish\s+(\d+ ms|[\d.]+s)\s+4\s/m);
      expect(report.timings.map((t: { phase: string }) => t.phase)).toContain(strategy === "bake" ? "bake" : "build");
      const bake = report.steps.find((st: { kind: string }) => st.kind === "bake");
      if (strategy === "bake") {
        // bake again without b and d, from the cache: what --continue costs
        expect(bake.rounds.map((x: { targets: string[] }) => x.targets)).toEqual([
          ["base", "lib", "a", "b", "c", "d"],
          ["base", "lib", "a", "c"],
        ]);
        console.log(
          `bake --continue: ${took.toFixed(1)} s; bake rounds ${bake.rounds.map((x: { durationMs: number }) => `${(x.durationMs / 1000).toFixed(1)} s`).join(" + ")}`,
        );
      } else console.log(`manifest --continue: ${took.toFixed(1)} s`);
    }, 300_000);
  }
});
