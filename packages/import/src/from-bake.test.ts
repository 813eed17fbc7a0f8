import { describe, expect, test } from "vitest";
import { parse } from "yaml";
import { specFromBake } from "./from-bake.ts";

const opts = { bakeDir: "/repo", specDir: "/repo", files: ["docker-bake.hcl"] };

describe("specFromBake", () => {
  // found by a review: a tag's escape codes reached the terminal in the warning, and the file's header comment
  test("what a bake file gives is shown without control characters, in the warnings and the header alike", () => {
    const tag = "x\u001b[31m\u009b1mRED\u0007\nimages: {}";
    const { text, warnings } = specFromBake({ target: { app: { context: ".", platforms: ["linux/amd64"], tags: [tag, "r.example/a:1"] } } }, opts);
    expect(warnings).toEqual(['app: tag "x\ufffd[31m\ufffd1mRED\ufffd\ufffdimages: {}" is not a name:tag reference; left out']);
    expect(text).not.toMatch(/[\x00-\x08\x0b-\x1f\x7f-\x9f]/);
    expect(parse(text).images).toMatchObject({ app: { tags: ["1"] } });
    // the file's name too (found by a re-test)
    const named = specFromBake(
      { target: { app: { context: ".", platforms: ["linux/amd64"], tags: ["r.example/a:1"] } } },
      { ...opts, files: ["b\u001b[2J\u009bin\u2028.hcl"] },
    );
    expect(named.text).not.toMatch(/[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028]/);
    expect(named.text.split("\n")[0]).toContain("in\ufffd.hcl");
  });

  // found by a review: an arg's C1 characters were written raw, and PyYAML refused the file
  test("a value with characters YAML does not print is written as escapes, and reads back as it was", () => {
    const value = "a\u0085b\u009bc\u007fd\u2028e\u2029f\u0001g\nh";
    const { text, warnings } = specFromBake(
      {
        target: {
          app: {
            context: ".",
            platforms: ["linux/amd64"],
            args: { "K\u0080": value, PLAIN: "v", YES: "yes", off: "Off", MODE: "0777", AT: "1:20", DAY: "2001-12-14", N: "1_000", S: "1.0" },
            // a value with a line separator is a value (it was "not KEY=VALUE": found by a review)
            annotations: ["index:org.opencontainers.image.description=d\u2028e"],
          },
        },
      },
      opts,
    );
    expect(warnings).not.toContainEqual(expect.stringContaining("annotation"));
    expect(parse(text).images.app.annotations).toEqual({ "index:org.opencontainers.image.description": "d\u2028e" });
    // YAML 1.1's printable set, less its line breaks: what every YAML reader takes as written
    expect(text).toMatch(/^[\t\n\x20-\x7e\xa0-\u2027\u202a-\ud7ff\ue000-\ufffd]*$/);
    const args = { "K\u0080": value, PLAIN: "v", YES: "yes", off: "Off", MODE: "0777", AT: "1:20", DAY: "2001-12-14", N: "1_000", S: "1.0" };
    expect(parse(text).images.app.args).toEqual(args);
    // read as YAML 1.1 readers (PyYAML) read it: yes, Off, 0777, 1:20, dates and 1_000 are strings too
    expect(parse(text, { version: "1.1" }).images.app.args).toEqual(args);
    expect(text).toContain("PLAIN: v\n");
  });

  test("what cannot be carried is a warning, listed in the file too, never dropped silently", () => {
    const { text, warnings } = specFromBake(
      {
        group: { default: { targets: ["all"] }, all: { targets: ["App.Server", "inline"] } },
        target: {
          "App.Server": {
            context: "srv",
            platforms: ["linux/amd64", "windows/amd64"],
            tags: ["registry.example.com:5000/team/app:1.0"],
            output: ["type=docker"],
            network: "host",
            annotations: ["index,manifest:org.example.a=b", "index:org.example.t=x", "manifest:org.example.m=y", "manifest-descriptor:org.example.d=z"],
          },
          inline: { "dockerfile-inline": "FROM scratch", platforms: ["linux/amd64"] },
        },
      },
      opts,
    );
    expect(warnings).toEqual([
      "target App.Server: network is not carried (multiarch has no equivalent)",
      'target App.Server: platform windows/amd64 is not one multiarch builds ("windows/amd64": only linux platforms can be built on a Linux engine); left out',
      // a target left out is said first, with the groups it leaves
      "target inline: dockerfile-inline cannot be carried; write it to a file; left out, and out of group all",
      "target App.Server: output type=docker is not carried: multiarch pushes to registries (or writes an OCI archive)",
      'target App.Server: annotation org.example.d is set on "manifest-descriptor"; multiarch writes the index and the image manifests only, so it is left out',
    ]);
    expect(text).toContain("#   - target inline: dockerfile-inline cannot be carried");
    const spec = parse(text);
    expect(spec.registries).toEqual({ registry: { url: "registry.example.com:5000/team" } });
    // nested groups flattened, names made image names, the original noted beside each
    expect(spec.groups).toEqual({ all: ["app-server"] });
    expect(spec.platforms).toEqual(["linux/amd64"]);
    expect(spec.images["app-server"]).toMatchObject({ context: "srv", repository: "app", tags: ["1.0"] });
    // annotation levels are carried as bake writes them
    expect(spec.images["app-server"].annotations).toEqual({ "index,manifest:org.example.a": "b", "index:org.example.t": "x", "org.example.m": "y" });
    expect(text).toContain("# bake target App.Server\n  app-server:");
  });

  // issue 25, item 1: bake builds a target without platforms for the builder's own platform, not two
  test("a target without platforms gets the builder's platform, written out with where it came from", () => {
    const all = specFromBake({ target: { web: { context: "web" }, api: { context: "api" } } }, { ...opts, defaultPlatform: "linux/arm64" });
    expect(parse(all.text).platforms).toEqual(["linux/arm64"]);
    expect(all.text).toMatch(/# The bake file sets no platforms: bake builds for the builder's own, linux\/arm64 .*\n.*what multiarch is for\.\nplatforms:/);
    const some = specFromBake(
      {
        target: {
          web: { context: "web", platforms: ["linux/amd64", "linux/riscv64"] },
          db: { context: "db", platforms: ["linux/amd64", "linux/riscv64"] },
          api: { context: "api" },
        },
      },
      { ...opts, defaultPlatform: "linux/arm64" },
    );
    const spec = parse(some.text);
    expect(spec.platforms).toEqual(["linux/amd64", "linux/riscv64"]);
    expect(spec.images.api.platforms).toEqual(["linux/arm64"]);
    expect(some.text).toMatch(/ {4}# Bake target api sets no platforms: .*linux\/arm64.*\n.*\n {4}platforms:/);
    const unknown = specFromBake({ target: { web: { context: "web" } } }, opts);
    expect(parse(unknown.text).platforms).toBeUndefined();
    expect(unknown.warnings).toContainEqual(expect.stringContaining("target web: sets no platforms and buildx did not say"));
  });

  // issue 25, item 2: an absolute dockerfile (bake reads it as it is) is written relative to the context
  test("an absolute dockerfile is written relative to the context", () => {
    const { text, warnings } = specFromBake(
      { target: { app: { context: "app", dockerfile: "/repo/abs/other/Dockerfile.abs", platforms: ["linux/amd64"] } } },
      opts,
    );
    expect(parse(text).images.app.dockerfile).toBe("../abs/other/Dockerfile.abs");
    expect(warnings.join("\n")).toContain("dockerfile /repo/abs/other/Dockerfile.abs is written relative to the context");
  });

  test("a cacheonly target is an internal image without user tags, even when bake gave it some (issue 22)", () => {
    const tags = ["ghcr.io/acme/base:1.0", "ghcr.io/acme/base:1", "ghcr.io/acme/base:latest"];
    const { text, warnings } = specFromBake(
      {
        target: {
          base: { context: "base", platforms: ["linux/amd64"], tags, output: ["type=cacheonly"] },
          app: { context: "app", platforms: ["linux/amd64"], contexts: { base: "target:base" }, tags: ["ghcr.io/acme/app:1.0"] },
        },
      },
      opts,
    );
    const spec = parse(text);
    expect(spec.images.base).toEqual({ context: "base", publish: false });
    expect(spec.images.app).toMatchObject({ tags: ["1.0"], contexts: { base: "image:base" } });
    expect(warnings).toContain("target base: output type=cacheonly: an internal image (publish: false), its tags are not carried");
  });

  test("an internal image keeps its cache sources: its cache goes to the registry they name", () => {
    const cache = { "cache-from": ["type=registry,ref=docker.io/acme/base:cache"], "cache-to": ["type=registry,ref=docker.io/acme/base:cache,mode=max"] };
    const { text, warnings } = specFromBake(
      {
        target: {
          base: { context: "base", platforms: ["linux/amd64"], ...cache },
          check: { context: "base", platforms: ["linux/amd64"], output: ["type=cacheonly"], "cache-from": ["type=gha,scope=check"] },
          app: {
            context: "app",
            platforms: ["linux/amd64"],
            contexts: { base: "target:base", check: "target:check" },
            tags: ["ghcr.io/acme/app:1", "docker.io/acme/app:1"],
          },
        },
      },
      opts,
    );
    const spec = parse(text);
    expect(spec.images.base).toEqual({
      context: "base",
      publish: false,
      cache: { type: "registry", registry: "dockerhub", from: ["type=registry,ref=docker.io/acme/base:cache"] },
    });
    expect(spec.images.check.cache).toEqual({ type: "gha", from: ["type=gha,scope=check"] });
    expect(warnings).not.toContainEqual(expect.stringContaining("cache left out"));
  });

  test("a registry cache with no registry in the spec to hold it is left out, named with its target", () => {
    const { text, warnings } = specFromBake(
      {
        target: {
          base: { context: "base", platforms: ["linux/amd64"], "cache-from": ["type=registry,ref=docker.io/acme/base:cache"] },
          app: { context: "app", platforms: ["linux/amd64"], contexts: { base: "target:base" } },
        },
      },
      opts,
    );
    expect(parse(text).images.base.cache).toBeUndefined();
    expect(warnings).toContain(
      "target base: a registry cache needs a registry and no target is tagged in one; cache left out (cache-from type=registry,ref=docker.io/acme/base:cache)",
    );
  });
});

describe("specFromBake, as migrating monorepos write bake files", () => {
  test("targets that make one image name get names of their own, links and groups follow them", () => {
    const { text, warnings } = specFromBake(
      {
        group: { all: { targets: ["App-Server", "app-server", "_base"] } },
        target: {
          "App-Server": { context: "a", platforms: ["linux/amd64"], tags: ["ghcr.io/acme/app-server:1"], contexts: { base: "target:_base" } },
          "app-server": { context: "b", platforms: ["linux/amd64"], tags: ["ghcr.io/acme/app-server-legacy:1"] },
          _base: { context: "base", platforms: ["linux/amd64"], output: ["type=cacheonly"] },
          base: { context: "other", platforms: ["linux/amd64"], tags: ["ghcr.io/acme/other:1"] },
        },
      },
      opts,
    );
    const spec = parse(text);
    expect(Object.keys(spec.images).sort()).toEqual(["app-server", "app-server-2", "base", "base-2"]);
    expect(spec.images["app-server"]).toMatchObject({ context: "a", contexts: { base: "image:base" } });
    expect(spec.images["app-server-2"]).toMatchObject({ context: "b", repository: "app-server-legacy" });
    expect(spec.images.base).toMatchObject({ context: "base", publish: false });
    expect(spec.images["base-2"]).toMatchObject({ context: "other", repository: "other" });
    expect(spec.groups).toEqual({ all: ["app-server", "app-server-2", "base"] });
    expect(warnings).toContain("target app-server: image name app-server is another target's; it is image app-server-2");
    expect(text).toContain("# bake target app-server\n  app-server-2:");
  });

  test("an image tagged in two registries under other folders publishes to exactly those refs", () => {
    const { text, warnings } = specFromBake(
      {
        target: {
          img: { context: "app", platforms: ["linux/amd64"], tags: ["ghcr.io/acme/img:dev", "docker.io/acme/img:dev"] },
          app: { context: "app", platforms: ["linux/amd64"], tags: ["myapp:debug"] },
          other: { context: "app", platforms: ["linux/amd64"], tags: ["ghcr.io/acme/other:1", "docker.io/acme/renamed:1"] },
        },
      },
      opts,
    );
    const spec = parse(text);
    const refs = (name: string) =>
      (spec.images[name].registries ?? Object.keys(spec.registries)).flatMap((r: string) =>
        [spec.images[name].repository ?? name].flat().map((repo: string) => `${spec.registries[r].url}/${repo}`),
      );
    expect(refs("img").sort()).toEqual(["docker.io/acme/img", "ghcr.io/acme/img"]);
    expect(refs("app")).toEqual(["docker.io/library/myapp"]);
    // two names for one image cannot be said: the first is kept, the other named in a warning
    expect(refs("other")).toEqual(["ghcr.io/acme/other"]);
    expect(warnings).toContain("target other: docker.io/acme/renamed:1 left out: an image has one repository name in every registry it names");
  });

  test("a target left out leaves its groups: the warning names them, a group left empty goes too, image names are the kept targets", () => {
    const { text, warnings } = specFromBake(
      {
        group: {
          default: { targets: ["all"] },
          all: { targets: ["ci", "web"] },
          ci: { targets: ["Web", "gen", "nested"] },
          nested: { targets: ["Web"] },
          arm: { targets: ["win"] },
        },
        target: {
          Web: { "dockerfile-inline": "FROM scratch", platforms: ["linux/amd64"] },
          web: { context: "web", platforms: ["linux/amd64"], tags: ["ghcr.io/acme/web:1"] },
          gen: { context: "gen", platforms: ["linux/amd64"], tags: ["ghcr.io/acme/gen:1"] },
          win: { context: "win", platforms: ["windows/amd64"], tags: ["ghcr.io/acme/win:1"] },
          // built FROM a target left out: left out too, never linked to another image of that name
          app: { context: "app", platforms: ["linux/amd64"], contexts: { base: "target:Web" }, tags: ["ghcr.io/acme/app:1"] },
          cli: { context: "cli", platforms: ["linux/amd64"], contexts: { app: "target:app" }, tags: ["ghcr.io/acme/cli:1"] },
        },
      },
      opts,
    );
    const spec = parse(text);
    expect(Object.keys(spec.images).sort()).toEqual(["gen", "web"]);
    expect(spec.groups).toEqual({ all: ["gen", "web"], ci: ["gen"] });
    expect(warnings).toContain("target Web: dockerfile-inline cannot be carried; write it to a file; left out, and out of groups all, ci, nested");
    expect(warnings).toContain("target win: none of its platforms can be carried; left out, and out of group arm");
    expect(warnings).toContain("target app: it builds FROM target:Web, which is left out; left out");
    expect(warnings).toContain("target cli: it builds FROM target:app, which is left out; left out");
    expect(warnings).toContain("group arm: every target in it is left out (win); left out too");
    expect(warnings).toContain("group nested: every target in it is left out (Web); left out too");
    expect(warnings.join("\n")).not.toContain("another target's");
  });

  test("an output's name= is a tag; a cacheonly check nobody builds FROM is named as no longer run", () => {
    const { text, warnings } = specFromBake(
      {
        target: {
          named: { context: "a", platforms: ["linux/amd64"], output: ["type=image,name=ghcr.io/acme/named:from-output,push=true"] },
          lint: { context: "a", platforms: ["linux/amd64"], target: "lint", output: ["type=cacheonly"] },
        },
      },
      opts,
    );
    const spec = parse(text);
    expect(spec.registries).toEqual({ ghcr: { url: "ghcr.io/acme" } });
    expect(spec.images.named).toMatchObject({ tags: ["from-output"] });
    expect(warnings).toContainEqual(expect.stringContaining("target lint: output type=cacheonly and no target builds FROM it"));
  });

  test("values are carried as bake took them: {{ stays text, remote and OCI layout contexts stay what they name", () => {
    const { text } = specFromBake(
      {
        target: {
          app: {
            context: "app",
            platforms: ["linux/amd64", "linux/arm64", "linux/arm64/v8"],
            args: { LDFLAGS: "-X main.version={{.Version}}" },
            labels: { "com.example.fmt": "{{json .}}" },
            contexts: { tools: "https://github.com/docker/buildx.git#v0.13.0", layout: "oci-layout://./layout:latest" },
          },
          remote: { context: "https://example.com/ctx.tar.gz", platforms: ["linux/amd64"] },
        },
      },
      { ...opts, specDir: "/repo/deploy" },
    );
    const spec = parse(text);
    expect(spec.images.app.args).toEqual({ LDFLAGS: "-X main.version=\\{{.Version}}" });
    expect(spec.images.app.labels).toEqual({ "com.example.fmt": "\\{{json .}}" });
    expect(spec.images.app.contexts).toEqual({ tools: "https://github.com/docker/buildx.git#v0.13.0", layout: "oci-layout://../layout:latest" });
    expect(spec.images.app.platforms ?? spec.platforms).toEqual(["linux/amd64", "linux/arm64"]);
    expect(spec.images.remote.context).toBe("https://example.com/ctx.tar.gz");
  });

  // found by a review of real projects' bake files
  test("credentials bake resolved into values are never written; a secret of id alone reads the variable, else the file; platform local", () => {
    const { text, warnings } = specFromBake(
      {
        target: {
          app: {
            context: "https://ghp_token123@github.com/acme/app.git",
            contexts: { tools: "git://bot:***@git.example.com/tools" },
            platforms: ["local"],
            tags: ["ghcr.io/acme/app:1"],
            args: { PIP_INDEX_URL: "https://ci:***@pypi.example.com/simple", TOK_URL: "https://ghp_token456@github.com/org/x.git" },
            output: ["type=image,registry.insecure=true"],
            annotations: ["org.opencontainers.image.source=https://ghp_token789@github.com/a/app"],
            secret: ["id=GIT_CREDENTIALS", "id=NPMRC"],
          },
        },
      },
      { ...opts, defaultPlatform: "linux/arm64", hasEnv: (name) => name === "GIT_CREDENTIALS" },
    );
    expect(text).not.toContain("ghp_token123");
    // a token written as the URL's user, in an arg (found by a re-test)
    expect(text).not.toContain("ghp_token456");
    // in an annotation too (found by a read-through: the warning said masked, the spec held it)
    expect(text).not.toContain("ghp_token789");
    expect(text).not.toContain("bot:");
    const spec = parse(text);
    expect(spec.images.app.context).toBe("https://github.com/acme/app.git");
    expect(spec.images.app.contexts.tools).toBe("git://bot@git.example.com/tools");
    expect(spec.platforms).toEqual(["linux/arm64"]);
    expect(spec.images.app.args.TOK_URL).toBe("https://***@github.com/org/x.git");
    // registry.insecure=true is carried as the registry's insecure:, not warned of
    expect(spec.registries.ghcr).toEqual({ url: "ghcr.io/acme", insecure: true });
    expect(warnings.join("\n")).not.toContain("registry.insecure");
    expect(spec.images.app.secrets).toEqual([
      { id: "GIT_CREDENTIALS", env: "GIT_CREDENTIALS" },
      { id: "NPMRC", file: "NPMRC" },
    ]);
    expect(warnings).toEqual(
      expect.arrayContaining([
        "target app: context https://github.com/acme/app.git: bake's URL held credentials, which are not written; give git its token another way (buildx's GIT_AUTH_TOKEN secret)",
        "target app: args holds a URL with credentials, written as ***: pass them to the build as a secret (secrets:), not in the spec",
        "target app: annotations holds a URL with credentials, written as ***: pass them to the build as a secret (secrets:), not in the spec",
        "target app: platform local is written as this builder's, linux/arm64",
      ]),
    );
  });

  // found by a review of Alfresco's bakery: a base bake builds only for another's target: context was
  // published with its tags (buildx 0.13 prints it with no output; newer buildx with a cacheonly one)
  test.each([[null], [["type=cacheonly"]]])("a target reached only through a target: context is internal (output %j)", (output) => {
    const { text, warnings } = specFromBake(
      {
        group: { default: { targets: ["app"] } },
        target: {
          app: { context: ".", contexts: { base: "target:base" }, platforms: ["linux/amd64"], tags: ["ghcr.io/acme/app:1"] },
          base: { context: "base", platforms: ["linux/amd64"], tags: ["ghcr.io/acme/base:21"], output: output as unknown as string[] },
        },
      },
      opts,
    );
    const spec = parse(text);
    expect(spec.images.base.publish).toBe(false);
    expect(spec.images.base.tags).toBeUndefined();
    expect(warnings.filter((w) => w.startsWith("target base:"))).toEqual([
      "target base: bake builds it only as the context of app (it is not among the targets asked for) and pushes it nowhere: an internal image (publish: false), its tags not carried",
    ]);
    // asked for by name, it is published as bake publishes it
    const asked = specFromBake(
      {
        group: { default: { targets: ["app", "base"] } },
        target: {
          app: { context: ".", contexts: { base: "target:base" }, platforms: ["linux/amd64"], tags: ["ghcr.io/acme/app:1"] },
          base: { context: "base", platforms: ["linux/amd64"], tags: ["ghcr.io/acme/base:21"] },
        },
      },
      opts,
    );
    expect(parse(asked.text).images.base.publish).toBeUndefined();
  });

  // found by a read-through: newer buildx prints these entries as objects; import read them as strings (exit 70)
  test("output, cache, secret and attest entries printed as objects read as their KEY=VALUE form", () => {
    const target = (form: "string" | "object") => ({
      context: ".",
      platforms: ["linux/amd64"],
      tags: ["ghcr.io/acme/app:1"],
      output: [form === "string" ? "type=image,compression=zstd" : { type: "image", compression: "zstd" }],
      "cache-from": [form === "string" ? "type=registry,ref=ghcr.io/acme/app:cache" : { type: "registry", ref: "ghcr.io/acme/app:cache" }],
      secret: [form === "string" ? "id=npm,env=NPM_TOKEN" : { id: "npm", env: "NPM_TOKEN" }],
      attest: [form === "string" ? "type=provenance,mode=max" : { type: "provenance", mode: "max" }],
    });
    const of = (form: "string" | "object") => specFromBake({ target: { app: target(form) as never } }, opts);
    expect(of("object")).toEqual(of("string"));
    expect(parse(of("object").text).images.app).toMatchObject({ secrets: [{ id: "npm", env: "NPM_TOKEN" }], attest: { provenance: "max" } });
  });
});
