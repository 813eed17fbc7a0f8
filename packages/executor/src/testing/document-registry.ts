// For unit tests: a registry of JSON documents (manifests, configs) by digest, and tags naming them, on a
// loopback port of its own, answering GETs of repository `r` as the distribution API does, and manifest
// PUTs by tag (with `holdPuts`, applied but never answered: a request an interrupt cuts off), and
// DELETEs of manifests by digest.
import { createHash } from "node:crypto";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll } from "vitest";

/** Starts before the file's tests and stops after them; `host` is set once it listens. */
export function documentRegistry() {
  const docs = new Map<string, string>();
  const tags = new Map<string, string>();
  const server = http.createServer((req, res) => {
    const m = /^\/v2\/r\/(manifests|blobs)\/(.+)$/.exec(req.url ?? "");
    if (req.method === "PUT" && m?.[1] === "manifests") {
      const body: Buffer[] = [];
      req.on("data", (c: Buffer) => body.push(c));
      req.on("end", () => {
        const text = Buffer.concat(body).toString("utf8");
        const digest = `sha256:${createHash("sha256").update(text).digest("hex")}`;
        docs.set(digest, text);
        tags.set(m[2]!, digest);
        if (!registry.holdPuts) res.writeHead(201, { "docker-content-digest": digest }).end();
      });
      return;
    }
    // a manifest deleted by digest takes every tag naming it along
    if (req.method === "DELETE" && m?.[1] === "manifests" && docs.delete(m[2]!)) {
      for (const [tag, d] of tags) if (d === m[2]) tags.delete(tag);
      return void res.writeHead(202).end();
    }
    const digest = m && (m[2]!.startsWith("sha256:") ? m[2]! : tags.get(m[2]!));
    const text = digest && docs.get(digest);
    if (!text) return void res.writeHead(404).end();
    const mediaType = (JSON.parse(text) as { mediaType?: string }).mediaType ?? "application/octet-stream";
    res.writeHead(200, { "content-type": mediaType, "docker-content-digest": digest }).end(text);
  });
  const registry = {
    host: "",
    tags,
    holdPuts: false,
    /** Stores a document; returns its digest. */
    put(doc: unknown): string {
      const text = JSON.stringify(doc);
      const digest = `sha256:${createHash("sha256").update(text).digest("hex")}`;
      docs.set(digest, text);
      return digest;
    },
    /** An image manifest whose config is `config`. */
    image(config: Record<string, unknown>): string {
      return registry.put({
        schemaVersion: 2,
        mediaType: "application/vnd.oci.image.manifest.v1+json",
        config: { mediaType: "application/vnd.oci.image.config.v1+json", digest: registry.put(config) },
        layers: [],
      });
    },
  };
  beforeAll(
    () =>
      new Promise<void>((r) =>
        server.listen(0, "127.0.0.1", () => {
          registry.host = `127.0.0.1:${(server.address() as AddressInfo).port}`;
          r();
        }),
      ),
  );
  afterAll(() => {
    server.closeAllConnections();
    server.close();
  });
  return registry;
}
