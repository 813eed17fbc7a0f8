// Rendered images -> a buildx bake file (JSON form) that buildx 0.13 reads without losing anything:
// CSV-string values (object forms need 0.20), `$${`/`%%{` escapes (bake interpolates JSON strings),
// and link targets where a base is built for more platforms than its consumer (0.13 wants equal lists).
import { archSuffix, type Platform, platformSlug, repositoryRef } from "@multiarch/plan";
import type { Image, Secret, Spec } from "@multiarch/spec";
import { type BuildOptions, buildOptions } from "./build-options.ts";
import type { RenderedImage } from "./render.ts";

/** A build secret as buildx's --secret / bake's secret entry: the source's name, never its value. */
export const secretFlag = (s: Secret): string => (s.env ? `id=${s.id},type=env,env=${s.env}` : `id=${s.id},type=file,src=${s.file}`);

/** A bake target: the image's build options (build-options.ts) under their own names, and the rest. */
export interface BakeTarget extends BuildOptions {
  context: string;
  dockerfile: string;
  platforms: string[];
  tags?: string[];
  args?: Record<string, string>;
  labels?: Record<string, string>;
  annotations?: string[];
  contexts?: Record<string, string>;
  secret?: string[];
  "cache-from"?: string[];
  "cache-to"?: string[];
  attest?: string[];
  output?: string[];
}

export interface BakeFile {
  group: Record<string, { targets: string[] }>;
  target: Record<string, BakeTarget>;
}

/** Where an image's cache lives, per platform (shards) and for the whole multi-platform build. */
export function cacheRefs(spec: Spec, image: Image, platform: Platform | "all"): { from: string; to: string } | undefined {
  const c = image.cache;
  if (!c) return undefined;
  // images sharing a repository (a matrix) keep their caches apart by name; `shared`: one for all
  const key = c.shared ? "shared" : `${image.repository !== image.name ? `${image.name}-` : ""}${platform === "all" ? "all" : platformSlug(platform)}`;
  const to = (s: string, extra = "") => `${s},mode=${c.mode}${extra}${c.ignoreError ? ",ignore-error=true" : ""}`;
  switch (c.type) {
    case "registry": {
      const reg = spec.registries.find((r) => r.name === c.registry)!;
      const ref = c.shared ? `${repositoryRef(reg, "buildcache")}:shared` : `${repositoryRef(reg, image.repository)}:buildcache-${key}`;
      return { from: `type=registry,ref=${ref}`, to: to(`type=registry,ref=${ref}`, reg.insecure ? ",registry.insecure=true" : "") };
    }
    case "local": {
      const dir = c.shared ? `${c.dir}/shared` : `${c.dir}/${image.name}/${key}`;
      return { from: `type=local,src=${dir}`, to: to(`type=local,dest=${dir}`) };
    }
    case "gha": {
      const scope = c.shared ? "shared" : `${image.name}-${key}`;
      return { from: `type=gha,scope=${scope}`, to: to(`type=gha,scope=${scope}`) };
    }
  }
}

/** Full references (name:tag) an image is published under: every registry x every repository x every tag. */
export function publishedNames(spec: Spec, image: Image): { registry: string; name: string; insecure: boolean; repository?: string }[] {
  return image.registries.flatMap((rn) => {
    const reg = spec.registries.find((r) => r.name === rn)!;
    return image.repositories.map((repo) => ({
      registry: rn,
      name: repositoryRef(reg, repo),
      insecure: reg.insecure,
      ...(image.repositories.length > 1 ? { repository: repo } : {}),
    }));
  });
}

/** The image output that pushes (to the tags the target has, or those a publish file gives it). */
export const pushOutput = (names: readonly { insecure: boolean }[], rewriteTimestamp: boolean): string =>
  `type=image,push=true${names.some((n) => n.insecure) ? ",registry.insecure=true" : ""}${rewriteTimestamp ? ",rewrite-timestamp=true" : ""}`;

export const archiveOf = (outDir: string, image: Image): string => `${outDir}/oci/${image.name}.tar`;

/**
 * `selected`: the images the run asks for (group "default"); the others are dependencies, built through links.
 * `archiveNamespace`: what OCI archives are named under, as NAMESPACE/IMAGE:TAG (apply --no-push's checkNamespace).
 */
/**
 * `external`: images this run does not build (their tags already hold their inputs' result), linked by
 * digest (docker-image://name@sha256:…) instead of target:.
 */
export function buildBakeFile(
  spec: Spec,
  rendered: readonly RenderedImage[],
  outDir: string,
  selected?: ReadonlySet<string>,
  external: ReadonlyMap<string, string> = new Map(),
  rewriteTimestamp = false,
  archiveNamespace?: string,
): BakeFile {
  const renderedByName = new Map(rendered.map((r) => [r.image.name, r]));
  const byName = new Map(spec.images.map((i) => [i.name, renderedByName.get(i.name)?.image ?? i]));
  const targets: Record<string, BakeTarget> = {};

  const base = (r: RenderedImage, platforms: Platform[]): BakeTarget => {
    const img = r.image;
    const t: BakeTarget = { context: img.context, dockerfile: img.dockerfile, platforms: platforms, ...buildOptions(img) };
    if (Object.keys(r.args).length) t.args = r.args;
    if (Object.keys(r.labels).length) t.labels = r.labels;
    // none for the image manifests, index: for the index; never the combined index,manifest: form, which
    // buildx 0.13 writes onto the manifests as a literal key (measured) and not on the index. A single
    // manifest has no index to annotate: buildx refuses the build (the input hash is on its config too).
    const annotations = [
      ...Object.entries(r.annotations).map(([k, v]) => `${k}=${v}`),
      ...(exportsIndex(img, platforms) ? Object.entries(r.indexAnnotations ?? {}).map(([k, v]) => `index:${k}=${v}`) : []),
    ];
    if (annotations.length) t.annotations = annotations;
    if (img.secrets.length) t.secret = img.secrets.map(secretFlag);
    const contexts: Record<string, string> = {};
    for (const c of img.contexts) {
      if (c.kind === "image") contexts[c.name] = external.get(c.image) ?? `target:${linkTarget(c.image, platforms)}`;
      else contexts[c.name] = c.kind === "local" ? c.path : c.ref;
    }
    if (Object.keys(contexts).length) t.contexts = contexts;
    return t;
  };

  // A dependency built for exactly the consumer's platforms is linked directly; otherwise through an
  // internal target restricted to the consumer's platforms (buildx < 0.20 requires equal lists).
  // The spec guarantees the consumer's platforms are a subset of the dependency's.
  const linkTarget = (name: string, platforms: Platform[]): string => {
    const dep = byName.get(name)!;
    const same = platforms.length === dep.platforms.length && platforms.every((p, i) => p === dep.platforms[i]!);
    if (same || platforms.length === 1 || dep.platforms.length === 1) return name;
    const linkName = `${name}__${platforms.map(archSuffix).join("_")}`;
    if (!targets[linkName]) {
      const r = renderedByName.get(name) ?? { image: dep, tags: [], args: {}, labels: {}, annotations: {}, dropped: [] };
      targets[linkName] = base(r, platforms);
    }
    return linkName;
  };

  for (const r of rendered) {
    const img = r.image;
    const t = base(r, img.platforms);
    const names = publishedNames(spec, img);
    // an internal image carries no tag (r.tags is empty) and, built on its own, pushes nothing: only
    // the plan's publish file gives it a staging tag and a push when a run builds it by name
    // under archiveNamespace, the image's name: unique in the spec, where two images may share a repository
    const archived = archiveNamespace ? `${archiveNamespace}/${img.name}` : img.repository;
    const tags = names.length ? names.flatMap((n) => r.tags.map((tag) => `${n.name}:${tag}`)) : r.tags.map((tag) => `${archived}:${tag}`);
    if (tags.length) t.tags = tags;
    const cache = cacheRefs(spec, img, "all");
    if (cache) {
      t["cache-from"] = [...new Set([cache.from, ...img.platforms.map((p) => cacheRefs(spec, img, p)!.from), ...img.cache!.from])];
      t["cache-to"] = [cache.to];
    }
    t.attest = [img.attest.provenance === false ? "type=provenance,disabled=true" : `type=provenance,mode=${img.attest.provenance}`];
    if (img.attest.sbom) t.attest.push("type=sbom");
    t.output = names.length ? [img.publish ? pushOutput(names, rewriteTimestamp) : "type=cacheonly"] : [`type=oci,dest=${archiveOf(outDir, img)}`];
    targets[img.name] = t;
  }
  return { group: { default: { targets: rendered.map((r) => r.image.name).filter((n) => !selected || selected.has(n)) } }, target: targets };
}

/** Whether bake exports an index for the image: more than one platform, or attestation manifests beside one. */
export const exportsIndex = (img: Image, platforms: readonly Platform[] = img.platforms): boolean =>
  platforms.length > 1 || img.attest.provenance !== false || img.attest.sbom;

/** Stable, reviewable JSON: sorted keys, 2-space indent, every literal `${` / `%{` escaped for bake. */
export function serializeBakeFile(bake: unknown): string {
  // escaped while sorted: JSON.stringify with a replacer function is several times slower
  return `${JSON.stringify(sortKeys(bake), null, 2)}\n`;
}

// A function replacement: in a replacement *string* "$$" would collapse back to "$".
const escapeForBake = (s: string): string => (s.includes("{") ? s.replaceAll("${", () => "$${").replaceAll("%{", () => "%%{") : s);

/** Keys sorted, string values (not keys) escaped for bake. */
function sortKeys(v: unknown): unknown {
  if (typeof v === "string") return escapeForBake(v);
  if (Array.isArray(v)) return v.map(sortKeys);
  if (v !== null && typeof v === "object") {
    return Object.fromEntries(
      Object.keys(v)
        .sort()
        .map((k) => [k, sortKeys((v as Record<string, unknown>)[k])]),
    );
  }
  return v;
}
