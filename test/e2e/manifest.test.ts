// The manifest strategy end to end: per-arch docker build (plain manifests), push, docker manifest merge.
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { execa } from "execa";
import { describe, expect, test } from "vitest";
import { BIN, cli, docker, env, example, namespace, platformsOf, repo, reportOf } from "./helpers.ts";

describe.skipIf(!env)("apply with the manifest strategy", () => {
  test("fallback example: a manifest list with exactly the requested platforms, each running its arch", async () => {
    const dir = example("fallback");
    const r = await cli(["apply", "-f", join(dir, "multiarch.yaml"), "--json"], { env: { VERSION: "2.0.1" } });
    expect(r.exitCode, r.stderr).toBe(0);
    const report = reportOf(r.stdout);
    expect(report.strategy.chosen).toBe("manifest");
    const ref = `${env!.registry}/fallback/tool:2.0.1`;
    const inspect = await docker(["manifest", "inspect", "--insecure", ref]);
    expect(inspect.exitCode, inspect.stderr).toBe(0);
    const list = JSON.parse(inspect.stdout) as { manifests: { platform: { os: string; architecture: string; variant?: string } }[] };
    // the order of a list's entries carries no meaning; os, arch and variant must be exact
    expect(list.manifests.map((m) => [m.platform.os, m.platform.architecture, m.platform.variant].filter(Boolean).join("/")).sort()).toEqual([
      "linux/amd64",
      "linux/arm/v7",
      "linux/arm64",
    ]);
    for (const [platform, uname] of [
      ["linux/arm64", "aarch64"],
      ["linux/arm/v7", "armv7l"],
      ["linux/amd64", "x86_64"],
    ]) {
      const run = await docker(["run", "--rm", "--pull", "always", "--platform", platform!, ref]);
      expect(run.stdout.trim(), platform).toBe(uname);
    }
  });

  test("attestations and a registry cache (issue 22): per-arch indexes merged with their provenance, this platform's cache written, verified, published whole", async () => {
    const ns = namespace("manifest-attest");
    const registry = `${env!.registry}/${ns}`;
    const dir = repo({
      // sbom needs docker/buildkit-syft-scanner from Docker Hub, which this offline machine cannot reach: provenance only
      "multiarch.yaml": `version: 1\nplatforms: [linux/amd64, linux/arm64]\nregistries:\n  local: { url: "${registry}", insecure: true }\nimages:\n  app:\n    context: app\n    tags: ["1.0", latest]\n    cache: { type: registry }\n    attest: { provenance: max }\n    test: { run: [cat, /arch] }\nbuild: { strategy: manifest }\n`,
      "app/Dockerfile": `FROM ${env!.baseImage}\nRUN uname -m > /arch\n`,
    });
    const r = await cli(["apply", "-f", join(dir, "multiarch.yaml"), "--json"]);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(reportOf(r.stdout).strategy.chosen).toBe("manifest");
    const raw = await docker(["buildx", "imagetools", "inspect", `${registry}/app:1.0`, "--raw"]);
    const index = JSON.parse(raw.stdout) as { manifests: { platform: { os: string; architecture: string }; annotations?: Record<string, string> }[] };
    const kinds = index.manifests.map(
      (m) => `${m.platform.os}/${m.platform.architecture}${m.annotations?.["vnd.docker.reference.type"] ? " attestation" : ""}`,
    );
    expect(kinds.sort()).toEqual(["linux/amd64", "linux/arm64", "unknown/unknown attestation", "unknown/unknown attestation"]);
    const provenance = await docker(["buildx", "imagetools", "inspect", `${registry}/app:latest`, "--format", "{{json .Provenance}}"]);
    expect(Object.keys(JSON.parse(provenance.stdout)).sort()).toEqual(["linux/amd64", "linux/arm64"]);
    for (const p of ["linux-amd64", "linux-arm64"]) expect((await platformsOf(`${registry}/app:buildcache-${p}`)).digest, p).toMatch(/^sha256:/);
    // no tag of one platform: a user tag holds every planned platform
    expect((await docker(["buildx", "imagetools", "inspect", `${registry}/app:1.0-arm64`])).exitCode).not.toBe(0);
  }, 180_000);

  test("a re-run with a stale local manifest list still works", async () => {
    const dir = example("fallback");
    expect((await cli(["apply", "-f", join(dir, "multiarch.yaml")], { env: { VERSION: "2.0.2" } })).exitCode).toBe(0);
    const again = await cli(["apply", "-f", join(dir, "multiarch.yaml")], { env: { VERSION: "2.0.2" } });
    expect(again.exitCode, again.stderr).toBe(0);
  });

  /** The CLI with buildx hidden from docker's plugin path, for this process tree only (a mount namespace). */
  async function withoutBuildx(args: string[]) {
    const plugins = (await docker(["info", "--format", "{{range .ClientInfo.Plugins}}{{.Path}} {{end}}"])).stdout.trim().split(" ").filter(Boolean);
    const hide = [...new Set(plugins.map((p) => dirname(p)))].map((d) => `mount -t tmpfs none ${d}`).join(" && ");
    const script = `${hide} && docker buildx version >/dev/null 2>&1 && exit 99; exec node "$0" "$@"`;
    const r = await execa("unshare", ["-m", "sh", "-c", script, BIN, ...args], {
      reject: false,
      stdin: "ignore",
      env: { NO_COLOR: "1" },
    });
    expect(r.exitCode, String(r.stderr)).not.toBe(99);
    return r;
  }

  const legacyRepo = (ns: string) =>
    repo({
      "multiarch.yaml": `version: 1\nplatforms: [linux/amd64, linux/arm64]\nregistries:\n  local: { url: "${env!.registry}/${ns}", insecure: true }\nimages:\n  app:\n    context: app\n    tags: ["1.0"]\n`,
      "app/Dockerfile": `FROM ${env!.baseImage}\nRUN uname -m > /arch\n`,
    });

  test("without buildx: the legacy builder and plain docker commands; a wrong-arch result is never published", async () => {
    const ns = namespace("legacy");
    const dir = legacyRepo(ns);
    const r = await withoutBuildx(["apply", "-f", join(dir, "multiarch.yaml"), "--json"]);
    const report = reportOf(String(r.stdout));
    expect(report.strategy).toMatchObject({ chosen: "manifest", legacyBuilder: true });
    const plan = readFileSync(join(dir, ".multiarch/plan.json"), "utf8");
    const args = (JSON.parse(plan) as { stages: { steps: { commands: { args: unknown[] }[] }[] }[] }).stages.flatMap((st) =>
      st.steps.flatMap((x) => x.commands.flatMap((c) => c.args)),
    );
    expect(args).not.toContain("buildx");
    expect(plan).not.toContain("--provenance");
    const published = await docker(["manifest", "inspect", "--insecure", `${env!.registry}/${ns}/app:1.0`]);
    if (report.exitCode === 0) {
      // an engine whose legacy builder honours --platform: a correct list
      expect(published.exitCode).toBe(0);
      expect(JSON.parse(published.stdout).manifests.map((m: { platform: { architecture: string } }) => m.platform.architecture)).toEqual(["amd64", "arm64"]);
    } else {
      // dockerd 26 with the containerd store: the legacy builder ignores --platform and builds amd64;
      // verification sees it and the tag is never written
      expect(report.exitCode).toBe(3);
      expect(report.steps.find((s: { kind: string }) => s.kind === "verify").check.missing).toContain("linux/arm64");
      expect(published.exitCode).not.toBe(0);
    }
  });

  // The shard's own check read `docker manifest inspect` of its one image, which names no platform
  // (only a list's entries do): "missing linux/amd64", exit 3, for an image that was right.
  test("without buildx, a shard: its image is checked by the platform its config names", async () => {
    const ns = namespace("legacy-shard");
    const spec = join(legacyRepo(ns), "multiarch.yaml");
    const shard = async (platform: string) => {
      const out = reportOf(String((await withoutBuildx(["apply", "-f", spec, "--shard", platform, "--json"])).stdout));
      expect(out.plan.strategy).toMatchObject({ chosen: "manifest", legacyBuilder: true });
      const steps = (out.reports?.[0]?.steps ?? []) as { id: string; kind: string; status: string; error?: string; check?: unknown }[];
      return {
        exitCode: out.exitCode,
        check: steps.find((s) => s.kind === "verify")?.check,
        steps: JSON.stringify([out.errors, steps.map((s) => [s.id, s.status, s.error])]),
      };
    };
    const amd = await shard("linux/amd64");
    expect(amd.check, amd.steps).toMatchObject({ ok: true, found: ["linux/amd64"] });
    expect(amd.exitCode).toBe(0);
    const arm = await shard("linux/arm64");
    if (arm.exitCode !== 0) {
      // dockerd 26 with the containerd store: the legacy builder built amd64, and the check says so
      expect(arm, arm.steps).toMatchObject({ exitCode: 3, check: { ok: false, found: ["linux/amd64"], missing: ["linux/arm64"] } });
    } else expect(arm.check, arm.steps).toMatchObject({ ok: true, found: ["linux/arm64"] });
  });
});
