// Index annotations (issue 21): the spec puts an annotation on the index, the image manifests or both;
// what is published carries each where it was asked for, and verify checks the index's.
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { cli, docker, env, namespace, project, reportOf } from "./helpers.ts";

describe.skipIf(!env)("index annotations", () => {
  test("index:, index,manifest: and plain keys land on the index, both, and the image manifests", async () => {
    const ns = namespace("annot");
    const dir = project(
      env!.registry,
      ns,
      `FROM ${env!.baseImage}\nRUN echo ${ns} > /id\n`,
      `    annotations:
      org.opencontainers.image.source: https://example.com/${ns}
      "index,manifest:org.opencontainers.image.description": "What ${ns} does"
      "index:org.opencontainers.image.title": ${ns}
`,
    );
    const r = await cli(["apply", "-f", join(dir, "multiarch.yaml"), "--json"]);
    expect(r.exitCode, r.stderr).toBe(0);
    const verify = reportOf(r.stdout).steps.find((s: { kind: string }) => s.kind === "verify");
    expect(verify.status).toBe("ok");
    const raw = async (ref: string) => JSON.parse((await docker(["buildx", "imagetools", "inspect", ref, "--raw"])).stdout);
    const index = await raw(`${env!.registry}/${ns}/app:latest`);
    expect(index.annotations).toMatchObject({ "org.opencontainers.image.description": `What ${ns} does`, "org.opencontainers.image.title": ns });
    expect(index.annotations["org.opencontainers.image.source"]).toBeUndefined();
    const image = index.manifests.find((m: { platform?: { architecture: string } }) => m.platform?.architecture === "arm64");
    const manifest = await raw(`${env!.registry}/${ns}/app@${image.digest}`);
    expect(manifest.annotations).toMatchObject({
      "org.opencontainers.image.source": `https://example.com/${ns}`,
      "org.opencontainers.image.description": `What ${ns} does`,
    });
    expect(manifest.annotations["org.opencontainers.image.title"]).toBeUndefined();
  });
});
