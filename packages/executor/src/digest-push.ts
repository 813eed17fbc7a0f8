// Pushing by digest with the one registry client, so no tag is written before publish: an OCI layout a
// build wrote into the run's folder (blobs first, each once: HEAD, else mounted from another repository
// of this run on the same registry, else uploaded streamed from disk, several at once; then the
// manifests, an index's images before the index), and an index made of images already pushed.
import { createReadStream, readFileSync } from "node:fs";
import { join } from "node:path";
import { configPlatform, type ImageRef, OCI_REF_NAME, parseImageRef, referenceName, type Step, sha256 } from "@multiarch/plan";
import { mapLimit } from "./concurrency.ts";
import type { RegistryClient } from "./registry.ts";

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  platform?: { os: string; architecture: string; variant?: string };
  annotations?: Record<string, string>;
}

const OCI_INDEX = "application/vnd.oci.image.index.v1+json";
const isIndex = (mediaType: string) => mediaType === OCI_INDEX || mediaType === "application/vnd.docker.distribution.manifest.list.v2+json";
/** Blobs uploaded at once per pushed image. */
const UPLOADS = 4;

/**
 * Where this run knows each blob to be, per registry host (digest -> a repository holding it, or an
 * upload in flight): a second repository mounts it instead of uploading it again.
 */
export class BlobLocations {
  private readonly places = new Map<string, { path: string; done: Promise<unknown> }>();

  where(host: string, digest: string): { path: string; done: Promise<unknown> } | undefined {
    return this.places.get(`${host} ${digest}`);
  }

  note(host: string, digest: string, path: string, done: Promise<unknown> = Promise.resolve()): void {
    this.places.set(`${host} ${digest}`, { path, done });
  }
}

/** What an in-process step (a push by digest, a verification's read, publish's tags) does, for people (apply --dry-run); undefined for steps that run commands. */
export function showInProcess(step: Step): string | undefined {
  const show = (s: string | { built: string }) => (typeof s === "string" ? s : `<${s.built} as built>`);
  if (step.layout) return `(in-process) push <run>/${step.layout.dir} to ${referenceName(step.layout.ref)} by digest, no tag`;
  if (step.copy) return `(in-process) copy <${step.copy.from} as verified> to ${referenceName(step.copy.ref)} by digest, no tag`;
  if (step.index) return `(in-process) push an index of ${step.index.sources.map(show).join(" ")} to ${referenceName(step.index.ref)} by digest, no tag`;
  if (step.read && step.expect && "ref" in step.expect)
    return `(in-process) read ${show(step.read.ref)}, its images' manifests and configs: ${step.expect.platforms.join(", ")} exactly`;
  if (step.moveTags) return `(in-process) point ${step.moveTags.tags.join(", then ")} at <${step.moveTags.staging} as verified> (its very bytes)`;
  return undefined;
}

/** The repository a reference names (host/path; its tag aside), as the client addresses it. */
export function repositoryOf(ref: string): ImageRef {
  const parsed = parseImageRef(ref);
  if (!parsed.ok) throw new Error(parsed.message);
  return { host: parsed.value.host, path: parsed.value.path };
}

const readJson = (file: string) => JSON.parse(readFileSync(file, "utf8")) as Record<string, unknown>;

export interface LayoutPush {
  descriptor: Descriptor;
  /** How each blob got there: already in the repository, mounted from another one, uploaded. */
  blobs: { present: number; mounted: number; uploaded: number };
}

/** Where an image's manifests and blobs are read from: an OCI layout folder, or another repository. */
interface ImageSource {
  manifest(digest: string): Promise<Uint8Array>;
  open(digest: string): AsyncIterable<Uint8Array>;
  /** A repository on the target's registry holding every blob: they are mounted from it. */
  mountFrom?: string;
}

/**
 * Puts `root` and all it references into `target` by digest: every config and layer once (HEAD, else
 * mounted from a repository that has it, else uploaded, several at once), then the manifests, an index's
 * images before the index (a registry may refuse an index whose images it lacks). No tag.
 */
async function pushTree(client: RegistryClient, root: Descriptor, source: ImageSource, target: ImageRef, known: BlobLocations): Promise<LayoutPush> {
  const manifests: { descriptor: Descriptor; bytes: Uint8Array }[] = [];
  const blobs = new Map<string, number>();
  const walk = async (d: Descriptor) => {
    const bytes = await source.manifest(d.digest);
    const json = JSON.parse(new TextDecoder().decode(bytes)) as Record<string, unknown>;
    if (isIndex(d.mediaType)) for (const child of json.manifests as Descriptor[]) await walk(child);
    else for (const b of [json.config as Descriptor, ...(json.layers as Descriptor[])]) blobs.set(b.digest, b.size);
    manifests.push({ descriptor: d, bytes });
  };
  await walk(root);
  const how = await mapLimit([...blobs], UPLOADS, async ([digest, size]) => {
    const elsewhere = known.where(target.host, digest);
    const mine = (async () => {
      if (elsewhere) await elsewhere.done.catch(() => undefined);
      // in another repository of this run: a mount answers "already there" too, without a HEAD first
      const from = elsewhere && elsewhere.path !== target.path ? elsewhere.path : source.mountFrom;
      if (!from && (await client.hasBlob(target, digest))) return "present" as const;
      return client.pushBlob(target, digest, size, () => source.open(digest), from);
    })();
    // Noted before anything is awaited, so a second push of the blob to this repository waits for this
    // one: two uploads of one blob at once made registry 2.8 answer "manifest blob unknown" (seen in CI).
    if (elsewhere?.path !== target.path) known.note(target.host, digest, target.path, mine);
    return mine;
  });
  const put = (m: (typeof manifests)[number]) => client.putManifest(target, m.descriptor.digest, m.descriptor.mediaType, m.bytes);
  await mapLimit(manifests.slice(0, -1), UPLOADS, put);
  await put(manifests.at(-1)!);
  const { annotations, ...descriptor } = root;
  // the layout's own name annotations (tags the build was given) are no part of what was pushed
  const kept = Object.fromEntries(Object.entries(annotations ?? {}).filter(([k]) => k !== OCI_REF_NAME && k !== "io.containerd.image.name"));
  const count = (k: string) => how.filter((h) => h === k).length;
  return {
    descriptor: Object.keys(kept).length ? { ...descriptor, annotations: kept } : descriptor,
    blobs: { present: count("present"), mounted: count("mounted"), uploaded: count("uploaded") },
  };
}

/**
 * A file's bytes, opened when first read: a read error (the run's folder gone) ends the upload reading
 * it, where a stream opened and never read would throw it at nobody (the process ended on it, in CI).
 */
async function* fileChunks(path: string): AsyncIterable<Uint8Array> {
  yield* createReadStream(path);
}

/**
 * Pushes an image (index or manifest) of an OCI layout folder to `target`: the one with digest `want`
 * (a layout several builds wrote into), or the layout's only image.
 */
export async function pushLayout(client: RegistryClient, dir: string, target: ImageRef, known: BlobLocations, want?: string): Promise<LayoutPush> {
  const blob = (digest: string) => join(dir, "blobs", ...digest.split(":"));
  const top = (readJson(join(dir, "index.json")).manifests as Descriptor[] | undefined) ?? [];
  const root = want ? top.find((d) => d.digest === want) : top.length === 1 ? top[0] : undefined;
  if (!root) throw new Error(want ? `${dir}: the layout holds no image ${want}` : `${dir}: the layout holds ${top.length} images, not one`);
  return pushTree(client, root, { manifest: async (d) => readFileSync(blob(d)), open: (d) => fileChunks(blob(d)) }, target, known);
}

/**
 * Copies the image `from` names by digest (an index with its images and attestations, or one manifest)
 * into `target`'s repository, byte for byte, so its digest is the same there; no tag. Blobs are mounted
 * when both repositories are on one registry, else streamed from one to the other.
 */
export async function copyImage(client: RegistryClient, from: ImageRef & { digest: string }, target: ImageRef, known: BlobLocations): Promise<LayoutPush> {
  const top = await client.manifest(from);
  const source: ImageSource = {
    manifest: async (digest) => (digest === top.digest ? top.bytes : (await client.manifest({ ...from, digest })).bytes),
    open: (digest) => client.openBlob(from, digest),
    ...(from.host === target.host && from.path !== target.path ? { mountFrom: from.path } : {}),
  };
  return pushTree(client, { mediaType: top.mediaType, digest: top.digest, size: top.size }, source, target, known);
}

/**
 * An OCI index of images already in `target`'s repository (each name@digest): an image manifest becomes
 * an entry with the platform its config names; an index gives its entries as they are (attestations
 * included). Pushed by digest; returns the index's digest.
 */
export async function pushIndex(client: RegistryClient, target: ImageRef, sources: readonly string[], annotations?: Record<string, string>): Promise<string> {
  const entries = await Promise.all(
    sources.map(async (source): Promise<Descriptor[]> => {
      const ref = { ...target, digest: source.slice(source.indexOf("@") + 1) };
      const m = await client.manifest(ref);
      if (isIndex(m.mediaType)) return m.json.manifests as Descriptor[];
      const config = await client.blob(ref, (m.json.config as Descriptor).digest);
      return [{ mediaType: m.mediaType, digest: m.digest, size: m.size, platform: configPlatform(config) }];
    }),
  );
  const index = {
    schemaVersion: 2,
    mediaType: OCI_INDEX,
    manifests: entries.flat(),
    ...(annotations && Object.keys(annotations).length ? { annotations } : {}),
  };
  const bytes = new TextEncoder().encode(JSON.stringify(index));
  const digest = `sha256:${sha256(bytes)}`;
  await client.putManifest(target, digest, OCI_INDEX, bytes);
  return digest;
}
