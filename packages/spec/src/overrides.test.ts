import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { loadSpec } from "./load.ts";
import { parseSets } from "./overrides.ts";

/** A spec with a matrix image, a plain one, defaults for cache and tags. */
function spec(): string {
  const dir = mkdtempSync(join(tmpdir(), "multiarch-set-"));
  mkdirSync(join(dir, ".git"));
  mkdirSync(join(dir, "app"));
  writeFileSync(join(dir, "app", "Dockerfile"), "FROM scratch\n");
  writeFileSync(
    join(dir, "multiarch.yaml"),
    `version: 1
registries: { local: { url: "localhost:5000" }, other: { url: "localhost:5001" } }
defaults:
  tags: ["1.0", latest]
  cache: { type: registry, mode: max }
  args: { A: from-defaults }
images:
  server:
    matrix: { variant: [slim, full] }
    context: app
    args: { VARIANT: "{{matrix.variant}}" }
  web:
    context: app
    platforms: [linux/amd64, linux/arm64]
`,
  );
  return join(dir, "multiarch.yaml");
}
const load = (sets: string[]) => loadSpec(spec(), { sets });
const image = (r: ReturnType<typeof load>, name: string) => {
  if (!r.ok) throw new Error(JSON.stringify(r.errors));
  return r.spec.images.find((i) => i.name === name)!;
};

describe("--set IMAGE.KEY=VALUE", () => {
  test("args, labels, annotations, tags, platforms, cache and attest of one image, of a matrix combination, or of every image (*)", () => {
    const r = load([
      "*.args.A=set",
      "server-slim.args.NEW=new",
      "web.labels.team=web",
      "web.annotations.org.opencontainers.image.title=Web",
      "web.tags=2.0, edge",
      "web.platform=linux/arm64",
      "web.cache.mode=min",
      "*.attest.sbom=true",
      "server-full.attest.provenance=false",
    ]);
    const web = image(r, "web");
    expect(web.args.map((a) => [a.key, a.value.source])).toEqual([["A", "set"]]);
    expect(web.labels.map((a) => [a.key, a.value.source])).toEqual([["team", "web"]]);
    expect(web.annotations.map((a) => [a.key, a.value.source])).toEqual([["org.opencontainers.image.title", "Web"]]);
    expect(web.tags.map((t) => t.source)).toEqual(["2.0", "edge"]);
    expect(web.platforms).toEqual(["linux/arm64"]);
    // a part of cache or attest: the rest stays what the defaults say
    expect(web.cache).toMatchObject({ type: "registry", mode: "min", registry: "local" });
    expect(web.attest).toEqual({ provenance: "min", sbom: true, asked: true });
    const slim = image(r, "server-slim");
    expect(slim.args.map((a) => [a.key, a.value.source])).toEqual([
      ["VARIANT", "slim"],
      ["A", "set"],
      ["NEW", "new"],
    ]);
    expect(image(r, "server-full").attest).toEqual({ provenance: false, sbom: true, asked: true });
    expect(image(r, "server-full").tags.map((t) => t.source)).toEqual(["1.0", "latest"]);
  });

  test.each([
    ["web", "expected IMAGE.KEY=VALUE"],
    ["web.tags", "expected IMAGE.KEY=VALUE"],
    ["web.tag=1", 'unknown key "tag"', "did you mean tags?"],
    ["web.args=1", "name the arg: web.args.NAME=VALUE"],
    ["web.tags=,", "list at least one tag (comma-separated)"],
    ["web.cache.mode=mid", "cache.mode is one of min, max"],
    ["web.cache.shared=yes", "cache.shared is true or false"],
    ["web.attest.provenance=full", "attest.provenance is min, max or false"],
  ])("%s is refused before the spec is read: %s", (set, message, hint?: string) => {
    const { errors } = parseSets([set], "multiarch.yaml");
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ code: "set-invalid", line: 0, message: `--set ${set}: ${message}` });
    if (hint) expect(errors[0]!.hint).toBe(hint);
  });

  test("a problem in a value --set gave is the override's, with no line in the file; an unknown image names the images", () => {
    const r = load(["web.platforms=linux/arm46", "server-slm.args.X=1", "web.tags={{verison}}", "*.args.A=ok", "server-full.args.M={{matrix.variant}}"]);
    expect(r.ok).toBe(false);
    const errors = !r.ok ? r.errors.map((e) => [e.code, e.line, e.message, e.hint]) : [];
    expect(errors).toContainEqual(["platform-unknown", 0, '--set web.platforms=linux/arm46: "linux/arm46": unknown platform', "did you mean linux/arm64?"]);
    expect(errors).toContainEqual(["set-invalid", 0, "--set server-slm.args.X=1: no image server-slm", "did you mean server-slim?"]);
    expect(errors).toContainEqual([
      "template-unknown-variable",
      0,
      '--set web.tags={{verison}}: template "{{verison}}": unknown variable "verison"',
      "declare it under variables:",
    ]);
    // {{matrix.KEY}} is filled in the spec's own text only: an override's value is a template over variables
    expect(errors.filter((e) => String(e[2]).includes("matrix.variant")).map((e) => String(e[2]).split(":")[0])).toEqual([
      "--set server-full.args.M={{matrix.variant}}",
    ]);
  });

  test("a key that could reach objects' prototypes is refused, as in the file (it was dropped)", () => {
    for (const key of ["__proto__", "constructor", "prototype"]) {
      const r = parseSets([`app.args.${key}=1`], "/x/multiarch.yaml");
      expect(r.errors.map((e) => e.message)).toEqual([`--set app.args.${key}=1: ${key} may not be a key`]);
    }
  });

  test("cache.KEY on an image without a cache needs cache.type too", () => {
    const dir = mkdtempSync(join(tmpdir(), "multiarch-set-"));
    mkdirSync(join(dir, "app"));
    writeFileSync(join(dir, "app", "Dockerfile"), "FROM scratch\n");
    writeFileSync(join(dir, "multiarch.yaml"), "version: 1\nregistries: { local: { url: localhost:5000 } }\nimages:\n  app: { context: app }\n");
    const bad = loadSpec(join(dir, "multiarch.yaml"), { sets: ["app.cache.mode=min"] });
    expect(!bad.ok && bad.errors[0]).toMatchObject({
      code: "set-invalid",
      message: "--set app.cache.mode=min: image app has no cache to change",
      hint: "set cache.type too",
    });
    const good = loadSpec(join(dir, "multiarch.yaml"), { sets: ["app.cache.type=registry", "app.cache.mode=min"] });
    expect(good.ok && good.spec.images[0]!.cache).toMatchObject({ type: "registry", mode: "min" });
  });
});
