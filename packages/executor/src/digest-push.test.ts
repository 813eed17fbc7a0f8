// Pushing by digest against the test environment's real registry (127.0.0.1:5000, test/env/up.sh):
// a layout written here, pushed twice (the second time every blob is found), then to a second
// repository (every blob mounted), and an index of it; copies of that index by digest; no tag anywhere.
import { createHash } from "node:crypto";
import { cpSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { beforeAll, describe, expect, test } from "vitest";
import { BlobLocations, copyImage, pushIndex, pushLayout } from "./digest-push.ts";
import { RegistryClient } from "./registry.ts";

const HOST = "127.0.0.1:5000";
let up = false;
beforeAll(async () => {
  up = await fetch(`http://${HOST}/v2/`).then(
    (r) => r.ok,
    () => false,
  );
});

const sha = (b: Uint8Array) => `sha256:${createHash("sha256").update(b).digest("hex")}`;

/** A one-layer image for `arch` as an OCI layout folder. */
function layout(arch: string, content: string): string {
  const dir = mkdtempSync(join(tmpdir(), "multiarch-layout-"));
  mkdirSync(join(dir, "blobs", "sha256"), { recursive: true });
  const put = (bytes: Uint8Array) => {
    const d = sha(bytes);
    writeFileSync(join(dir, "blobs", "sha256", d.slice(7)), bytes);
    return { digest: d, size: bytes.length };
  };
  const layer = gzipSync(Buffer.from(content));
  const diff = sha(Buffer.from(content));
  const config = put(Buffer.from(JSON.stringify({ architecture: arch, os: "linux", rootfs: { type: "layers", diff_ids: [diff] }, config: {} })));
  const l = put(layer);
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: "application/vnd.oci.image.manifest.v1+json",
      config: { mediaType: "application/vnd.oci.image.config.v1+json", ...config },
      layers: [{ mediaType: "application/vnd.oci.image.layer.v1.tar+gzip", ...l }],
    }),
  );
  const m = put(manifest);
  writeFileSync(
    join(dir, "index.json"),
    JSON.stringify({
      schemaVersion: 2,
      manifests: [{ mediaType: "application/vnd.oci.image.manifest.v1+json", ...m, annotations: { "org.opencontainers.image.ref.name": "x" } }],
    }),
  );
  return dir;
}

const tagsOf = async (path: string) => ((await (await fetch(`http://${HOST}/v2/${path}/tags/list`)).json()) as { tags?: string[] | null }).tags ?? [];

describe("pushing by digest", () => {
  test("blobs once (found, mounted or uploaded), manifests by digest, an index of them; no tag", async (ctx) => {
    if (!up) ctx.skip();
    const ns = `digest-push-${Date.now().toString(36)}`;
    const client = new RegistryClient({ env: process.env });
    const known = new BlobLocations();
    const a = { host: HOST, path: `${ns}/a` };
    const dir = layout("arm64", `hello ${ns}`);
    const first = await pushLayout(client, dir, a, known);
    expect(first.blobs).toEqual({ present: 0, mounted: 0, uploaded: 2 });
    expect(first.descriptor.annotations).toBeUndefined();
    expect((await pushLayout(client, dir, a, known)).blobs).toEqual({ present: 2, mounted: 0, uploaded: 0 });
    // another repository of the same registry: mounted from the first, nothing uploaded again
    const b = { host: HOST, path: `${ns}/b` };
    expect((await pushLayout(client, dir, b, known)).blobs).toEqual({ present: 0, mounted: 2, uploaded: 0 });
    const index = await pushIndex(client, b, [`${HOST}/${b.path}@${first.descriptor.digest}`], { "org.example": "yes" });
    const read = await client.manifest({ ...b, digest: index });
    expect(read.json.manifests).toEqual([{ ...first.descriptor, platform: { os: "linux", architecture: "arm64" } }]);
    expect(read.json.annotations).toEqual({ "org.example": "yes" });
    expect(await tagsOf(a.path)).toEqual([]);
    expect(await tagsOf(b.path)).toEqual([]);

    // promote's copy: the index and its image, byte for byte (the same digest), by mount on one registry
    const c = { host: HOST, path: `${ns}/c` };
    const mounted = await copyImage(client, { ...b, digest: index }, c, new BlobLocations());
    expect(mounted.descriptor.digest).toBe(index);
    expect(mounted.blobs).toEqual({ present: 0, mounted: 2, uploaded: 0 });
    // another registry (the same one by another name): every blob streamed from one to the other
    const d = { host: HOST.replace("127.0.0.1", "localhost"), path: `${ns}/d` };
    const streamed = await copyImage(client, { ...b, digest: index }, d, new BlobLocations());
    expect(streamed).toEqual({ descriptor: mounted.descriptor, blobs: { present: 0, mounted: 0, uploaded: 2 } });
    expect((await client.manifest({ ...d, digest: index })).json.annotations).toEqual({ "org.example": "yes" });
    expect(await tagsOf(c.path)).toEqual([]);
    expect(await tagsOf(d.path)).toEqual([]);
  });

  test("two images sharing a layer, pushed at once to one repository: the layer is uploaded once", async (ctx) => {
    if (!up) ctx.skip();
    const ns = `digest-push-once-${Date.now().toString(36)}`;
    const client = new RegistryClient({ env: process.env });
    const known = new BlobLocations();
    const target = { host: HOST, path: `${ns}/app` };
    // the same layer content, two configs (two architectures), as a manifest strategy's per-arch pushes
    const pushed = await Promise.all(["amd64", "arm64"].map((arch) => pushLayout(client, layout(arch, `shared ${ns}`), target, known)));
    const total = (k: "uploaded" | "present") => pushed.reduce((n, p) => n + p.blobs[k], 0);
    expect([total("uploaded"), total("present")]).toEqual([3, 1]);
  });

  test("a layout several builds wrote into: the image with the digest the build reported", async (ctx) => {
    if (!up) ctx.skip();
    const ns = `digest-push-shared-${Date.now().toString(36)}`;
    const client = new RegistryClient({ env: process.env });
    const one = layout("amd64", `one ${ns}`);
    const two = layout("arm64", `two ${ns}`);
    // two's blobs and index entry added to one's layout, as bake's targets share one
    cpSync(join(two, "blobs"), join(one, "blobs"), { recursive: true });
    const index = (dir: string) => JSON.parse(readFileSync(join(dir, "index.json"), "utf8")) as { manifests: { digest: string }[] };
    const wanted = index(two).manifests[0]!.digest;
    writeFileSync(join(one, "index.json"), JSON.stringify({ schemaVersion: 2, manifests: [...index(one).manifests, ...index(two).manifests] }));
    const target = { host: HOST, path: `${ns}/app` };
    expect((await pushLayout(client, one, target, new BlobLocations(), wanted)).descriptor.digest).toBe(wanted);
    await expect(pushLayout(client, one, target, new BlobLocations())).rejects.toThrow("the layout holds 2 images, not one");
    await expect(pushLayout(client, one, target, new BlobLocations(), "sha256:0")).rejects.toThrow("no image sha256:0");
  });
});
