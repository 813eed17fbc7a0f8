import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { descriptorPlatform } from "@multiarch/plan";
import { describe, expect, test } from "vitest";
import { RegistryClient } from "./registry.ts";
import { documentRegistry } from "./testing/document-registry.ts";
import { checkArchive, checkImage, configLabelProblems, type Inspection, indexAnnotationProblems, inputHashProblems, inspectImage } from "./verify.ts";

type Platform = { os: string; architecture: string; variant?: string };
const index = (platforms: Platform[], configs: Record<string, Platform> = {}): Inspection => ({
  digest: "sha256:abc",
  mediaType: "application/vnd.oci.image.index.v1+json",
  index: true,
  annotations: {},
  images: platforms.map((platform, i) => ({
    descriptor: { digest: `sha256:${i}`, platform },
    manifest: {},
    config: configs[descriptorPlatform(platform)] ?? platform,
  })),
  others: [],
});

describe("checkImage", () => {
  test("exact platform set passes", () => {
    const r = checkImage(
      index([
        { os: "linux", architecture: "amd64" },
        { os: "linux", architecture: "arm", variant: "v7" },
      ]),
      ["linux/amd64", "linux/arm/v7"],
    );
    expect(r).toMatchObject({ ok: true, digest: "sha256:abc", missing: [], extra: [] });
  });
  test("missing and extra platforms fail", () => {
    const r = checkImage(
      index([
        { os: "linux", architecture: "amd64" },
        { os: "linux", architecture: "s390x" },
      ]),
      ["linux/amd64", "linux/arm64"],
    );
    expect(r).toMatchObject({ ok: false, missing: ["linux/arm64"], extra: ["linux/s390x"] });
  });
  test("an image config naming another architecture fails", () => {
    const r = checkImage(index([{ os: "linux", architecture: "arm64" }], { "linux/arm64": { os: "linux", architecture: "amd64" } }), ["linux/arm64"]);
    expect(r).toMatchObject({ ok: false, mismatched: ["linux/arm64"] });
  });
});

/** A minimal ustar archive of the given files, as buildx's oci exporter writes an OCI layout. */
function tar(files: Record<string, string>): Buffer {
  const parts: Buffer[] = [];
  for (const [name, content] of Object.entries(files)) {
    const body = Buffer.from(content);
    const header = Buffer.alloc(512);
    header.write(name, 0);
    header.write(`${body.length.toString(8).padStart(11, "0")}\0`, 124);
    header.write("0", 156);
    parts.push(header, body, Buffer.alloc((512 - (body.length % 512)) % 512));
  }
  return Buffer.concat([...parts, Buffer.alloc(1024)]);
}

describe("checkArchive", () => {
  const layout = (platforms: { os: string; architecture: string; variant?: string }[]) => {
    const index = { manifests: platforms.map((platform, i) => ({ mediaType: "application/vnd.oci.image.manifest.v1+json", digest: `sha256:${i}`, platform })) };
    const dir = mkdtempSync(join(tmpdir(), "multiarch-oci-"));
    const file = join(dir, "x.tar");
    writeFileSync(
      file,
      tar({
        "index.json": JSON.stringify({ manifests: [{ mediaType: "application/vnd.oci.image.index.v1+json", digest: "sha256:top" }] }),
        "blobs/sha256/top": JSON.stringify(index),
      }),
    );
    return file;
  };

  test("reads the nested index of an OCI layout and compares its platforms", () => {
    const file = layout([
      { os: "linux", architecture: "amd64" },
      { os: "linux", architecture: "arm64" },
    ]);
    expect(checkArchive(file, ["linux/amd64", "linux/arm64"])).toMatchObject({ ok: true, digest: "sha256:top" });
    expect(checkArchive(file, ["linux/amd64", "linux/arm/v7"])).toMatchObject({ ok: false, missing: ["linux/arm/v7"], extra: ["linux/arm64"] });
  });
});

describe("inspectImage", () => {
  const registry = documentRegistry();
  const { tags } = registry;
  const put = registry.put;
  const image = registry.image;
  const read = (tag: string) => inspectImage(new RegistryClient({ env: {} }), { host: registry.host, path: "r", tag });

  test("an index: its annotations, and each image's config; attestations are not images", async () => {
    const amd = image({ os: "linux", architecture: "amd64", config: { Labels: { a: "1" } } });
    const arm = image({ os: "linux", architecture: "arm", variant: "v7" });
    const attestation = image({ architecture: "unknown", os: "unknown" });
    tags.set(
      "two",
      put({
        schemaVersion: 2,
        mediaType: "application/vnd.oci.image.index.v1+json",
        annotations: { k: "v" },
        manifests: [
          { mediaType: "application/vnd.oci.image.manifest.v1+json", digest: amd, size: 1, platform: { os: "linux", architecture: "amd64" } },
          { mediaType: "application/vnd.oci.image.manifest.v1+json", digest: arm, size: 1, platform: { os: "linux", architecture: "arm", variant: "v7" } },
          {
            mediaType: "application/vnd.oci.image.manifest.v1+json",
            digest: attestation,
            size: 1,
            platform: { os: "unknown", architecture: "unknown" },
            annotations: { "vnd.docker.reference.type": "attestation-manifest" },
          },
        ],
      }),
    );
    const seen = await read("two");
    expect([seen.index, seen.annotations, seen.images.map((i) => [i.descriptor.digest, i.config.architecture])]).toEqual([
      true,
      { k: "v" },
      [
        [amd, "amd64"],
        [arm, "arm"],
      ],
    ]);
    expect(checkImage(seen, ["linux/amd64", "linux/arm/v7"])).toMatchObject({ ok: true, digest: tags.get("two"), manifests: { "linux/amd64": amd } });
    expect(configLabelProblems(seen, ["a"])).toEqual(["linux/arm/v7 has no a"]);
  });

  // one image (a shard's, of one platform): its platform is its config's, which the manifest alone does not say
  test("one image: the platform of its config", async () => {
    const one = image({ os: "linux", architecture: "arm", variant: "v7" });
    tags.set("one", one);
    const seen = await read("one");
    expect(checkImage(seen, ["linux/arm/v7"])).toMatchObject({ ok: true, digest: one, manifests: { "linux/arm/v7": one } });
    expect(checkImage(seen, ["linux/amd64"])).toMatchObject({ ok: false, missing: ["linux/amd64"], extra: ["linux/arm/v7"] });
  });
});

describe("index annotations", () => {
  test("each wanted annotation must be on the index with its value", () => {
    const seen = { ...index([]), annotations: { a: "1", b: "other" } };
    expect(indexAnnotationProblems(seen, { a: "1" })).toEqual([]);
    expect(indexAnnotationProblems(seen, { a: "1", b: "2", c: "3" })).toEqual(["b differs", "c is missing"]);
  });
});

describe("image config labels (promote: built by multiarch)", () => {
  const label = "io.multiarch.input-hash";
  test("every platform's config must carry each label; a single image's config too", () => {
    const labelled = (labels: Record<string, Record<string, string> | null>): Inspection => ({
      ...index([]),
      images: Object.entries(labels).map(([p, l]) => ({
        descriptor: { digest: "sha256:x", platform: { os: "linux", architecture: p.split("/")[1]! } },
        manifest: {},
        config: { architecture: p.split("/")[1]!, config: { Labels: l } },
      })),
    });
    expect(configLabelProblems(labelled({ "linux/amd64": { [label]: "h" }, "linux/arm64": { [label]: "h" } }), [label])).toEqual([]);
    // busybox's index pushed by hand under the version's tag: no label, or no labels at all
    expect(configLabelProblems(labelled({ "linux/amd64": { other: "x" }, "linux/arm64": null }), [label])).toEqual([
      `linux/amd64 has no ${label}`,
      `linux/arm64 has no ${label}`,
    ]);
    const single: Inspection = {
      digest: "sha256:one",
      mediaType: "application/vnd.oci.image.manifest.v1+json",
      index: false,
      annotations: {},
      images: [
        { descriptor: { digest: "sha256:one", platform: { os: "linux", architecture: "arm64" } }, manifest: {}, config: { architecture: "arm64", config: {} } },
      ],
      others: [],
    };
    expect(configLabelProblems(single, [label])).toEqual([`the image has no ${label}`]);
    // an index of no images has no config to read: refused, not passed
    expect(configLabelProblems(index([]), [label])).toEqual([`no image config to read ${label} from`]);
    // merge: a shard file whose arm64 digest was edited to another build's image (found by a review)
    const mixed = labelled({ "linux/amd64": { [label]: "a".repeat(64) }, "linux/arm64": { [label]: "b".repeat(64) }, "linux/386": null });
    expect(inputHashProblems(mixed, "a".repeat(64))).toEqual(["linux/arm64 was built from bbbbbbbbbbbb", "linux/386 was built from no recorded inputs"]);
    expect(inputHashProblems(index([]), "a")).toEqual(["no image config to read the input hash from"]);
  });
});
