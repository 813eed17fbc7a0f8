import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { checkArchive, checkInspect, configLabelProblems, indexAnnotationProblems } from "./verify.ts";

const inspect = (
  platforms: { os: string; architecture: string; variant?: string }[],
  configs: Record<string, { architecture: string; os: string; variant?: string }> = {},
) =>
  JSON.stringify({
    name: "r/x:t",
    manifest: {
      digest: "sha256:abc",
      manifests: [
        ...platforms.map((platform, i) => ({ digest: `sha256:${i}`, platform })),
        { digest: "sha256:att", platform: { os: "unknown", architecture: "unknown" }, annotations: { "vnd.docker.reference.type": "attestation-manifest" } },
      ],
    },
    image: configs,
  });

describe("checkInspect", () => {
  test("exact platform set passes; attestations are not platforms", () => {
    const r = checkInspect(
      inspect([
        { os: "linux", architecture: "amd64" },
        { os: "linux", architecture: "arm", variant: "v7" },
      ]),
      ["linux/amd64", "linux/arm/v7"],
    );
    expect(r).toMatchObject({ ok: true, digest: "sha256:abc", missing: [], extra: [] });
  });
  test("missing and extra platforms fail", () => {
    const r = checkInspect(
      inspect([
        { os: "linux", architecture: "amd64" },
        { os: "linux", architecture: "s390x" },
      ]),
      ["linux/amd64", "linux/arm64"],
    );
    expect(r).toMatchObject({ ok: false, missing: ["linux/arm64"], extra: ["linux/s390x"] });
  });
  test("an image config naming another architecture fails", () => {
    const r = checkInspect(inspect([{ os: "linux", architecture: "arm64" }], { "linux/arm64": { os: "linux", architecture: "amd64" } }), ["linux/arm64"]);
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

test("a single image (not an index) is checked by its config's platform", () => {
  const json = JSON.stringify({
    name: "r/x:t",
    manifest: { digest: "sha256:one", mediaType: "application/vnd.oci.image.manifest.v1+json" },
    image: { os: "linux", architecture: "arm64" },
  });
  expect(checkInspect(json, ["linux/arm64"])).toMatchObject({ ok: true, digest: "sha256:one", manifests: { "linux/arm64": "sha256:one" } });
  expect(checkInspect(json, ["linux/amd64"])).toMatchObject({ ok: false, missing: ["linux/amd64"], extra: ["linux/arm64"] });
});

// `docker manifest inspect --verbose` (no buildx): one image's platform comes from its config, which the
// plain output (the manifest alone) does not carry; a legacy-builder shard's check saw no platform.
describe("docker manifest inspect --verbose", () => {
  const entry = (digest: string, platform: { os: string; architecture: string; variant?: string }) => ({
    Ref: `r/x@${digest}`,
    Descriptor: { mediaType: "application/vnd.docker.distribution.manifest.v2+json", digest, size: 698, platform },
    SchemaV2Manifest: { schemaVersion: 2, config: { digest: "sha256:cfg" }, layers: [] },
  });
  test("one image: the platform of its config", () => {
    const json = JSON.stringify(entry("sha256:one", { os: "linux", architecture: "arm", variant: "v7" }));
    expect(checkInspect(json, ["linux/arm/v7"])).toMatchObject({ ok: true, digest: "sha256:one", manifests: { "linux/arm/v7": "sha256:one" } });
    expect(checkInspect(json, ["linux/amd64"])).toMatchObject({ ok: false, missing: ["linux/amd64"], extra: ["linux/arm/v7"] });
  });
  test("a list: one entry per platform", () => {
    const json = JSON.stringify([entry("sha256:a", { os: "linux", architecture: "amd64" }), entry("sha256:b", { os: "linux", architecture: "arm64" })]);
    expect(checkInspect(json, ["linux/amd64", "linux/arm64"])).toMatchObject({ ok: true, manifests: { "linux/amd64": "sha256:a", "linux/arm64": "sha256:b" } });
    expect(checkInspect(json, ["linux/amd64"])).toMatchObject({ ok: false, extra: ["linux/arm64"] });
  });
});

describe("index annotations", () => {
  test("each wanted annotation must be on the index with its value", () => {
    const out = JSON.stringify({ manifest: { digest: "sha256:i", manifests: [], annotations: { a: "1", b: "other" } } });
    expect(indexAnnotationProblems(out, { a: "1" })).toEqual([]);
    expect(indexAnnotationProblems(out, { a: "1", b: "2", c: "3" })).toEqual(["b differs", "c is missing"]);
  });
});

describe("image config labels (promote: built by multiarch)", () => {
  const label = "io.multiarch.input-hash";
  test("every platform's config must carry each label; a single image's config too", () => {
    const index = (labels: Record<string, Record<string, string> | null>) =>
      JSON.stringify({
        manifest: { digest: "sha256:i", manifests: [] },
        image: Object.fromEntries(Object.entries(labels).map(([p, l]) => [p, { architecture: p.split("/")[1], config: { Labels: l } }])),
      });
    expect(configLabelProblems(index({ "linux/amd64": { [label]: "h" }, "linux/arm64": { [label]: "h" } }), [label])).toEqual([]);
    // busybox's index pushed by hand under the version's tag: no label, or no labels at all
    expect(configLabelProblems(index({ "linux/amd64": { other: "x" }, "linux/arm64": null }), [label])).toEqual([
      `linux/amd64 has no ${label}`,
      `linux/arm64 has no ${label}`,
    ]);
    const single = JSON.stringify({ manifest: { digest: "sha256:one" }, image: { architecture: "arm64", os: "linux", config: {} } });
    expect(configLabelProblems(single, [label])).toEqual([`the image has no ${label}`]);
    // without buildx (docker manifest inspect --verbose) there are no configs to read: refused, not passed
    const verbose = [{ Descriptor: { digest: "sha256:one", platform: { os: "linux", architecture: "amd64" } } }];
    expect(configLabelProblems(JSON.stringify(verbose), [label])).toEqual([`no image config to read ${label} from`]);
  });
});
