// Bake files as written in the wild (issue 13), applied for real: an internal base built for its users and
// never tagged, matrix images sharing one repository, semver tags, extra tags from a list variable, a group.
import { describe, expect, test } from "vitest";
import { cli, docker, env, example, platformsOf, reportOf } from "./helpers.ts";

const tagExists = async (ref: string) => (await docker(["buildx", "imagetools", "inspect", ref])).exitCode === 0;

describe.skipIf(!env)("examples/bakery", () => {
  test("apply: every published image holds both platforms under its semver, matrix and list tags; the internal base gets no tag", async () => {
    const dir = example("bakery");
    const version = `3.${Date.now() % 100000}.0-rc.1`; // a prerelease: no latest
    const extra = `e2e-${Date.now().toString(36)}`;
    const r = await cli(["apply", "-f", `${dir}/multiarch.yaml`, "--json", "--explain"], { env: { VERSION: version, EXTRA_TAGS: `${extra}, ` } });
    expect(r.exitCode, r.stderr).toBe(0);
    const report = reportOf(r.stdout);
    expect(Object.fromEntries(report.images.map((i: { name: string; status: string }) => [i.name, i.status]))).toEqual({
      base: "built",
      "server-slim": "published",
      "server-full": "published",
      tool: "published",
    });
    const repo = `${env!.registry}/bakery`;
    const minor = version.split(".").slice(0, 2).join(".");
    for (const ref of [
      `server:${version}-slim`,
      `server:${minor}-full`,
      "server:slim",
      `tool:${version}`,
      `tool:${minor}`,
      `tool:${extra}`,
      `tools:${version}`,
    ]) {
      expect((await platformsOf(`${repo}/${ref}`)).platforms, ref).toEqual(["linux/amd64", "linux/arm64"]);
    }
    expect(await tagExists(`${repo}/base:${version}`)).toBe(false);
    // each matrix combination is its own image, told apart by the arg the matrix set
    const out = await docker(["run", "--rm", "--pull", "always", "--platform", "linux/arm64", `${repo}/server:${version}-full`, "cat", "/etc/variant"]);
    expect(out.stdout.trim()).toBe("full");
    expect(r.stderr).toContain('tag template "{{#unless (isPrerelease version)}}latest{{/unless}}" renders empty');
    expect(r.stderr).toContain('tool: no tag from "{{#unless (isPrerelease version)}}latest{{/unless}}" (renders empty) in this run');
  }, 240_000);
});
