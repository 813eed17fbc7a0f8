import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { ImageInputFacts, PublishedTag } from "@multiarch/plan";
import { INPUT_HASH_LABEL } from "@multiarch/plan";
import { loadSpec, type Spec } from "@multiarch/spec";
import { describe, expect, test } from "vitest";
import type { BakeFile } from "./bake.ts";
import { type CompileOptions, compile } from "./compile.ts";

const bake: CompileOptions["strategy"] = { requested: "bake", chosen: "bake", reason: "test" };
const git = { sha: "a".repeat(40), shortSha: "aaaaaaa", branch: "main", tag: "", time: "1700000000" };

/** `other`, `base`: more fields of images other and base, e.g. ", target: final". */
function spec(other = "", base = ""): Spec {
  const dir = mkdtempSync(join(tmpdir(), "multiarch-inputs-"));
  mkdirSync(join(dir, ".git"));
  for (const f of ["base", "app", "other"]) {
    mkdirSync(join(dir, f));
    writeFileSync(join(dir, f, "Dockerfile"), "FROM scratch\n");
  }
  writeFileSync(
    join(dir, "multiarch.yaml"),
    `version: 1\nregistries: { r: { url: "localhost:5000/x" } }\ndefaults: { tags: ["2.0", latest] }\nimages:\n  base: { context: base${base} }\n  app: { context: app, contexts: { base: "image:base" } }\n  other: { context: other${other} }\n`,
  );
  const r = loadSpec(join(dir, "multiarch.yaml"));
  if (!r.ok) throw new Error(JSON.stringify(r.errors));
  return r.spec;
}
const facts = (over: Partial<Record<string, Partial<ImageInputFacts>>> = {}): Record<string, ImageInputFacts> =>
  Object.fromEntries(["base", "app", "other"].map((n) => [n, { dockerfile: `df-${n}`, context: `ctx-${n}`, contexts: {}, bases: [], ...over[n] }]));

function plan(inputs: Record<string, ImageInputFacts>, published?: Record<string, PublishedTag | null>, other = "") {
  const r = compile(spec(other), { git, env: {}, inputs, ...(published ? { published } : {}) }, { strategy: bake });
  if (!r.ok) throw new Error(JSON.stringify(r.errors));
  return r.compiled;
}
const hashes = (c: ReturnType<typeof plan>) => Object.fromEntries(c.plan.images.map((i) => [i.name, i.inputHash]));
const all = (c: ReturnType<typeof plan>, over: Record<string, Partial<PublishedTag>> = {}) =>
  Object.fromEntries(
    c.plan.images.flatMap((i) =>
      i.refs.flatMap((r) =>
        r.tags.map((t) => [
          `${r.name}:${t}`,
          { digest: `sha256:${i.name}`, platforms: i.platforms, inputHash: i.inputHash!, inputParts: i.inputParts!, ...over[i.name] },
        ]),
      ),
    ),
  );

describe("input hashes", () => {
  test("build options (build-options.ts) leave the hashes what they were: target always in, empty when unset", () => {
    const build = (other = "") => plan(facts(), undefined, other).plan.images.find((i) => i.name === "other")!.inputParts!.build;
    expect([build(), build(", target: final")]).toEqual(["f88bb6b7b8f5", "c3e58b2ab38d"]);
  });

  // A changed smoke test left the image "up to date": the new test never ran against the published index.
  test("the smoke test is an input: adding or changing one changes the hash; images without one keep theirs", () => {
    const build = (other = "") => plan(facts(), undefined, other).plan.images.find((i) => i.name === "other")!.inputParts!.build;
    const none = build();
    expect(none).toBe("f88bb6b7b8f5");
    const one = build(', test: { run: ["true"] }');
    expect(one).not.toBe(none);
    expect(build(', test: { run: ["false"] }')).not.toBe(one);
  });

  test("an image a step reads besides FROM (COPY --from, a docker-image:// context) is a base: a new digest changes the hash", () => {
    const copied = (digest: string) => facts({ other: { bases: [{ ref: "reg.example/tools:1", line: 3, digest }] } });
    expect(hashes(plan(copied("sha256:1"))).other).not.toBe(hashes(plan(copied("sha256:2"))).other);
  });

  test("attestations are inputs: turning provenance off or an SBOM on changes the hash; the default leaves it as it was", () => {
    const before = hashes(plan(facts()));
    expect(hashes(plan(facts(), undefined, ", attest: { provenance: min }"))).toEqual(before);
    for (const attest of [", attest: { provenance: false }", ", attest: { sbom: true }", ", attest: { provenance: max }"]) {
      const after = hashes(plan(facts(), undefined, attest));
      expect(after.other, attest).not.toBe(before.other);
      expect(after.base).toBe(before.base);
    }
  });

  test("a Merkle chain: a base's change changes it and its dependents, nothing else", () => {
    const before = hashes(plan(facts()));
    const after = hashes(plan(facts({ base: { context: "ctx-base-2" } })));
    expect(after.base).not.toBe(before.base);
    expect(after.app).not.toBe(before.app);
    expect(after.other).toBe(before.other);
  });

  test("a moved external base tag changes the hash; a new commit alone does not", () => {
    const one = hashes(plan(facts({ other: { bases: [{ ref: "alpine:3", line: 1, digest: "sha256:1" }] } })));
    const two = hashes(plan(facts({ other: { bases: [{ ref: "alpine:3", line: 1, digest: "sha256:2" }] } })));
    expect(two.other).not.toBe(one.other);
    const r = compile(spec(), { git: { ...git, sha: "b".repeat(40), time: "1800000000" }, env: {}, inputs: facts() }, { strategy: bake });
    expect(r.ok && hashes(r.compiled)).toEqual(hashes(plan(facts())));
  });

  test("the hash rides on the image config (label) and the index (annotation)", () => {
    const c = plan(facts());
    expect(c.bake.target.other!.labels![INPUT_HASH_LABEL]).toBe(c.plan.images.find((i) => i.name === "other")!.inputHash);
    expect(c.bake.target.other!.annotations).toContain(`index:${INPUT_HASH_LABEL}=${c.plan.images.find((i) => i.name === "other")!.inputHash}`);
    expect(c.bake.target.other!.args).toMatchObject({ SOURCE_DATE_EPOCH: "1700000000" });
  });
});

describe("decisions", () => {
  test("tags that hold these inputs' index: up to date, nothing runs", () => {
    const first = plan(facts());
    const c = plan(facts(), all(first));
    expect(c.plan.images.map((i) => [i.name, i.upToDate?.digest])).toEqual([
      ["base", "sha256:base"],
      ["app", "sha256:app"],
      ["other", "sha256:other"],
    ]);
    expect(c.plan.stages).toEqual([]);
    // found by a review: the run's bake file then held no target, which bake refuses ("Missing block label")
    expect(Object.keys((JSON.parse(c.files["docker-bake.json"]!) as BakeFile).target)).toEqual(["app", "base", "other"]);
  });

  test("one leaf changed: only it is built; its base is up to date", () => {
    const first = plan(facts());
    const c = plan(facts({ app: { context: "ctx-app-2" } }), all(first));
    expect(c.plan.images.find((i) => i.name === "app")).toMatchObject({ changed: ["context"] });
    const bakeArgs = c.plan.stages.find((s) => s.name === "build")!.steps[0]!.commands[0]!.args;
    expect(bakeArgs.slice(-1)).toEqual(["app"]);
    // app builds FROM the published base by digest, not by rebuilding it
    expect(c.bake.target.app!.contexts).toEqual({ base: "docker-image://localhost:5000/x/base@sha256:base" });
    // the run's bake file holds app alone: buildx reads every target of its file, whichever it builds
    const file = JSON.parse(c.files["docker-bake.json"]!) as BakeFile;
    expect([Object.keys(file.target), file.group.default!.targets]).toEqual([["app"], ["app"]]);
  });

  // found by a review: apply --no-publish built and pushed all twelve images of an unchanged monorepo again
  test("--no-publish: images whose tags hold their inputs' result are up to date; a changed one is built, not published", () => {
    const first = plan(facts());
    const changed = facts({ app: { context: "ctx-app-2" } });
    const r = compile(spec(), { git, env: {}, inputs: changed, published: all(first) }, { strategy: bake, noPublish: true });
    if (!r.ok) throw new Error(JSON.stringify(r.errors));
    const images = r.compiled.plan.images;
    expect(images.map((i) => [i.name, i.upToDate?.digest, i.notPublished])).toEqual([
      ["base", "sha256:base", "--no-publish"],
      ["app", undefined, "--no-publish"],
      ["other", "sha256:other", "--no-publish"],
    ]);
    expect(r.compiled.plan.stages.find((s) => s.name === "publish")).toBeUndefined();
  });

  // found by a review: apply --image app built and pushed base again though its tags held its inputs' result;
  // and, base built for app's platforms only, hashed so, app's hash was not the full run's: each rebuilt it
  test("--image: a dependency whose tags hold its inputs is FROM'd by digest, not built; a changed one is built", () => {
    const wide = ", platforms: [linux/amd64, linux/arm64, linux/arm/v7]";
    const full = compile(spec("", wide), { git, env: {}, inputs: facts() }, { strategy: bake });
    if (!full.ok) throw new Error(JSON.stringify(full.errors));
    const first = full.compiled;
    const only = (inputs: Record<string, ImageInputFacts>) => {
      const r = compile(spec("", wide), { git, env: {}, inputs, published: all(first) }, { strategy: bake, images: ["app"] });
      if (!r.ok) throw new Error(JSON.stringify(r.errors));
      return r.compiled;
    };
    // nothing changed: the hashes are the full run's, so everything is up to date
    expect(only(facts()).plan.images.map((i) => [i.name, i.platforms.length, i.upToDate?.digest])).toEqual([
      ["base", 2, "sha256:base"],
      ["app", 2, "sha256:app"],
    ]);
    const c = only(facts({ app: { context: "ctx-app-2" } }));
    expect(c.plan.images.map((i) => [i.name, i.upToDate?.digest, i.changed])).toEqual([
      ["base", "sha256:base", undefined],
      ["app", undefined, ["context"]],
    ]);
    expect(c.bake.target.app!.contexts).toEqual({ base: "docker-image://localhost:5000/x/base@sha256:base" });
    const changed = only(facts({ base: { context: "ctx-base-2" } }));
    expect(changed.plan.images.map((i) => [i.name, i.upToDate, i.reuse])).toEqual([
      ["base", undefined, undefined],
      ["app", undefined, undefined],
    ]);
    expect(changed.bake.target.app!.contexts).toEqual({ base: "target:base" });
  });

  // found by a review: with the manifest strategy an internal base was built, pushed and verified on every apply
  test("an internal base whose users are all up to date runs nothing, with either strategy", () => {
    const manifest: CompileOptions["strategy"] = { requested: "manifest", chosen: "manifest", reason: "test" };
    for (const strategy of [bake, manifest]) {
      const at = (published?: Record<string, PublishedTag | null>) => {
        const r = compile(spec("", ", publish: false"), { git, env: {}, inputs: facts(), ...(published ? { published } : {}) }, { strategy });
        if (!r.ok) throw new Error(JSON.stringify(r.errors));
        return r.compiled;
      };
      const first = at();
      // bake builds it through app's link; the manifest strategy with steps of its own
      expect(
        first.plan.stages.flatMap((st) => st.steps).some((s) => s.image === "base"),
        strategy.chosen,
      ).toBe(strategy === manifest);
      expect(at(all(first)).plan.stages, strategy.chosen).toEqual([]);
    }
  });

  test("the run's bake file keeps the targets its built images link (target:); plan's holds every target", () => {
    const first = plan(facts());
    expect(Object.keys((JSON.parse(first.files["docker-bake.json"]!) as BakeFile).target)).toEqual(["app", "base", "other"]);
    const c = plan(facts({ base: { context: "ctx-base-2" } }), all(first));
    const file = JSON.parse(c.files["docker-bake.json"]!) as BakeFile;
    expect([Object.keys(file.target), file.target.app!.contexts]).toEqual([["app", "base"], { base: "target:base" }]);
  });

  test("a new tag on unchanged inputs publishes the existing index without building", () => {
    const first = plan(facts());
    // `latest` holds these inputs' index; the new version tag 2.0 holds nothing yet
    const c = plan(facts(), { ...all(first), "localhost:5000/x/other:2.0": null });
    const other = c.plan.images.find((i) => i.name === "other")!;
    expect(other.reuse).toEqual({ "localhost:5000/x/other": "sha256:other" });
    expect(c.plan.stages.map((s) => s.name)).toEqual(["verify", "publish"]);
    const verify = c.plan.stages[0]!.steps[0]!;
    expect(verify.read?.ref).toBe("localhost:5000/x/other@sha256:other");
  });

  test("an image holding another platform set, or no recorded inputs, is built and says why", () => {
    const first = plan(facts());
    const c = plan(facts(), all(first, { other: { platforms: ["linux/amd64"] } }));
    expect(c.plan.images.find((i) => i.name === "other")!.changed).toContain("platforms");
    const d = plan(facts(), all(first, { other: { inputHash: undefined, inputParts: undefined } as unknown as Partial<PublishedTag> }));
    expect(d.plan.images.find((i) => i.name === "other")!.changed).toEqual(["the tags hold an image without recorded inputs"]);
  });

  // found by a review: --explain said "changed: bases" and named none
  test("a base that moved is named, with the digest it holds now", () => {
    const on = (digest: string) => facts({ other: { bases: [{ ref: "alpine:3", line: 1, digest }] } });
    const c = plan(on(`sha256:${"b".repeat(64)}`), all(plan(on(`sha256:${"a".repeat(64)}`))));
    expect(c.plan.images.find((i) => i.name === "other")!.changed).toEqual([`bases (now alpine:3@sha256:${"b".repeat(64)})`]);
  });

  // found by a review: a tag the registry did not answer for was said "not published yet"
  test("a tag that could not be read is said as such, not as never published", () => {
    const first = plan(facts());
    // other's tags unread (the registry did not answer), the rest as published
    const published = Object.fromEntries(Object.entries(all(first)).filter(([ref]) => !ref.startsWith("localhost:5000/x/other:")));
    const c = plan(facts(), published);
    expect(c.plan.images.find((i) => i.name === "other")!.changed).toEqual(["a tag could not be read (see the warnings)"]);
  });

  test("a base that could not be read: never up to date", () => {
    const f = facts({ other: { bases: [{ ref: "alpine:3", line: 1, error: "HTTP 503" }] } });
    const first = plan(f);
    const c = plan(f, all(first));
    expect(c.plan.images.find((i) => i.name === "other")).toMatchObject({
      inputsUnknown: expect.stringContaining("alpine:3"),
      changed: [expect.stringContaining("HTTP 503")],
    });
  });
});

test("layer timestamps are rewritten to SOURCE_DATE_EPOCH on drivers that allow it, never on the docker driver", () => {
  const engine = (driver: string) => ({ reachable: true, buildx: true, multiPlatform: true, driver, reason: "t" });
  const out = (driver: string) => {
    const r = compile(spec(), { git, env: {} }, { strategy: { ...bake, engine: engine(driver) } });
    if (!r.ok) throw new Error("compile");
    return r.compiled.bake.target.app!.output![0];
  };
  expect(out("docker-container")).toContain("rewrite-timestamp=true");
  expect(out("docker")).not.toContain("rewrite-timestamp");
});
