import { describe, expect, test } from "vitest";
import { parse } from "yaml";
import { specFromBake } from "./from-bake.ts";

const opts = { bakeDir: "/repo", specDir: "/repo", files: ["docker-bake.hcl"] };

describe("specFromBake", () => {
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
      "target App.Server: output type=docker is not carried: multiarch pushes to registries (or writes an OCI archive)",
      'target App.Server: annotation org.example.d is set on "manifest-descriptor"; multiarch writes the index and the image manifests only, so it is left out',
      "target inline: dockerfile-inline cannot be carried; write it to a file; left out",
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
});
