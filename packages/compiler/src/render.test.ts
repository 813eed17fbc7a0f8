// Tag rules (issue 22), as a table against docker/metadata-action's documented examples: each row is a
// git ref as CI checks it out, the tag templates a multiarch spec writes for metadata-action's entry,
// what metadata-action documents, and what multiarch gives. Rows differ only where multiarch's rule is
// stricter: a prerelease moves no major/minor tag and no latest.
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadSpec } from "@multiarch/spec";
import { describe, expect, test } from "vitest";
import { compile } from "./compile.ts";
import type { Facts } from "./render.ts";

const SHA = "860c1904a1ce19322e91ac35af1ab07466440c37";
const ALWAYS = "always"; // a tag every row has, so a row may drop all of its own

/** The git and CI facts of a ref as GitHub Actions checks it out. */
function factsOf(ref: string): Facts {
  const tag = /^refs\/tags\/(.+)$/.exec(ref)?.[1] ?? "";
  const branch = /^refs\/heads\/(.+)$/.exec(ref)?.[1] ?? (ref.startsWith("refs/pull/") ? "feature/x" : "");
  return { git: { sha: SHA, shortSha: SHA.slice(0, 7), branch, tag }, env: { GITHUB_REF: ref, VERSION: tag } };
}

function tagsOf(ref: string, tags: (string | Record<string, unknown>)[]): { tags: string[]; dropped: string[] } {
  const dir = mkdtempSync(join(tmpdir(), "multiarch-tags-"));
  mkdirSync(join(dir, ".git"));
  mkdirSync(join(dir, "app"));
  writeFileSync(join(dir, "app", "Dockerfile"), "FROM scratch\n");
  const yaml = `version: 1\nregistries: { r: { url: "localhost:5000" } }\nvariables: { version: { env: VERSION, default: "" } }\nimages:\n  app:\n    context: app\n    tags: ${JSON.stringify([ALWAYS, ...tags])}\n`;
  writeFileSync(join(dir, "multiarch.yaml"), yaml);
  const spec = loadSpec(join(dir, "multiarch.yaml"));
  if (!spec.ok) throw new Error(JSON.stringify(spec.errors));
  const r = compile(spec.spec, factsOf(ref), { strategy: { requested: "bake", chosen: "bake", reason: "test" } });
  if (!r.ok) throw new Error(JSON.stringify(r.errors));
  const img = r.compiled.plan.images[0]!;
  return { tags: img.refs[0]!.tags.filter((t) => t !== ALWAYS), dropped: img.droppedTags ?? [] };
}

const semver = (pattern: string) => `{{semver version "${pattern}"}}`;

// [ref, multiarch tags, metadata-action's documented output, multiarch's output]
const SEMVER: [string, string, string[], string[]][] = [
  // type=semver,pattern=... (the table of README "type=semver")
  ["refs/tags/v1.2.3", semver("{{raw}}"), ["v1.2.3"], ["v1.2.3"]],
  ["refs/tags/v1.2.3", semver("{{version}}"), ["1.2.3"], ["1.2.3"]],
  ["refs/tags/v1.2.3", semver("{{major}}.{{minor}}"), ["1.2"], ["1.2"]],
  ["refs/tags/v1.2.3", semver("v{{major}}"), ["v1"], ["v1"]],
  ["refs/tags/v1.2.3", semver("{{minor}}"), ["2"], ["2"]],
  ["refs/tags/v1.2.3", semver("{{patch}}"), ["3"], ["3"]],
  ["refs/tags/v2.0.8-beta.67", semver("{{raw}}"), ["v2.0.8-beta.67"], ["v2.0.8-beta.67"]],
  ["refs/tags/v2.0.8-beta.67", semver("{{version}}"), ["2.0.8-beta.67"], ["2.0.8-beta.67"]],
  // metadata-action falls back to {{version}} (a second 2.0.8-beta.67); multiarch gives no tag
  ["refs/tags/v2.0.8-beta.67", semver("{{major}}.{{minor}}"), ["2.0.8-beta.67"], []],
  // build metadata: not in {{version}}; {{raw}} keeps it, made tag-safe (+ is not allowed in a tag)
  ["refs/tags/v1.2.3+build.5", semver("{{version}}"), ["1.2.3"], ["1.2.3"]],
  ["refs/tags/v1.2.3+build.5", semver("{{raw}}"), ["v1.2.3-build.5"], ["v1.2.3-build.5"]],
  // not a tag build: type=semver gives nothing
  ["refs/heads/master", semver("{{version}}"), [], []],
  // the short helpers
  ["refs/tags/v1.2.3", "{{majorMinor version}}", ["1.2"], ["1.2"]],
  ["refs/tags/v1.2.3", "v{{major version}}", ["v1"], ["v1"]],
  ["refs/tags/v2.0.8-beta.67", "v{{major version}}", ["2.0.8-beta.67"], []],
];

// README "Semver" workflow: type=ref,event=branch / type=ref,event=pr / type=semver {{version}} / {{major}}.{{minor}}, latest=auto
const WORKFLOW = ['{{ref "branch"}}', '{{ref "pr"}}', semver("{{version}}"), semver("{{major}}.{{minor}}"), "{{#if git.tag}}latest{{/if}}"];
const SEMVER_WORKFLOW: [string, string[], string[]][] = [
  ["refs/pull/2/merge", ["pr-2"], ["pr-2"]],
  ["refs/heads/master", ["master"], ["master"]],
  ["refs/heads/releases/v1", ["releases-v1"], ["releases-v1"]],
  ["refs/tags/v1.2.3", ["1.2.3", "1.2", "latest"], ["1.2.3", "1.2", "latest"]],
  ["refs/tags/v2.0.8-beta.67", ["2.0.8-beta.67"], ["2.0.8-beta.67"]],
];

// README "type=ref" and the "Basic" workflow (type=ref for branch, tag and pr, latest on tags)
const REF: [string, string, string[], string[]][] = [
  ["refs/pull/2/merge", '{{ref "pr"}}', ["pr-2"], ["pr-2"]],
  ["refs/heads/master", '{{ref "branch"}}', ["master"], ["master"]],
  ["refs/heads/my/branch", '{{ref "branch"}}', ["my-branch"], ["my-branch"]],
  ["refs/tags/v1.2.3", '{{ref "tag"}}', ["v1.2.3"], ["v1.2.3"]],
  ["refs/tags/v2.0.8-beta.67", '{{ref "tag"}}', ["v2.0.8-beta.67"], ["v2.0.8-beta.67"]],
  // a pull request build is not a branch build
  ["refs/pull/2/merge", '{{ref "branch"}}', [], []],
];

// README "type=sha" and "Global expressions"
const SHA_ROWS: [string, string, string[], string[]][] = [
  ["refs/heads/master", "{{sha}}", ["sha-860c190"], ["sha-860c190"]],
  ["refs/heads/master", '{{sha format="long"}}', [`sha-${SHA}`], [`sha-${SHA}`]],
  ["refs/heads/master", '{{ref "branch"}}-{{sha prefix=""}}', ["master-860c190"], ["master-860c190"]],
];

describe("tags as docker/metadata-action's documented examples give them", () => {
  test.each([...SEMVER, ...REF, ...SHA_ROWS])("%s %s (metadata-action: %j)", (ref, template, _theirs, ours) => {
    expect(tagsOf(ref, [template]).tags).toEqual(ours);
  });
  test.each(SEMVER_WORKFLOW)("the Semver workflow on %s (metadata-action: %j)", (ref, _theirs, ours) => {
    expect(tagsOf(ref, WORKFLOW).tags).toEqual(ours);
  });
});

describe("prereleases move no stable tag", () => {
  test("latest stays on the last release, unless the tag says onPrerelease", () => {
    // metadata-action's Basic workflow tags latest for v2.0.8-beta.67 (type=ref,event=tag); multiarch does not
    const rc = tagsOf("refs/tags/v2.0.8-beta.67", ['{{ref "tag"}}', "latest"]);
    expect(rc.tags).toEqual(["v2.0.8-beta.67"]);
    expect(rc.dropped).toEqual(['"latest" (latest moves only on releases, and the git tag is prerelease v2.0.8-beta.67)']);
    expect(tagsOf("refs/tags/v2.0.8-beta.67", ['{{ref "tag"}}', { tag: "latest", onPrerelease: true }]).tags).toEqual(["v2.0.8-beta.67", "latest"]);
    expect(tagsOf("refs/tags/v1.2.3", ['{{ref "tag"}}', "latest"]).tags).toEqual(["v1.2.3", "latest"]);
  });
  test("a floating tag can be release-only too; the reason is kept for apply --explain", () => {
    const rc = tagsOf("refs/tags/v2.0.0-rc.1", ["{{semver version}}", "{{majorMinor version}}-slim", { tag: "stable", onPrerelease: false }]);
    expect(rc.tags).toEqual(["2.0.0-rc.1"]);
    expect(rc.dropped).toEqual([
      '"{{majorMinor version}}-slim" (v2.0.0-rc.1 is a prerelease: major, minor and patch tags move only on releases)',
      '"stable" (stable moves only on releases, and version is prerelease v2.0.0-rc.1)',
    ]);
    expect(tagsOf("refs/tags/v2.0.0", ["{{majorMinor version}}-slim", { tag: "stable", onPrerelease: false }]).tags).toEqual(["2.0-slim", "stable"]);
  });
  test("a helper tested in {{#if}} is a value, not a dropped tag", () => {
    expect(tagsOf("refs/heads/main", ["{{#if (major version)}}v{{major version}}{{else}}dev{{/if}}"]).tags).toEqual(["dev"]);
  });
});
