// What an image is built from, read before any build: the Dockerfile, the files of its context after
// .dockerignore (contents, not timestamps, so an untouched checkout hashes the same), its named local
// contexts, and the digest each external FROM image resolves to now (a moved tag changes the hash). The
// files are read again after the build (changedInputFiles): one edited in between is in the image.
import { closeSync, existsSync, lstatSync, openSync, readdirSync, readFileSync, readlinkSync, readSync } from "node:fs";
import { isAbsolute, join, posix, relative, resolve, sep } from "node:path";
import ignoreModule from "@balena/dockerignore";
import {
  configPlatform,
  descriptorPlatform,
  type ImageInputFacts,
  type ImageRef,
  isImageEntry,
  OCI_LAYOUT,
  ociLayoutFolder,
  parseImageRef,
  sha256,
} from "@multiarch/plan";
import { fromLines, type Image, imageReferences, type Spec } from "@multiarch/spec";
import { mapLimit } from "./concurrency.ts";
import { RegistryClient, type RegistryClientOptions } from "./registry.ts";

// A CommonJS package: its function is the module itself under node's ESM loader, `.default` in bundles.
const dockerignore = ((ignoreModule as unknown as { default?: unknown }).default ?? ignoreModule) as unknown as () => {
  add(p: string[]): { ignores(path: string): boolean };
};

type Env = Readonly<Record<string, string | undefined>>;

let chunk: Buffer | undefined;
/**
 * A file's sha256 read a MiB at a time, as sha256 of its contents: a context may hold files of gigabytes
 * (readFileSync refuses any over 2 GiB, and would hold the whole file).
 */
function fileSha256(path: string): string {
  chunk ??= Buffer.allocUnsafe(1 << 20);
  const hash = process.getBuiltinModule("node:crypto").createHash("sha256");
  const fd = openSync(path, "r");
  try {
    for (let n = readSync(fd, chunk); n > 0; n = readSync(fd, chunk)) hash.update(chunk.subarray(0, n));
  } finally {
    closeSync(fd);
  }
  return hash.digest("hex");
}

/**
 * A folder's files as BuildKit would send them (.dockerignore applied, paths sorted), each as hashed:
 * [its path (a folder's ends in /), what the image gets of it].
 */
export function contextFiles(dir: string, ignoreFile?: string, exclude: readonly string[] = []): [string, string][] {
  const patterns = ignoreFile && existsSync(ignoreFile) ? readFileSync(ignoreFile, "utf8").split(/\r?\n/) : [];
  // multiarch's own output folder in the context (context: .) is no input: each run rewrites it
  const own = exclude.map((e) => relative(dir, e).split(sep).join("/")).filter((r) => r !== "" && !r.startsWith("..") && !isAbsolute(r));
  const ig = dockerignore().add(patterns);
  // With an exception (!pattern) an excluded folder may still hold included files: walk everything then.
  const prune = !patterns.some((p) => p.trim().startsWith("!"));
  const entries: [string, string][] = [];
  const walk = (rel: string) => {
    for (const name of readdirSync(join(dir, rel)).sort()) {
      const path = rel ? `${rel}/${name}` : name;
      if (own.includes(path)) continue;
      const st = lstatSync(join(dir, path));
      const ignored = ig.ignores(path);
      // the permission bits, not only the executable ones: COPY keeps them, so a file made 0600 builds
      // another image (a checkout under another umask too)
      const mode = (st.mode & 0o7777).toString(8);
      if (st.isDirectory()) {
        if (ignored && prune) continue;
        if (!ignored) entries.push([`${path}/`, `dir\0${mode}`]);
        walk(path);
      } else if (!ignored) {
        if (st.isSymbolicLink()) entries.push([path, `link\0${readlinkSync(join(dir, path))}`]);
        else if (st.isFile()) entries.push([path, `${mode}\0${fileSha256(join(dir, path))}`]);
      }
    }
  };
  walk("");
  return entries;
}

/** The digest of a folder's files (contextFiles). */
export const filesDigest = (files: readonly [string, string][]): string => sha256(files.map(([path, what]) => `${path}\0${what}`).join("\n"));

/** A folder's files as hashed (contextFiles). */
interface Folder {
  dir: string;
  files: [string, string][];
}

/**
 * What an image's build reads from disk, as it was hashed: the Dockerfile's text, the files of the
 * context and of each local named context or OCI layout folder (by name).
 */
export interface InputFiles {
  dockerfile: { path: string; text: string };
  context: Folder;
  contexts: Record<string, Folder>;
}

/** An image's input files, read as gatherInputs hashes them; `exclude`: multiarch's output folders. */
function readInputFiles(spec: Spec, img: Image, exclude: readonly string[]): InputFiles {
  const contextAbs = resolve(spec.dir, img.context);
  const dockerfileAbs = resolve(contextAbs, img.dockerfile);
  const contexts: InputFiles["contexts"] = {};
  for (const c of img.contexts) {
    if (c.kind === "local") {
      const dir = resolve(spec.dir, c.path);
      contexts[c.name] = { dir, files: contextFiles(dir, join(dir, ".dockerignore"), exclude) };
    } else if (c.kind === "ref" && c.ref.startsWith(OCI_LAYOUT)) {
      // an OCI layout is a folder of the repository: what it holds now is the input (a tag in it can move)
      const dir = resolve(spec.dir, ociLayoutFolder(c.ref));
      contexts[c.name] = { dir, files: contextFiles(dir, join(dir, ".dockerignore")) };
    }
  }
  return {
    dockerfile: { path: dockerfileAbs, text: readFileSync(dockerfileAbs, "utf8") },
    context: { dir: contextAbs, files: contextFiles(contextAbs, ignoreFileOf(contextAbs, dockerfileAbs), exclude) },
    contexts,
  };
}

/**
 * The files of an image's inputs that differ now from `before` (what gatherInputs hashed): changed,
 * added or removed, relative to the spec's folder. Read again with the code that hashed them, so "none"
 * means the same hash. A Dockerfile or folder that cannot be read any more is named as changed.
 */
export function changedInputFiles(spec: Spec, img: Image, before: InputFiles, outDir?: string): string[] {
  let now: InputFiles;
  try {
    now = readInputFiles(spec, img, outputFolders(spec, outDir));
  } catch (e) {
    const path = (e as NodeJS.ErrnoException).path;
    return [path ? relative(spec.dir, path) : (e as Error).message];
  }
  const listed = (f: InputFiles) => [
    `${f.dockerfile.path}\0${sha256(f.dockerfile.text)}`,
    ...[f.context, ...Object.values(f.contexts)].flatMap(({ dir, files }) => files.map(([path, what]) => `${join(dir, path)}\0${what}`)),
  ];
  const [was, is] = [new Set(listed(before)), new Set(listed(now))];
  const differ = [...[...was].filter((e) => !is.has(e)), ...[...is].filter((e) => !was.has(e))];
  return [...new Set(differ.map((e) => relative(spec.dir, e.slice(0, e.indexOf("\0"))) || "."))].sort();
}

/** multiarch's output folders (the default one, and -o's): never an image's input. */
const outputFolders = (spec: Spec, outDir?: string): string[] => [join(spec.dir, ".multiarch"), ...(outDir ? [outDir] : [])];

/** BuildKit reads <Dockerfile>.dockerignore beside the Dockerfile first, then the context's .dockerignore. */
function ignoreFileOf(contextAbs: string, dockerfileAbs: string): string {
  const specific = `${dockerfileAbs}.dockerignore`;
  return existsSync(specific) ? specific : join(contextAbs, ".dockerignore");
}

/**
 * Input facts of each image, and the files they were hashed from (for changedInputFiles). `args` are
 * each image's rendered build args (they can choose FROM images). Registry answers are cached per
 * reference, read at most 8 at once.
 */
export async function gatherInputs(
  spec: Spec,
  images: readonly Image[],
  args: ReadonlyMap<string, Record<string, string>>,
  env: Env,
  opts: { outDir?: string; onWait?: RegistryClientOptions["onWait"] } = {},
): Promise<{ facts: Record<string, ImageInputFacts>; files: Map<string, InputFiles> }> {
  const exclude = outputFolders(spec, opts.outDir);
  const insecureHosts = spec.registries.filter((r) => r.insecure).map((r) => r.host);
  const client = new RegistryClient({ env, insecureHosts, ...(opts.onWait ? { onWait: opts.onWait } : {}) });
  const resolved = new Map<string, Promise<{ digest?: string; error?: string; platforms?: string[] }>>();
  const digestOf = (ref: string) => {
    let p = resolved.get(ref);
    if (!p) {
      const parsed = parseImageRef(ref);
      p = !parsed.ok
        ? Promise.resolve({ error: parsed.message })
        : parsed.value.digest
          ? Promise.resolve({ digest: parsed.value.digest })
          : client.manifest(parsed.value).then(
              async (m) => {
                const platforms = platformsOfIndex(m.json) ?? (await singlePlatform(client, parsed.value, m.json));
                return { digest: m.digest, ...(platforms ? { platforms } : {}) };
              },
              (e: Error) => ({ error: e.message }),
            );
      resolved.set(ref, p);
    }
    return p;
  };
  const out: Record<string, ImageInputFacts> = {};
  const files = new Map<string, InputFiles>();
  await mapLimit(images, 8, async (img) => {
    const read = readInputFiles(spec, img, exclude);
    files.set(img.name, read);
    const dockerfileText = read.dockerfile.text;
    const contexts = Object.fromEntries(Object.entries(read.contexts).map(([name, f]) => [name, filesDigest(f.files)]));
    const contextNames = img.contexts.map((c) => c.name);
    const froms = fromLines(dockerfileText, args.get(img.name) ?? {}, contextNames).filter((f) => f.kind === "image");
    const bases = await Promise.all(
      froms.map(async (f) => {
        if (f.unresolved?.length) return { ref: f.ref, line: f.line, error: `FROM uses ${f.unresolved.join(", ")}, which has no value` };
        return { ref: f.ref, line: f.line, ...(f.platform ? { pinned: true } : {}), ...(await digestOf(f.ref)) };
      }),
    );
    // Images read besides the FROMs: COPY --from, RUN --mount from=, docker-image:// contexts (line 0). A
    // moved tag of one is a changed input as much as a moved FROM. Their platforms are not checked here.
    const others = [
      ...imageReferences(dockerfileText, args.get(img.name) ?? {}, contextNames),
      ...img.contexts.flatMap((c) => (c.kind === "ref" && c.ref.startsWith(DOCKER_IMAGE) ? [{ line: 0, ref: c.ref.slice(DOCKER_IMAGE.length) }] : [])),
    ].filter((r, i, all) => !froms.some((f) => f.ref === r.ref) && all.findIndex((o) => o.ref === r.ref) === i);
    const resolvedRead = await Promise.all(
      others.map(async (r) => {
        const { platforms: _, ...found } = await digestOf(r.ref);
        return { ref: r.ref, line: r.line, ...found };
      }),
    );
    bases.push(...resolvedRead);
    out[img.name] = {
      dockerfile: sha256(dockerfileText),
      context: filesDigest(read.context.files),
      contexts,
      bases,
    };
  });
  return { facts: out, files };
}

/** A named context that is an image (`contexts: { NAME: "docker-image://REF" }`). */
const DOCKER_IMAGE = "docker-image://";

/** The platforms an index offers (attestation entries aside); undefined for a single image manifest. */
export function platformsOfIndex(json: Record<string, unknown>): string[] | undefined {
  const list = json.manifests as { platform?: { os: string; architecture: string; variant?: string } }[] | undefined;
  if (!Array.isArray(list)) return undefined;
  return list.filter(isImageEntry).map((d) => descriptorPlatform(d.platform!));
}

/**
 * A base that is one image, not an index, offers the platform its config names, and no other: BuildKit
 * builds every platform FROM it (found by a review: an "arm64" image of x86-64 binaries, published).
 */
async function singlePlatform(client: RegistryClient, ref: ImageRef, manifest: Record<string, unknown>): Promise<string[] | undefined> {
  const config = (manifest.config as { digest?: string } | undefined)?.digest;
  if (!config) return undefined;
  try {
    return [descriptorPlatform(configPlatform(await client.blob(ref, config)))];
  } catch {
    // its config unread: its platforms unknown, as before this was asked (the build says what it finds)
    return undefined;
  }
}

export const dockerfilePath = (img: Image): string => posix.join(img.context, img.dockerfile);
