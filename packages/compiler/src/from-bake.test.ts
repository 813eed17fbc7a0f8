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
            annotations: ["index,manifest:org.example.a=b"],
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
      'target App.Server: annotation org.example.a was set on "index,manifest"; multiarch sets it on each image manifest',
      "target inline: dockerfile-inline cannot be carried; write it to a file; left out",
    ]);
    expect(text).toContain("#   - target inline: dockerfile-inline cannot be carried");
    const spec = parse(text);
    expect(spec.registries).toEqual({ registry: { url: "registry.example.com:5000/team" } });
    // nested groups flattened, names made image names, the original noted beside each
    expect(spec.groups).toEqual({ all: ["app-server"] });
    expect(spec.platforms).toEqual(["linux/amd64"]);
    expect(spec.images["app-server"]).toMatchObject({ context: "srv", repository: "app", tags: ["1.0"] });
    expect(text).toContain("# bake target App.Server\n  app-server:");
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
