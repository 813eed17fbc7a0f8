import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { asPlan, perArchTag, type Step, sha256 } from "@multiarch/plan";
import { parsePlanFile } from "@multiarch/plan/read";
import { loadSpec, type Spec } from "@multiarch/spec";
import { describe, expect, test } from "vitest";
import { bakeBatches } from "./bake-plan.ts";
import { type CompileOptions, check, compile } from "./compile.ts";
import type { Facts } from "./render.ts";

const EXAMPLES = resolve(import.meta.dirname, "../../../examples");
const GIT: Facts["git"] = { sha: "0123456789abcdef0123456789abcdef01234567", shortSha: "0123456", branch: "main", tag: "" };
const facts: Facts = { git: GIT, env: {} };
const bake: CompileOptions["strategy"] = { requested: "bake", chosen: "bake", reason: "test" };
const manifest: CompileOptions["strategy"] = { requested: "manifest", chosen: "manifest", reason: "test" };

function load(file: string): Spec {
  const r = loadSpec(file);
  if (!r.ok) throw new Error(JSON.stringify(r.errors));
  return r.spec;
}
function compiled(spec: Spec, options: CompileOptions, f: Facts = facts) {
  const r = compile(spec, f, options);
  if (!r.ok) throw new Error(JSON.stringify(r.errors));
  return r.compiled;
}
/** A throwaway repo with a spec and a Dockerfile per image folder. */
function repo(yaml: string, folders: string[] = ["app"]): string {
  const dir = mkdtempSync(join(tmpdir(), "multiarch-compile-"));
  mkdirSync(join(dir, ".git"));
  for (const f of folders) {
    mkdirSync(join(dir, f), { recursive: true });
    writeFileSync(join(dir, f, "Dockerfile"), "FROM scratch\n");
  }
  writeFileSync(join(dir, "multiarch.yaml"), yaml);
  return join(dir, "multiarch.yaml");
}

describe("golden artifacts of the examples", () => {
  test.each([
    ["quickstart", bake],
    ["monorepo", bake],
    ["fallback", manifest],
    ["oci", bake],
    ["sharded", bake],
    ["bakery", bake],
  ] as const)("%s", async (name, strategy) => {
    const c = compiled(load(join(EXAMPLES, name, "multiarch.yaml")), { strategy });
    for (const [file, content] of Object.entries(c.files)) {
      await expect(content).toMatchFileSnapshot(`./__golden__/${name}/${file}`);
    }
  });
});

describe("compile", () => {
  test("every plan file it writes reads back through the plan schema", () => {
    for (const [name, strategy] of [
      ["monorepo", bake],
      ["fallback", manifest],
      ["oci", bake],
    ] as const) {
      const c = compiled(load(join(EXAMPLES, name, "multiarch.yaml")), { strategy });
      for (const [file, text] of Object.entries(c.files).filter(([f]) => f.endsWith(".json") && !f.startsWith("docker-bake"))) {
        expect(parsePlanFile(JSON.parse(text)), `${name}/${file}`).toMatchObject({ ok: true });
      }
    }
  });

  test("is repeatable: the same inputs give byte-identical files", () => {
    const spec = load(join(EXAMPLES, "monorepo", "multiarch.yaml"));
    expect(compiled(spec, { strategy: bake }).files).toEqual(compiled(load(join(EXAMPLES, "monorepo", "multiarch.yaml")), { strategy: bake }).files);
  });

  test("images come out in dependency order, whatever the declaration order", () => {
    const file = repo(
      'version: 1\nregistries: { r: { url: "localhost:5000" } }\nimages:\n  app:\n    context: app\n    contexts: { mid: "image:mid" }\n  mid:\n    context: mid\n    contexts: { base: "image:base" }\n  base:\n    context: base\n',
      ["app", "mid", "base"],
    );
    const c = compiled(load(file), { strategy: bake });
    expect(c.plan.images.map((i) => i.name)).toEqual(["base", "mid", "app"]);
    expect(c.bake.target.app!.contexts).toEqual({ mid: "target:mid" });
    const m = compiled(load(file), { strategy: manifest });
    expect(m.plan.stages.map((s) => s.name)).toEqual(["build-1", "push-1", "build-2", "push-2", "build-3", "push-3", "manifest", "verify", "publish"]);
    const appBuild = m.plan.stages[4]!.steps[0]!.commands[0]!.args;
    // FROM the base this run built, by digest
    const mid = appBuild.find((a) => typeof a === "object" && "built" in a) as { built: string; prefix: string };
    expect(mid.prefix).toBe("mid=docker-image://");
    expect(mid.built).toMatch(/^localhost:5000\/mid:multiarch-staging-[0-9a-f]{12}-amd64$/);
  });

  test("a base built for more platforms is linked through a target with the consumer's platforms", () => {
    const c = compiled(load(join(EXAMPLES, "monorepo", "multiarch.yaml")), { strategy: bake });
    expect(c.bake.target.api!.contexts).toEqual({ base: "target:base__amd64_arm64" });
    expect(c.bake.target.base__amd64_arm64!.platforms).toEqual(["linux/amd64", "linux/arm64"]);
    expect(c.bake.target.base__amd64_arm64!.output).toBeUndefined();
    expect(c.bake.target.base__amd64_arm64!.tags).toBeUndefined();
  });

  test("literal ${ and %{ are escaped for bake's interpolation", () => {
    // biome-ignore lint/suspicious/noTemplateCurlyInString: a literal ${ is what is tested
    const file = repo('version: 1\nimages:\n  app:\n    context: app\n    args: { A: "${HOME}" }\n    labels: { l: "%{x}" }\n');
    const text = compiled(load(file), { strategy: bake }).files["docker-bake.json"]!;
    expect(text).toContain('"A": "$${HOME}"');
    expect(text).toContain('"l": "%%{x}"');
  });

  test("secrets appear by id and source only; credentials as references", () => {
    const file = repo(
      "version: 1\nregistries:\n  hub:\n    url: docker.io/acme\n    username: { env: HUB_USER }\n    password: { env: HUB_TOKEN }\nimages:\n  app:\n    context: app\n    secrets: [{ id: npm, env: NPM_TOKEN }]\n",
    );
    const c = compiled(load(file), { strategy: bake }, { git: GIT, env: { NPM_TOKEN: "s3cr3t-npm", HUB_TOKEN: "s3cr3t-hub", HUB_USER: "bob" } });
    const all = Object.values(c.files).join("\n");
    expect(all).not.toContain("s3cr3t");
    expect(all).not.toContain("bob");
    expect(c.bake.target.app!.secret).toEqual(["id=npm,type=env,env=NPM_TOKEN"]);
    const login = c.plan.stages[0]!.steps[0]!;
    expect(login.commands[0]).toEqual({
      program: "docker",
      args: ["login", "docker.io", "--username", { env: "HUB_USER" }, "--password-stdin"],
      stdin: { env: "HUB_TOKEN" },
    });
  });

  test("a build option (build-options.ts) reaches both strategies: bake's attribute, docker build's flag after --file", () => {
    const file = repo(
      `version: 1\nregistries: { r: { url: "localhost:5000/x" } }\nplatforms: [linux/amd64]\nimages:\n  app: { context: app, target: final }\n`,
    );
    expect(compiled(load(file), { strategy: bake }).bake.target.app!.target).toBe("final");
    const build = compiled(load(file), { strategy: manifest }).plan.stages.find((s) => s.name === "build")!.steps[0]!.commands[0]!.args;
    expect(build.slice(build.indexOf("--file"), build.indexOf("--file") + 4)).toEqual(["--file", "app/Dockerfile", "--target", "final"]);
  });

  test("the manifest strategy builds each platform with plain manifests into OCI layouts, pushed by digest", () => {
    const c = compiled(load(join(EXAMPLES, "fallback", "multiarch.yaml")), { strategy: manifest });
    const build = c.plan.stages.find((s) => s.name === "build")!.steps.find((s) => s.platform === "linux/arm/v7")!;
    const staging = c.plan.images[0]!.refs[0]!.staging;
    expect(build.commands[0]!.args).toEqual([
      "build",
      "--platform",
      "linux/arm/v7",
      "--provenance=false",
      "--metadata-file",
      { runFile: "build-tool-linux-arm-v7.json" },
      "--file",
      "tool/Dockerfile",
      "--label",
      `org.opencontainers.image.revision=${GIT!.sha}`,
      "--output",
      { runFile: "oci-tool-linux-arm-v7", prefix: "type=oci,tar=false,dest=" },
      "tool",
    ]);
    const push = c.plan.stages.find((s) => s.name === "push")!.steps.find((s) => s.platform === "linux/arm/v7")!;
    expect(push).toMatchObject({ commands: [], layout: { dir: "oci-tool-linux-arm-v7", ref: `${staging}-armv7` } });
    const index = c.plan.stages.find((s) => s.name === "manifest")!.steps[0]!;
    expect(index.index?.sources).toEqual([{ built: `${staging}-amd64` }, { built: `${staging}-arm64` }, { built: `${staging}-armv7` }]);
    // with SOURCE_DATE_EPOCH, layer timestamps are clamped too
    const dated = compiled(load(join(EXAMPLES, "fallback", "multiarch.yaml")), { strategy: manifest }, { ...facts, git: { ...GIT!, time: "1700000000" } });
    const datedBuild = dated.plan.stages.find((s) => s.name === "build")!.steps[0]!.commands[0]!.args;
    expect(datedBuild).toContainEqual({ runFile: "oci-tool-linux-amd64", prefix: "type=oci,tar=false,rewrite-timestamp=true,dest=" });
    const publish = c.plan.stages.find((s) => s.name === "publish")!.steps[0]!;
    // every tag gets the verified index itself (same digest); no tag of one platform
    expect([publish.commands, publish.moveTags?.staging]).toEqual([[], staging]);
    expect(publish.produces).toEqual(["127.0.0.1:5000/fallback/tool:2.0.0", "127.0.0.1:5000/fallback/tool:latest"]);
    // nothing a user pulls is written before the publish stage, and no command writes a tag there
    const early = c.plan.stages
      .slice(
        0,
        c.plan.stages.findIndex((st) => st.name === "publish"),
      )
      .flatMap((st) => st.steps);
    expect(early.flatMap((x) => x.produces).every((ref) => ref.includes(":multiarch-staging-"))).toBe(true);
    const lines = early.flatMap((x) => x.commands.map((cmd) => cmd.args.filter((a) => typeof a === "string").join(" ")));
    expect(lines.filter((l) => /--tag|^push|^manifest/.test(l))).toEqual([]);
  });

  test("the legacy builder (no buildx) keeps staging tags: it can neither write layouts nor push by digest", () => {
    const legacy = { ...manifest, legacyBuilder: true };
    const c = compiled(load(join(EXAMPLES, "fallback", "multiarch.yaml")), { strategy: legacy });
    const staging = c.plan.images[0]!.refs[0]!.staging;
    const build = c.plan.stages.find((s) => s.name === "build")!.steps[0]!.commands[0]!.args;
    expect(build.slice(-3)).toEqual(["--tag", `${staging}-amd64`, "tool"]);
    expect(c.plan.stages.find((s) => s.name === "push")!.steps[0]!.commands[0]!.args).toEqual(["push", `${staging}-amd64`]);
    expect(c.plan.stages.at(-1)!.steps.map((s) => s.id)).toEqual(["cleanup:local-staging", "cleanup:tested"]);
    // a shard removes what it built too: the merge reads it from the registry
    const arm = c.archPlans.find((p) => p.platform === "linux/arm64")!;
    const local = arm.steps.find((s) => s.id === "cleanup:local-staging")!;
    expect(local.commands[0]!.args).toEqual(["image", "rm", `${staging}-arm64`]);
    const publish = c.plan.stages.find((s) => s.name === "publish")!.steps[0]!;
    expect(publish.commands.map((cmd) => cmd.args.slice(0, 3).join(" "))).toContain("manifest annotate 127.0.0.1:5000/fallback/tool:2.0.0");
  });

  test("annotations on the index, the manifests or both, as bake writes them; verify checks the index's", () => {
    const file = repo(`version: 1
registries: { r: { url: "reg.example/team" } }
defaults:
  annotations: { "index:org.opencontainers.image.vendor": Acme }
images:
  app:
    context: app
    annotations:
      org.opencontainers.image.source: https://example.com/app
      "index,manifest:org.opencontainers.image.description": "The app"
`);
    const c = compiled(load(file), { strategy: bake });
    // both levels as two entries: buildx 0.13 does not read the combined form
    expect(c.bake.target.app!.annotations).toEqual([
      "org.opencontainers.image.source=https://example.com/app",
      "org.opencontainers.image.description=The app",
      "index:org.opencontainers.image.vendor=Acme",
      "index:org.opencontainers.image.description=The app",
    ]);
    const verify = c.plan.stages.flatMap((s) => s.steps).find((s) => s.kind === "verify")!;
    expect(verify.expect).toMatchObject({ annotations: { "org.opencontainers.image.description": "The app", "org.opencontainers.image.vendor": "Acme" } });
    // docker manifest writes lists without annotations: refused, with a way out
    const m = compile(load(file), facts, { strategy: manifest });
    expect(m.ok).toBe(false);
    expect(JSON.stringify(!m.ok && m.errors)).toContain("annotations on the index need the bake strategy");
    // one platform without attestations is one manifest: no index to annotate (buildx refuses the build)
    const single = compile(
      load(
        repo(`version: 1
registries: { r: { url: "reg.example/team" } }
platforms: [linux/amd64]
defaults:
  attest: { provenance: false }
  annotations: { "index:org.opencontainers.image.vendor": Acme }
images:
  app:
    context: app
`),
      ),
      facts,
      { strategy: bake },
    );
    expect(JSON.stringify(!single.ok && single.errors)).toContain("need an index, and this image is one manifest");
    // a level multiarch does not write is refused where it is written
    const bad = loadSpec(repo(`version: 1\nimages:\n  app:\n    context: app\n    annotations: { "manifest-descriptor:a.b": x }\n`));
    expect(bad.ok).toBe(false);
    expect(!bad.ok && bad.errors[0]).toMatchObject({ line: 5, message: expect.stringContaining('annotation "manifest-descriptor:a.b"') });
  });

  test("attestations and cache on the manifest strategy (issue 22): per-arch indexes with this platform's cache, taken whole into the run's index, published as verified", () => {
    const file = repo(
      'version: 1\nregistries: { r: { url: "localhost:5000", insecure: true } }\nimages:\n  app:\n    context: app\n    cache: { type: registry }\n    attest: { provenance: max, sbom: true }\n',
    );
    const c = compiled(load(file), { strategy: manifest });
    const steps = c.plan.stages.flatMap((st) => st.steps);
    const build = steps.find((s) => s.kind === "build" && s.platform === "linux/arm64")!;
    const args = build.commands[0]!.args.filter((a) => typeof a === "string");
    expect(args).toEqual(expect.arrayContaining(["--provenance=mode=max", "--sbom=true"]));
    expect(args).not.toContain("--provenance=false");
    expect(args.join(" ")).toContain(
      "--cache-from type=registry,ref=localhost:5000/app:buildcache-linux-arm64 --cache-to type=registry,ref=localhost:5000/app:buildcache-linux-arm64,mode=max,registry.insecure=true",
    );
    // each per-arch layout (image + attestation manifest) goes into the run's own index, by digest, in-process
    const merge = steps.find((s) => s.kind === "manifest")!;
    expect(merge.commands).toEqual([]);
    expect(merge.index).toMatchObject({ ref: c.plan.images[0]!.refs[0]!.staging, sources: [{ built: expect.any(String) }, { built: expect.any(String) }] });
    const publish = steps.find((s) => s.kind === "publish")!;
    // the user tags get the verified index whole (its attestations), one tag at a time
    expect(publish.moveTags).toEqual({ staging: c.plan.images[0]!.refs[0]!.staging, tags: ["localhost:5000/app:latest"], insecure: true });
    // not asked: plain manifests as before, even with the default provenance
    const plain = compiled(load(repo('version: 1\nregistries: { r: { url: "localhost:5000" } }\nimages:\n  app:\n    context: app\n')), { strategy: manifest });
    expect(plain.plan.stages.flatMap((st) => st.steps).find((s) => s.kind === "build")!.commands[0]!.args).toContain("--provenance=false");
  });

  test("attestations or cache on a manifest strategy engine that cannot store them are refused at validate, with the way out", () => {
    const file = repo(
      'version: 1\nregistries: { r: { url: "localhost:5000" } }\nimages:\n  app:\n    context: app\n    cache: { type: registry }\n    attest: { sbom: true }\n',
    );
    const graphDriver = {
      ...manifest,
      engine: {
        reachable: true,
        buildx: true,
        multiPlatform: false,
        driver: "docker",
        reason: "docker driver without the containerd image store cannot build several platforms at once",
      },
    };
    const r = compile(load(file), facts, { strategy: graphDriver });
    expect(!r.ok && r.errors[0]).toMatchObject({
      code: "invalid-value",
      line: 4,
      message:
        "image app: the manifest strategy cannot attach attestations (attest:) or a build cache (cache:) here: docker driver without the containerd image store cannot build several platforms at once",
      hint: expect.stringContaining("containerd image store"),
    });
    const legacy = compile(load(file), facts, { strategy: { ...manifest, legacyBuilder: true } });
    expect(!legacy.ok && legacy.errors.map((e) => e.message)).toContainEqual(expect.stringContaining("here: this engine has no docker buildx"));
  });

  test("latest is published last", () => {
    const file = repo('version: 1\nregistries: { r: { url: "localhost:5000" } }\nimages:\n  app:\n    context: app\n    tags: [latest, "1.0", "1"]\n');
    expect(compiled(load(file), { strategy: bake }).plan.images[0]!.refs[0]!.tags).toEqual(["1.0", "1", "latest"]);
  });

  test("per-arch plans restrict the bake to their platform, with their own caches, pushed by digest", () => {
    const file = repo(
      'version: 1\nplatforms: [linux/amd64, linux/arm64]\nregistries: { r: { url: "localhost:5000/x" } }\nimages:\n  app:\n    context: app\n    cache: { type: registry }\n',
    );
    const c = compiled(load(file), { strategy: bake });
    const arm = c.archPlans.find((p) => p.platform === "linux/arm64")!;
    const args = arm.steps[0]!.commands[0]!.args.filter((a): a is string => typeof a === "string");
    expect(args).toContain("*.platform=linux/arm64");
    expect(args.some((a) => a.startsWith("app.tags="))).toBe(false);
    expect(args).toContain("app.cache-to=type=registry,ref=localhost:5000/x/app:buildcache-linux-arm64,mode=max");
    expect(Object.keys(c.files)).toContain("plans/linux-arm64.json");
    // drivers that push by digest do it themselves, per the publish file: the repository, no tag
    expect(JSON.parse(c.files["docker-bake.publish.json"]!).target.app).toEqual({
      output: ["type=image,push=true,push-by-digest=true,name-canonical=true"],
      tags: ["localhost:5000/x/app"],
    });
    // buildx's docker driver: an OCI layout per platform in the run's folder, pushed by the executor
    const docker = compiled(load(file), { strategy: { ...bake, ociLayout: true } });
    const steps = docker.archPlans.find((p) => p.platform === "linux/arm64")!.steps;
    expect(steps[0]!.commands[0]!.args).toContainEqual({ runFile: "oci-linux-arm64", prefix: "app.output=type=oci,tar=false,dest=" });
    expect(steps.find((s) => s.kind === "push")).toMatchObject({ commands: [], layout: { dir: "oci-linux-arm64" } });
    expect(docker.files["docker-bake.publish.json"]).toBeUndefined();
  });

  test.each([
    ["bake", { ...bake, ociLayout: true }],
    ["manifest", manifest],
  ] as const)("per-arch plans, strategy %s: a last cleanup stage removes exactly the images their smoke tests pulled", (_name, strategy) => {
    const file = repo(
      `version: 1
platforms: [linux/amd64, linux/arm64]
registries: { r: { url: "localhost:5000/x" } }
images:
  app:
    context: app
    test: { run: [app, --version] }
  amd:
    context: app
    platforms: [linux/amd64]
    test: { run: [amd, --version] }
  quiet:
    context: app
`,
    );
    const c = compiled(load(file), { strategy });
    const pulled = (steps: readonly Step[]) => steps.flatMap((s) => s.commands.flatMap((cmd) => cmd.args.filter((a) => typeof a === "object" && "built" in a)));
    for (const arch of c.archPlans) {
      const stages = asPlan(arch).stages;
      const cleanup = stages.at(-1)!;
      const tests = arch.steps.filter((s) => s.kind === "test");
      const staging = (name: string) => perArchTag(c.plan.images.find((i) => i.name === name)!.refs[0]!.staging, arch.platform);
      const tested = arch.platform === "linux/amd64" ? [staging("app"), staging("amd")] : [staging("app")];
      expect(tests.flatMap((t) => t.inputs)).toEqual(tested);
      expect(cleanup).toEqual({
        name: "cleanup",
        steps: [
          {
            id: "cleanup:tested",
            kind: "cleanup",
            commands: [{ program: "docker", args: ["image", "rm", "--force", ...tested.map((built) => ({ built }))], mayFail: true, detach: true }],
            inputs: tested,
            produces: [],
          },
        ],
      });
      // what the tests ran, by digest, and nothing else (quiet has no test; the full plan's index is not pulled here)
      expect(pulled(cleanup.steps)).toEqual(pulled(tests));
    }
    // no smoke test, no clean-up
    const untested = compiled(load(repo('version: 1\nregistries: { r: { url: "localhost:5000/x" } }\nimages:\n  app:\n    context: app\n')), { strategy });
    expect(untested.archPlans.flatMap((a) => a.steps).filter((s) => s.kind === "cleanup")).toEqual([]);
  });

  test("layouts clamp layer times (rewrite-timestamp) only where the digest can repeat: SOURCE_DATE_EPOCH, provenance off", () => {
    const file = repo(
      'version: 1\nregistries: { r: { url: "localhost:5000/x" } }\nimages:\n  plain:\n    context: app\n  stable:\n    context: app\n    attest: { provenance: false }\n',
      ["app"],
    );
    const dated = { ...facts, git: { ...GIT!, time: "1700000000" } };
    const args = compiled(load(file), { strategy: { ...bake, ociLayout: true } }, dated).plan.stages[0]!.steps[0]!.commands[0]!.args;
    expect(args).toContainEqual({ runFile: "oci", prefix: "plain.output=type=oci,tar=false,dest=" });
    expect(args).toContainEqual({ runFile: "oci", prefix: "stable.output=type=oci,tar=false,rewrite-timestamp=true,dest=" });
  });

  test("--no-push: every image an OCI archive, its test run from the loaded archive; no login, no registry cache", () => {
    const spec = load(
      repo(`version: 1
platforms: [linux/amd64, linux/arm64]
registries:
  hub: { url: docker.io/acme, username: { env: U }, password: { env: P } }
images:
  app:
    context: app
    tags: ["1.0"]
    test: { run: [app, --version] }
    cache: { type: registry, registry: hub }
`),
    );
    const { plan, bake: file } = compiled(spec, { strategy: bake, noPush: true });
    // named under this checkout's namespace: another checkout on the engine (a second runner's job) has its own
    const ns = `multiarch.local/${sha256(spec.file).slice(0, 8)}`;
    // found by a review: loaded for its test as app:1.0 (docker.io/library/app), the archive took that name
    // in the engine from whatever had it, and kept it: a name of its own now, removed after the tests
    expect(plan.images[0]).toMatchObject({ refs: [], archive: ".multiarch/oci/app.tar", archiveName: `${ns}/app:1.0` });
    const steps = plan.stages.flatMap((s) => s.steps);
    expect(steps.map((s) => s.kind)).not.toContain("login");
    expect(JSON.stringify(file)).not.toContain("docker.io");
    expect(steps.filter((s) => s.kind === "test").map((s) => s.commands.map((c) => c.args.join(" ")))).toEqual([
      ["load --input .multiarch/oci/app.tar", `run --rm --init --quiet --pull never --platform linux/amd64 ${ns}/app:1.0 app --version`],
      ["load --input .multiarch/oci/app.tar", `run --rm --init --quiet --pull never --platform linux/arm64 ${ns}/app:1.0 app --version`],
    ]);
    expect(plan.stages.at(-1)).toMatchObject({ name: "cleanup", steps: [{ commands: [{ args: ["image", "rm", "--force", `${ns}/app:1.0`] }] }] });
    // two images of one repository (in two registries) get names of their own: each test runs its image
    const two = load(
      repo(
        'version: 1\nregistries:\n  r1: { url: "localhost:5000/one" }\n  r2: { url: "localhost:5000/two" }\ndefaults: { tags: ["1.0"] }\nimages:\n  a: { context: app, repository: app, registries: [r1], test: { run: [a] } }\n  b: { context: app, repository: app, registries: [r2], test: { run: [b] } }\n',
      ),
    );
    const twoNs = `multiarch.local/${sha256(two.file).slice(0, 8)}`;
    expect(compiled(two, { strategy: bake, noPush: true }).plan.images.map((i) => i.archiveName)).toEqual([`${twoNs}/a:1.0`, `${twoNs}/b:1.0`]);
    expect(twoNs).not.toBe(ns);
    // --load: tested under the check name too (a failed test leaves no app:1.0), then the image's own names
    const loaded = compiled(spec, { strategy: bake, noPush: true, load: true, hostPlatform: "linux/amd64" });
    expect(loaded.plan.images[0]).toMatchObject({ archiveName: `${ns}/app:1.0` });
    // a failed test skips the load step: the clean-up removes the check names whatever happened
    expect(loaded.plan.stages.at(-1)).toMatchObject({
      name: "cleanup",
      steps: [{ commands: [{ args: ["image", "rm", "--force", `${ns}/app:1.0`] }] }],
    });
    const loadStep = loaded.plan.stages.find((st) => st.name === "load")!.steps[0]!;
    expect(loadStep.commands.map((c) => c.args.join(" "))).toEqual([
      "load --input .multiarch/oci/app.tar",
      `tag ${ns}/app:1.0 app:1.0`,
      `image rm ${ns}/app:1.0`,
    ]);
  });

  test("--image and --platform select; unknown names get a hint", () => {
    const spec = load(join(EXAMPLES, "monorepo", "multiarch.yaml"));
    const c = compiled(spec, { strategy: bake, images: ["api"], platforms: ["linux/arm64"] });
    // api builds FROM base: base comes along for api's platforms, never published
    expect(c.plan.images.map((i) => [i.name, i.platforms])).toEqual([
      ["base", ["linux/arm64"]],
      ["api", ["linux/arm64"]],
    ]);
    // --no-push: base is built through api's link, and no archive of it is written (the report listed one)
    const local = compiled(spec, { strategy: bake, images: ["api"], noPush: true });
    expect(local.plan.images.map((i) => [i.name, i.archive, i.notPublished])).toEqual([
      ["base", undefined, "dependency of api: built with it, no archive written (select it with --image base to write one)"],
      ["api", ".multiarch/oci/api.tar", undefined],
    ]);
    const bad = compile(spec, facts, { strategy: bake, images: ["apy"] });
    expect(!bad.ok && bad.errors[0]!.hint).toBe("did you mean api?");
  });

  // issue 8, item 1: a subset run never moves a tag of an image planned for more platforms
  test("a --platform subset publishes nothing and says why", () => {
    const spec = load(join(EXAMPLES, "quickstart", "multiarch.yaml"));
    for (const strategy of [bake, manifest]) {
      const c = compiled(spec, { strategy, platforms: ["linux/amd64"] });
      expect(c.plan.stages.some((s) => s.name === "publish")).toBe(false);
      expect(c.plan.images[0]!.notPublished).toMatch(/^subset of the planned platforms: built linux\/amd64 of linux\/amd64, linux\/arm64, linux\/arm\/v7/);
      expect(c.plan.stages.flatMap((s) => s.steps.flatMap((x) => x.produces)).every((r) => r.includes("multiarch-staging-"))).toBe(true);
    }
    // every platform named explicitly is the whole set: it publishes
    expect(compiled(spec, { strategy: bake, platforms: ["linux/amd64", "linux/arm64", "linux/arm/v7"] }).plan.images[0]!.notPublished).toBeUndefined();
  });

  test("--no-publish and --load stop before publish", () => {
    const spec = load(join(EXAMPLES, "quickstart", "multiarch.yaml"));
    const np = compiled(spec, { strategy: bake, noPublish: true });
    // the images the smoke tests pulled leave the engine again
    expect(np.plan.stages.map((s) => s.name)).toEqual(["build", "verify", "cleanup"]);
    const loaded = compiled(spec, { strategy: bake, load: true, hostPlatform: "linux/arm64" });
    expect(loaded.plan.stages.map((s) => s.name)).toEqual(["build", "verify", "load"]);
    const pull = loaded.plan.stages.at(-1)!.steps[0]!.commands[0]!;
    expect(pull.args.slice(0, 3)).toEqual(["pull", "--platform", "linux/arm64"]);
    expect(loaded.plan.images[0]!.notPublished).toContain("--load");
  });

  // issue 8, item 2: a selected image's image: dependencies are in the bake file with every attribute
  test("--image pulls in dependencies: link targets keep the base's args and labels; bake builds only the selection", () => {
    const file = repo(
      'version: 1\nregistries: { r: { url: "localhost:5000" } }\nimages:\n  base:\n    context: base\n    platforms: [linux/amd64, linux/arm64, linux/arm/v7]\n    args: { FLAVOUR: slim }\n    labels: { tier: base }\n  app:\n    context: app\n    platforms: [linux/amd64, linux/arm64]\n    contexts: { base: "image:base" }\n',
      ["base", "app"],
    );
    const c = compiled(load(file), { strategy: bake, images: ["app"] });
    const link = c.bake.target.app!.contexts!.base!.slice("target:".length);
    expect(c.bake.target[link]).toMatchObject({ args: { FLAVOUR: "slim" }, labels: { tier: "base" }, platforms: ["linux/amd64", "linux/arm64"] });
    expect(c.bake.group.default!.targets).toEqual(["app"]);
    const bakeArgs = c.plan.stages.find((s) => s.name === "build")!.steps[0]!.commands[0]!.args;
    expect(bakeArgs.at(-1)).toBe("app");
    // bake builds the linked base without outputs, which buildx's docker driver loads under the base's
    // tags (the user's) unless told not to
    expect(c.plan.stages.find((s) => s.name === "build")!.steps[0]!.commands[0]!.setEnv).toEqual({ BUILDX_NO_DEFAULT_LOAD: "1" });
    expect(c.plan.images.find((i) => i.name === "base")!.notPublished).toMatch(/^dependency of app/);
    // a shard builds its platform's share the same way
    const shard = compiled(load(file), { strategy: bake, images: ["app"], platforms: ["linux/arm64"] });
    const shardBakes = shard.archPlans.flatMap((a) => a.steps.filter((s) => s.kind === "bake"));
    expect(shardBakes.length).toBe(1);
    expect(shardBakes[0]!.commands[0]!.setEnv).toEqual({ BUILDX_NO_DEFAULT_LOAD: "1" });
    const publishes = c.plan.stages.find((s) => s.name === "publish")!.steps.map((s) => s.image);
    expect(publishes).toEqual(["app"]);
    // the manifest strategy builds and pushes the dependency (for app's platforms), never publishes it
    const m = compiled(load(file), { strategy: manifest, images: ["app"] });
    expect(m.plan.images.map((i) => [i.name, i.platforms.length])).toEqual([
      ["base", 2],
      ["app", 2],
    ]);
    expect(m.plan.stages.find((s) => s.name === "publish")!.steps.map((s) => s.image)).toEqual(["app"]);
  });

  // issue 8, item 7: -o somewhere else, planned from a subfolder: cwd is where the spec is, seen from DIR
  test("the plan's cwd comes from the caller's absolute paths, not the process's folder", () => {
    const spec = load(join(EXAMPLES, "quickstart", "multiarch.yaml"));
    const c = compiled(spec, { strategy: bake, outDir: "../../../../tmp/out", specFromOut: "../work/main/examples/quickstart" });
    expect(c.plan.cwd).toBe("../work/main/examples/quickstart");
    expect(c.plan.spec).toBe("../work/main/examples/quickstart/multiarch.yaml");
  });

  test("the plan lists where secret values come from, never the values", () => {
    const file = repo(
      "version: 1\nregistries:\n  hub:\n    url: docker.io/acme\n    username: { env: HUB_USER }\n    password: { file: token.txt }\nimages:\n  app:\n    context: app\n    secrets: [{ id: npm, env: NPM_TOKEN }]\n",
    );
    expect(compiled(load(file), { strategy: bake }).plan.secrets).toEqual([{ file: "token.txt" }, { env: "NPM_TOKEN" }]);
  });

  test("a tag that renders empty is dropped with a warning; an image left without tags is an error", () => {
    const file = repo('version: 1\nregistries: { r: { url: "localhost:5000" } }\nimages:\n  app:\n    context: app\n    tags: ["{{git.tag}}", latest]\n');
    const r = compile(load(file), facts, { strategy: bake });
    expect(r.ok && r.compiled.plan.images[0]!.refs[0]!.tags).toEqual(["latest"]);
    expect(r.warnings[0]).toMatchObject({ code: "tag-empty", line: 6 });
    const none = repo('version: 1\nregistries: { r: { url: "localhost:5000" } }\nimages:\n  app:\n    context: app\n    tags: ["{{git.tag}}"]\n');
    const bad = compile(load(none), facts, { strategy: bake });
    expect(!bad.ok && bad.errors[0]).toMatchObject({ code: "tag-empty" });
  });

  test("check (validate) reports exactly compile's errors and warnings", () => {
    const warned = repo('version: 1\nregistries: { r: { url: "localhost:5000" } }\nimages:\n  app:\n    context: app\n    tags: ["{{git.tag}}", latest]\n');
    const broken = repo('version: 1\nregistries: { r: { url: "localhost:5000" } }\nimages:\n  app:\n    context: app\n    tags: ["{{git.tag}}"]\n');
    for (const [file, strategy] of [
      [warned, bake],
      [broken, bake],
      [join(EXAMPLES, "monorepo", "multiarch.yaml"), bake],
      [join(EXAMPLES, "fallback", "multiarch.yaml"), manifest],
    ] as const) {
      const spec = load(file);
      const full = compile(spec, facts, { strategy, images: ["nope"] });
      expect(check(spec, facts, { strategy, images: ["nope"] })).toEqual({ errors: !full.ok ? full.errors : [], warnings: full.warnings });
      const r = compile(spec, facts, { strategy });
      expect(check(spec, facts, { strategy })).toEqual({ errors: r.ok ? [] : r.errors, warnings: r.warnings });
    }
    expect(check(load(broken), facts, { strategy: bake }).errors[0]).toMatchObject({ code: "tag-empty", line: 4 });
  });

  test("an unset variable in defaults.tags is reported once, not once per image", () => {
    const file = repo(
      'version: 1\nvariables: { v: { env: NOPE_UNSET } }\ndefaults: { tags: ["{{v}}"] }\nregistries: { r: { url: "localhost:5000" } }\nimages:\n  a:\n    context: app\n  b:\n    context: app\n    repository: b\n',
    );
    const r = compile(load(file), facts, { strategy: bake });
    expect(!r.ok && r.errors.map((e) => e.code)).toEqual(["env-unset"]);
  });

  test("git values are an error only where a template uses them", () => {
    const file = repo('version: 1\nimages:\n  app:\n    context: app\n    tags: ["{{git.shortSha}}"]\n');
    const r = compile(load(file), { git: undefined, env: {} }, { strategy: bake });
    expect(!r.ok && r.errors[0]).toMatchObject({ code: "git-unavailable", line: 5 });
    expect(compiled(load(file), { strategy: bake }).bake.target.app!.tags).toEqual(["app:0123456"]);
  });

  test("images may share a repository when their tags differ; the same tag in one repository is an error naming both", () => {
    const yaml = (webTags: string) =>
      `version: 1\nregistries: { r: { url: "localhost:5000" } }\nimages:\n  app:\n    context: app\n  web:\n    context: app\n    repository: app\n    tags: ${webTags}\n`;
    const clash = compile(load(repo(yaml("[web, latest]"))), facts, { strategy: bake });
    expect(!clash.ok && clash.errors.map((e) => e.message)).toEqual(["images app and web both publish localhost:5000/app:latest"]);
    const fine = compiled(load(repo(yaml("[web]"))), { strategy: bake });
    expect(fine.plan.images.map((i) => i.refs[0]!.tags)).toEqual([["latest"], ["web"]]);
  });
});

describe("bake files as written in the wild (examples/bakery)", () => {
  const spec = () => load(join(EXAMPLES, "bakery", "multiarch.yaml"));
  const tagsOf = (c: ReturnType<typeof compiled>) => Object.fromEntries(c.plan.images.map((i) => [i.name, i.refs[0]?.tags ?? []]));

  test("matrix images, an internal base, shared repository, merged defaults, list and semver tags", () => {
    const c = compiled(spec(), { strategy: bake }, { git: GIT, env: { VERSION: "2.0.0-rc.1", EXTRA_TAGS: " edge,, nightly " } });
    // a release candidate moves no stable tag: no 2.0, 2, latest, 2.0-slim or slim (issue 22)
    expect(tagsOf(c)).toEqual({
      base: [],
      "server-slim": ["2.0.0-rc.1-slim"],
      "server-full": ["2.0.0-rc.1-full"],
      tool: ["2.0.0-rc.1", "edge", "nightly"],
    });
    // the plan says which templates gave no tag, and why (apply --explain prints it)
    expect(c.plan.images.find((i) => i.name === "tool")!.droppedTags).toEqual([
      '"{{majorMinor version}}" (2.0.0-rc.1 is a prerelease: major, minor and patch tags move only on releases)',
      '"{{major version}}" (2.0.0-rc.1 is a prerelease: major, minor and patch tags move only on releases)',
      '"latest" (latest moves only on releases, and version is prerelease 2.0.0-rc.1)',
    ]);
    expect(c.plan.images.find((i) => i.name === "server-slim")!.droppedTags).toEqual([
      '"{{majorMinor version}}-slim" (2.0.0-rc.1 is a prerelease: major, minor and patch tags move only on releases)',
      '"slim" (slim moves only on releases, and version is prerelease 2.0.0-rc.1)',
    ]);
    // a release moves them all
    const release = compiled(spec(), { strategy: bake }, { git: GIT, env: { VERSION: "2.0.0" } });
    expect(tagsOf(release)).toEqual({
      base: [],
      "server-slim": ["2.0.0-slim", "2.0-slim", "slim"],
      "server-full": ["2.0.0-full", "2.0-full", "full"],
      tool: ["2.0.0", "2.0", "2", "latest"],
    });
    const base = c.plan.images.find((i) => i.name === "base")!;
    expect(base.notPublished).toBe("internal image (publish: false): built for server-slim, server-full, tool");
    expect(
      c.plan.stages
        .flatMap((s) => s.steps)
        .filter((s) => s.kind === "publish")
        .map((s) => s.id),
    ).toEqual(["publish:server-slim@local", "publish:server-full@local", "publish:tool@local/tool", "publish:tool@local/tools"]);
    // one image, two repositories: the same build pushed to both staging refs
    expect(c.plan.images.find((i) => i.name === "tool")!.refs.map((r) => r.name)).toEqual(["127.0.0.1:5000/bakery/tool", "127.0.0.1:5000/bakery/tools"]);
    const slim = c.bake.target["server-slim"]!;
    expect(slim.args).toMatchObject({ VARIANT: "slim", FLAVOUR: "minimal" });
    // defaults' labels merged with the image's own
    expect(slim.labels).toMatchObject({ "org.opencontainers.image.vendor": "Acme", "org.opencontainers.image.title": "server (slim)" });
  });

  test("--group selects its members (a matrix key: every combination) and what they build FROM", () => {
    const c = compiled(spec(), { strategy: bake, groups: ["ci"] });
    expect(c.plan.images.map((i) => i.name)).toEqual(["base", "server-slim", "server-full", "tool"]);
    const r = compile(spec(), facts, { strategy: bake, groups: ["cj"] });
    expect(!r.ok && r.errors[0]).toMatchObject({ code: "selection-unknown", hint: "did you mean ci?" });
  });

  test("cache: one shared scope, ignore-error, extra sources; images sharing a repository keep their caches apart", () => {
    const yaml = (cache: string) =>
      `version: 1\nregistries: { r: { url: "localhost:5000/acme" } }\ndefaults:\n  cache: ${cache}\nimages:\n  app: { context: app }\n  app-debug: { context: app, repository: app, tags: [debug] }\n`;
    const shared = compiled(
      load(repo(yaml('{ type: registry, shared: true, ignoreError: true, from: ["type=registry,ref=ghcr.io/acme/app:buildcache-main"] }'))),
      {
        strategy: bake,
      },
    );
    expect(shared.bake.target.app!["cache-from"]).toEqual([
      "type=registry,ref=localhost:5000/acme/buildcache:shared",
      "type=registry,ref=ghcr.io/acme/app:buildcache-main",
    ]);
    expect(shared.bake.target.app!["cache-to"]).toEqual(["type=registry,ref=localhost:5000/acme/buildcache:shared,mode=max,ignore-error=true"]);
    const apart = compiled(load(repo(yaml("{ type: registry }"))), { strategy: bake });
    expect(apart.bake.target["app-debug"]!["cache-to"]).toEqual(["type=registry,ref=localhost:5000/acme/app:buildcache-app-debug-all,mode=max"]);
    expect(apart.bake.target.app!["cache-to"]).toEqual(["type=registry,ref=localhost:5000/acme/app:buildcache-all,mode=max"]);
    const bad = loadSpec(repo(yaml('{ type: gha, from: ["ghcr.io/acme/app:cache"] }')));
    expect(!bad.ok && bad.errors[0]).toMatchObject({ code: "invalid-value", hint: "type=registry,ref=HOST/REPO:TAG" });
  });

  test("ci.pr and ci.ref from the CI's variables", () => {
    const file = repo(
      'version: 1\nregistries: { r: { url: "localhost:5000" } }\nimages:\n  app:\n    context: app\n    tags: ["{{#if ci.pr}}pr-{{ci.pr}}{{/if}}", "{{sanitize ci.ref}}"]\n',
    );
    const c = compiled(load(file), { strategy: bake }, { git: GIT, env: { GITHUB_REF: "refs/pull/42/merge" } });
    expect(c.plan.images[0]!.refs[0]!.tags).toEqual(["pr-42", "refs-pull-42-merge"]);
  });
});

describe("bake batches", () => {
  test("many images bake in batches of BAKE_BATCH, each with its own metadata file", () => {
    const names = Array.from({ length: 70 }, (_, i) => `s${i}`);
    const file = repo(`version: 1\nregistries: { r: { url: "localhost:5000" } }\nimages:\n${names.map((n) => `  ${n}: { context: app }`).join("\n")}\n`);
    const c = compiled(load(file), { strategy: bake });
    const builds = c.plan.stages.filter((s) => s.name.startsWith("build"));
    expect(builds.map((s) => [s.name, s.steps[0]!.id])).toEqual([
      ["build-1", "bake:1"],
      ["build-2", "bake:2"],
      ["build-3", "bake:3"],
    ]);
    expect(builds.map((s) => s.steps[0]!.yields!.length)).toEqual([32, 32, 6]);
    expect(builds[1]!.steps[0]!.commands[0]!.args).toContainEqual({ runFile: "bake-metadata-2.json" });
    // bake writing OCI layouts (buildx's docker driver): smaller batches, every target into one layout
    const layouts = compiled(load(file), { strategy: { ...bake, ociLayout: true } }).plan.stages.filter((s) => s.name.startsWith("build"));
    expect(layouts.map((s) => s.steps[0]!.targets!.length)).toEqual([10, 10, 10, 10, 10, 10, 10]);
  });
});

test("an image and what it builds FROM are never split across bake batches", () => {
  // ten groups of a base and nine dependents: three groups (30 images) fit a batch of 32, the fourth does not
  const images = Array.from({ length: 40 }, (_, i) => ({ name: `s${i}`, dependsOn: i % 10 === 0 ? [] : [`s${i - (i % 10)}`] }));
  const batches = bakeBatches(images);
  expect(batches.map((b) => b.length)).toEqual([30, 10]);
  for (const b of batches) for (const i of b) for (const d of i.dependsOn) expect(b.some((x) => x.name === d)).toBe(true);
});
