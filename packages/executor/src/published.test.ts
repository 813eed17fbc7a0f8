import { createHash } from "node:crypto";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { INPUT_HASH_LABEL } from "@multiarch/plan";
import { afterAll, beforeAll, expect, test } from "vitest";
import { readTag } from "./published.ts";
import { RegistryClient } from "./registry.ts";

// A registry of JSON documents by digest, and tags naming them.
const docs = new Map<string, string>();
const tags = new Map<string, string>();
const put = (doc: unknown): string => {
  const text = JSON.stringify(doc);
  const digest = `sha256:${createHash("sha256").update(text).digest("hex")}`;
  docs.set(digest, text);
  return digest;
};
const image = (arch: string, hash: string | undefined) =>
  put({
    schemaVersion: 2,
    mediaType: "application/vnd.oci.image.manifest.v1+json",
    config: {
      mediaType: "application/vnd.oci.image.config.v1+json",
      digest: put({ os: "linux", architecture: arch, config: { Labels: hash ? { [INPUT_HASH_LABEL]: hash } : {} } }),
    },
    layers: [],
  });
const list = (entries: [string, string][]) =>
  put({
    schemaVersion: 2,
    mediaType: "application/vnd.oci.image.index.v1+json",
    manifests: entries.map(([arch, digest]) => ({
      mediaType: "application/vnd.oci.image.manifest.v1+json",
      digest,
      size: 1,
      platform: { os: "linux", architecture: arch },
    })),
  });

const server = http.createServer((req, res) => {
  const m = /^\/v2\/r\/(manifests|blobs)\/(.+)$/.exec(req.url ?? "");
  const digest = m && (m[2]!.startsWith("sha256:") ? m[2]! : tags.get(m[2]!));
  const text = digest && docs.get(digest);
  if (!text) return void res.writeHead(404).end();
  const mediaType = (JSON.parse(text) as { mediaType?: string }).mediaType ?? "application/octet-stream";
  res.writeHead(200, { "content-type": mediaType, "docker-content-digest": digest }).end(text);
});
let host = "";
beforeAll(
  () =>
    new Promise<void>((r) =>
      server.listen(0, "127.0.0.1", () => {
        host = `127.0.0.1:${(server.address() as AddressInfo).port}`;
        r();
      }),
    ),
);
afterAll(() => void server.close());

// A list made by hand of one build's amd64 and another's arm64 (no annotation: docker manifest) was taken
// for the first image's build, said up to date, and reused onto a new tag.
test("an index without the annotation holds an input hash only if every image's config carries that one", async () => {
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
