import { INPUT_HASH_LABEL } from "@multiarch/plan";
import { expect, test } from "vitest";
import { readTag } from "./published.ts";
import { RegistryClient } from "./registry.ts";
import { documentRegistry } from "./testing/document-registry.ts";

const registry = documentRegistry();
const { tags } = registry;
const image = (arch: string, hash: string | undefined) =>
  registry.image({ os: "linux", architecture: arch, config: { Labels: hash ? { [INPUT_HASH_LABEL]: hash } : {} } });
const list = (entries: [string, string][]) =>
  registry.put({
    schemaVersion: 2,
    mediaType: "application/vnd.oci.image.index.v1+json",
    manifests: entries.map(([arch, digest]) => ({
      mediaType: "application/vnd.oci.image.manifest.v1+json",
      digest,
      size: 1,
      platform: { os: "linux", architecture: arch },
    })),
  });

// A list made by hand of one build's amd64 and another's arm64 (no annotation: docker manifest) was taken
// for the first image's build, said up to date, and reused onto a new tag.
test("an index without the annotation holds an input hash only if every image's config carries that one", async () => {
  const { host } = registry;
  const client = new RegistryClient({ env: {}, insecureHosts: [host] });
  tags.set(
    "same",
    list([
      ["amd64", image("amd64", "h1")],
      ["arm64", image("arm64", "h1")],
    ]),
  );
  tags.set(
    "spliced",
    list([
      ["amd64", image("amd64", "h2")],
      ["arm64", image("arm64", "h1")],
    ]),
  );
  tags.set(
    "unlabelled",
    list([
      ["amd64", image("amd64", "h1")],
      ["arm64", image("arm64", undefined)],
    ]),
  );
  tags.set("single", image("arm64", "h1"));
  expect(await readTag(client, `${host}/r:same`)).toMatchObject({ inputHash: "h1", platforms: ["linux/amd64", "linux/arm64"] });
  expect((await readTag(client, `${host}/r:spliced`))?.inputHash).toBeUndefined();
  expect((await readTag(client, `${host}/r:unlabelled`))?.inputHash).toBeUndefined();
  expect(await readTag(client, `${host}/r:single`)).toMatchObject({ inputHash: "h1", platforms: ["linux/arm64"] });
});
