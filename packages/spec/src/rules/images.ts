// images: names (one per matrix combination), repositories (within length; several images may share one
// when their tags differ, checked when tags are rendered), paths (context, Dockerfile), args
// that look like secrets, secret sources, tags, cache and attestations; defaults fill what an image omits.
import { isAbsolute, posix } from "node:path";
import type { Platform } from "@multiarch/plan";
import { checkFullName, checkRepositoryPath, checkTag, didYouMean, repositoryRef } from "@multiarch/plan";
import { parseAnnotationKey } from "../annotation.ts";
import { diag } from "../diagnostics.ts";
import { type Attest, type Cache, DEFAULT_PLATFORMS, DEFAULT_TAGS, type Image, imageKey, type KeyedTemplate, type Registry, type Template } from "../model.ts";
import { applyOverrides } from "../overrides.ts";
import { isWithin, resolveUnder } from "../posix-path.ts";
import type { ImageInput } from "../schema.ts";
import type { Path } from "../source-map.ts";
import { tagHint } from "../template.ts";
import {
  absolutePath,
  checkRegistryNames,
  inside,
  keyedTemplates,
  platformsOf,
  type RuleContext,
  report,
  resolveInSpec,
  specRelative,
  structural,
  template,
  warn,
} from "./context.ts";
import { contextRules } from "./contexts.ts";
import { NAME_RE } from "./registries.ts";

const ARG_NAME_RE = /^[A-Za-z_][A-Za-z0-9_]*$/;
/** A git or https URL, or git@host:repo: bake's remote contexts. */
const REMOTE_CONTEXT_RE = /^(?:[a-z][a-z0-9+.-]*:\/\/|git@)/i;
// Names that usually carry secrets: *_TOKEN, *PASSWORD*, *SECRET*, API_KEY, GITHUB_AUTH_KEY, *_KEY, AUTH*…
const SECRET_LIKE_RE = /(TOKEN|PASSWORD|PASSWD|PASSPHRASE|SECRET|CREDENTIAL|AUTH(?!OR)|(^|_)KEY$|API_?KEY|PRIVATE_?KEY|ACCESS_?KEY|_PAT$)/i;

/** What every image shares: the defaults, read once. */
interface Shared {
  registries: readonly Registry[];
  platforms: Platform[];
  tags: (Template | undefined)[] | undefined;
  /** defaults' args, labels and annotations, each entry read (and reported) once, not once per image */
  defaults: Record<MergedField, Map<string, KeyedTemplate | undefined>>;
}

export function imageRules(ctx: RuleContext, registries: readonly Registry[]): Image[] {
  const d = ctx.input.defaults ?? {};
  if (d.registries) checkRegistryNames(ctx, d.registries, ["defaults", "registries"]);
  checkAnnotationKeys(ctx, d.annotations, ["defaults", "annotations"]);
  const shared: Shared = {
    registries,
    platforms: ctx.input.platforms ? platformsOf(ctx, ctx.input.platforms, ["platforms"]) : [...DEFAULT_PLATFORMS],
    // their literal tags checked with the images' when an image publishes with them: where they apply
    tags: d.tags
      ? tagTemplates(
          ctx,
          d.tags,
          ["defaults", "tags"],
          Object.values(ctx.input.images).some((i) => i.publish !== false && !i.tags),
        )
      : undefined,
    defaults: { args: new Map(), labels: new Map(), annotations: new Map() },
  };
  const images: Image[] = [];
  const names = new Set<string>();
  if (Object.keys(ctx.input.images).length === 0) report(ctx, "invalid-value", ["images"], "no images: list at least one under images:");
  for (const [key, input] of Object.entries(ctx.input.images)) {
    const ip = ["images", key];
    checkAnnotationKeys(ctx, input.annotations, [...ip, "annotations"]);
    for (const { name, img: written, combo } of expandMatrix(ctx, key, input, ip)) {
      const { img, set } = applyOverrides(written, name, ctx.overrides, d);
      for (const o of set) ctx.overridden.push({ path: [...ip, ...o.path], text: o.text });
      if (img.cache && !img.cache.type) report(ctx, "set-invalid", [...ip, "cache"], `image ${name} has no cache to change`, "set cache.type too");
      if (!NAME_RE.test(name)) {
        const lower = name.toLowerCase();
        report(
          ctx,
          "invalid-value",
          input.name !== undefined ? [...ip, "name"] : ip,
          `image name "${name}" must match [a-z0-9][a-z0-9_-]*`,
          lower !== name && NAME_RE.test(lower)
            ? `write ${lower}`
            : /[/:]/.test(name)
              ? `an image's key is its name (${name.split(/[/:]/).filter(Boolean).at(-1) ?? "app"}): the registry goes under registries: (url: HOST/NAMESPACE), another repository under repository:`
              : combo && input.name === undefined
                ? `a matrix image's names are its key and values joined by -: use values of a-z, 0-9, _ and -, or name the images with name:`
                : undefined,
          input.name === undefined,
        );
      }
      if (names.has(name)) report(ctx, "invalid-value", ip, `two images are named ${name}`, "make name: differ per combination", true);
      const image = imageRule(ctx, shared, name, img, ip);
      if (combo) image.matrix = { of: key, values: combo };
      images.push(image);
      names.add(name);
    }
  }
  imageLinks(ctx, images);
  unusedInternal(ctx, images);
  sameRepositoryTwice(ctx, registries, images);
  for (const o of ctx.overrides) {
    if (o.image === "*" || names.has(o.image)) continue;
    const all = [...names];
    ctx.diagnostics.push(
      diag("set-invalid", { file: ctx.map.file, line: 0, col: 0 }, `--set ${o.text}: no image ${o.image}`, {
        hint: didYouMean(o.image, all) ?? `images: ${all.join(", ")}, or * for all`,
      }),
    );
  }
  return images;
}

/** Matrix values stand in for {{matrix.KEY}} in every string of the image; other {{...}} stay templates. */
const MATRIX_RE = /{{~?\s*matrix\.([A-Za-z_][A-Za-z0-9_]*)\s*~?}}/g;

/** An image, or one per combination of its matrix (the first key varies slowest). */
function expandMatrix(ctx: RuleContext, key: string, img: ImageInput, ip: Path): { name: string; img: ImageInput; combo?: Record<string, string> }[] {
  if (!img.matrix) {
    if (img.name !== undefined) report(ctx, "invalid-value", [...ip, "name"], "name: is for matrix images", `the image's name is its key, ${key}`);
    checkNoMatrix(ctx, img, ip, []);
    return [{ name: key, img }];
  }
  const keys = Object.keys(img.matrix);
  let combos: Record<string, string>[] = [{}];
  for (const k of keys) combos = combos.flatMap((c) => img.matrix![k]!.map((v) => ({ ...c, [k]: v })));
  const { matrix: _, name: written, ...rest } = img;
  checkNoMatrix(ctx, rest, ip, keys);
  const before = ctx.diagnostics.length;
  if (written !== undefined) checkNoMatrix(ctx, written, [...ip, "name"], keys);
  // a name with a key the matrix lacks is reported there: the default names keep the image's other checks apart from it
  const name = ctx.diagnostics.length === before ? written : undefined;
  return combos.map((combo) => {
    const fill = (v: unknown): unknown =>
      typeof v === "string"
        ? // a key the matrix lacks is reported by checkNoMatrix, once: not again as a template's unknown variable
          v.replace(MATRIX_RE, (_, k: string) => combo[k] ?? "")
        : Array.isArray(v)
          ? v.map(fill)
          : v && typeof v === "object"
            ? Object.fromEntries(Object.entries(v).map(([k, x]) => [fill(k) as string, fill(x)]))
            : v;
    return {
      name: name !== undefined ? (fill(name) as string) : [key, ...keys.map((k) => combo[k])].join("-"),
      img: fill(rest) as ImageInput,
      combo,
    };
  });
}

/** Every {{matrix.KEY}} names a key of the image's matrix (and an image without one uses none). */
function checkNoMatrix(ctx: RuleContext, v: unknown, path: Path, keys: readonly string[]): void {
  if (typeof v === "string") {
    for (const m of v.matchAll(MATRIX_RE)) {
      if (keys.includes(m[1]!)) continue;
      const hint = keys.length ? (didYouMean(m[1]!, keys) ?? `matrix keys: ${keys.join(", ")}`) : "add matrix: to this image";
      report(ctx, "template-unknown-variable", path, `"${m[0]}" names no matrix key of this image`, hint);
    }
  } else if (v && typeof v === "object") {
    for (const [k, x] of Object.entries(v)) {
      // most values are strings without a template: no path to build for them
      if (typeof x === "string" && !x.includes("matrix")) continue;
      checkNoMatrix(ctx, x, [...path, Array.isArray(v) ? Number(k) : k], keys);
    }
  }
}

/**
 * Every image: link names an image of the spec, a matrix image's combinations by their names (image:srv
 * of a matrix image srv names none: which one?). A link that names none is reported and dropped, so
 * nothing after (dependency order, the compiler) follows it.
 */
function imageLinks(ctx: RuleContext, images: Image[]): void {
  const names = new Set(images.map((i) => i.name));
  const ofMatrix = new Map<string, string[]>();
  for (const i of images) if (i.matrix) ofMatrix.set(i.matrix.of, [...(ofMatrix.get(i.matrix.of) ?? []), i.name]);
  for (const img of images) {
    const broken = img.contexts.filter((c) => c.kind === "image" && !names.has(c.image));
    for (const c of broken) {
      if (c.kind !== "image") continue;
      const path = ["images", imageKey(img), "contexts", c.name];
      const combos = ofMatrix.get(c.image);
      if (combos)
        report(
          ctx,
          "context-unknown-image",
          path,
          `context ${c.name}: ${c.image} is a matrix image: name one of its images`,
          combos.map((n) => `image:${n}`).join(", "),
        );
      else
        report(
          ctx,
          "context-unknown-image",
          path,
          `context ${c.name}: "${c.image}" is not an image of this spec`,
          didYouMean(c.image, [...names]) ?? `images: ${[...names].join(", ")}`,
        );
    }
    if (broken.length) {
      img.contexts = img.contexts.filter((c) => !broken.includes(c));
      img.dependsOn = img.contexts.flatMap((c) => (c.kind === "image" ? [c.image] : []));
    }
  }
}

/** An internal image (publish: false) that no image builds FROM is built for nothing. */
function unusedInternal(ctx: RuleContext, images: readonly Image[]): void {
  for (const img of images) {
    if (img.publish || images.some((o) => o.dependsOn.includes(img.name))) continue;
    ctx.diagnostics.push(
      diag("image-unused", img.at, `image ${img.name} is internal (publish: false) and no image uses it`, {
        hint: `use it with contexts: { NAME: "image:${img.name}" }, or remove publish: false`,
        severity: "warning",
        path: ["images", img.name],
      }),
    );
  }
}

/**
 * Two registries of one image naming the same repository (one url written twice under two names): the
 * image would be pushed, verified and tagged there twice, the same tags by two steps at once. Said once per
 * pair, where the second registry's url is written.
 */
function sameRepositoryTwice(ctx: RuleContext, registries: readonly Registry[], images: readonly Image[]): void {
  const said = new Set<string>();
  for (const img of images) {
    const byName = new Map<string, string>();
    for (const rn of img.registries) {
      const reg = registries.find((r) => r.name === rn);
      if (!reg) continue;
      for (const repo of img.repositories) {
        const name = repositoryRef(reg, repo);
        const first = byName.get(name);
        byName.set(name, first ?? rn);
        if (first === undefined || first === rn || said.has(`${first} ${rn}`)) continue;
        said.add(`${first} ${rn}`);
        report(
          ctx,
          "invalid-value",
          ["registries", rn, "url"],
          `registries ${first} and ${rn} both name ${name} (image ${img.name}): it would be pushed and tagged there twice, by two steps at once`,
          `remove one of them, or give image ${img.name} only one of them (registries: [${first}])`,
        );
      }
    }
  }
}

function imageRule(ctx: RuleContext, shared: Shared, name: string, img: ImageInput, ip: Path): Image {
  const d = ctx.input.defaults ?? {};
  const regs = img.registries ?? d.registries ?? ctx.registryNames;
  if (img.registries) checkRegistryNames(ctx, img.registries, [...ip, "registries"]);
  const written = img.repository === undefined ? [name] : typeof img.repository === "string" ? [img.repository] : img.repository;
  const repositories = written.map((r, i) => {
    const path = typeof img.repository === "object" ? [...ip, "repository", i] : [...ip, "repository"];
    const resolved = img.repository === undefined ? r : structural(ctx, r, path);
    // a name that is no valid name is reported as such (a matrix value with a space): not again as a repository
    const named = img.repository !== undefined || NAME_RE.test(name);
    if (resolved !== undefined && named) repositoryRule(ctx, shared.registries, resolved, img.repository === undefined ? ip : path, !img.repository, regs);
    return resolved ?? r;
  });
  if (new Set(repositories).size < repositories.length) report(ctx, "invalid-value", [...ip, "repository"], `image ${name} lists a repository twice`);
  const repository = repositories[0]!;

  const contextAbs = resolveInSpec(ctx, img.context);
  const dockerfile = img.dockerfile ?? "Dockerfile";
  const ofSpec = { base: ctx.dir, baseName: "the spec's folder" };
  // what an image is built from is hashed and checked here, file by file: a folder of the repository
  if (REMOTE_CONTEXT_RE.test(img.context))
    report(
      ctx,
      "invalid-value",
      [...ip, "context"],
      `context ${img.context} is remote: multiarch builds from a folder of the repository`,
      "clone or unpack it into the repository (a git submodule, a build step), or build FROM an image of it",
    );
  // a trailing / is dropped when the path is resolved here, but docker build -f takes it as written
  else if (dockerfile.endsWith("/"))
    report(
      ctx,
      "invalid-value",
      [...ip, "dockerfile"],
      `dockerfile ${dockerfile} ends with /: it names a file`,
      `write dockerfile: ${dockerfile.replace(/\/+$/, "")}`,
    );
  else if (isAbsolute(img.context)) absolutePath(ctx, [...ip, "context"], { what: "context", key: "context", abs: img.context, kind: "folder", ...ofSpec });
  else if (isAbsolute(dockerfile))
    absolutePath(ctx, [...ip, "dockerfile"], {
      what: "dockerfile",
      key: "dockerfile",
      abs: dockerfile,
      kind: "file",
      base: contextAbs,
      baseName: "the context",
    });
  else if (inside(ctx, contextAbs, "dir", [...ip, "context"], "context")) {
    // resolved from the context's folder: what context/dockerfile resolves to from the spec's (no join)
    inside(ctx, resolveUnder(contextAbs, dockerfile), "file", img.dockerfile ? [...ip, "dockerfile"] : [...ip, "context"], "Dockerfile");
  }
  const { contexts, dependsOn } = contextRules(ctx, name, img, ip);

  for (const key of Object.keys(img.args ?? {})) {
    if (!SECRET_LIKE_RE.test(key)) continue;
    const id = key.toLowerCase();
    warn(
      ctx,
      "arg-looks-secret",
      [...ip, "args", key],
      `build arg ${key} looks like a secret: args end up in the image history and provenance`,
      `use secrets: [{ id: ${id}, env: ${key} }] and RUN --mount=type=secret,id=${id}`,
    );
  }
  (img.secrets ?? []).forEach((s, i) => {
    if ((s.env === undefined) === (s.file === undefined))
      report(ctx, "invalid-value", [...ip, "secrets", i], `secret ${s.id}: give exactly one of env or file`);
  });

  const tags = img.tags ? tagTemplates(ctx, img.tags, [...ip, "tags"], img.publish !== false) : (shared.tags ?? DEFAULT_TAGS.map((t) => template(ctx, t, ip)));
  if (img.publish === false && img.tags)
    warn(ctx, "tag-internal", [...ip, "tags"], `image ${name} is internal (publish: false): its tags are never applied`, "remove tags:, or publish: false");
  const attestIn = img.attest ?? d.attest ?? {};
  const attest: Attest = { provenance: attestIn.provenance ?? "min", sbom: attestIn.sbom ?? false, asked: (img.attest ?? d.attest) !== undefined };
  const image: Image = {
    name,
    repository,
    repositories: [...new Set(repositories)],
    at: ctx.map.keyAt(ip),
    context: specRelative(ctx, contextAbs),
    dockerfile,
    platforms: img.platforms
      ? platformsOf(ctx, img.platforms, [...ip, "platforms"])
      : d.platforms
        ? platformsOf(ctx, d.platforms, ["defaults", "platforms"])
        : shared.platforms,
    registries: regs.filter((r) => ctx.registryNames.includes(r)),
    contexts,
    args: merged(ctx, shared, "args", d.args, img.args, ip, ARG_NAME_RE),
    labels: merged(ctx, shared, "labels", d.labels, img.labels, ip),
    annotations: merged(ctx, shared, "annotations", d.annotations, img.annotations, ip),
    secrets: (img.secrets ?? []).map((s) => ({ id: s.id, ...(s.env ? { env: s.env } : {}), ...(s.file ? { file: s.file } : {}) })),
    tags: tags.filter((t): t is Template => t !== undefined),
    attest,
    dependsOn,
    publish: img.publish ?? true,
  };
  if (img.target) image.target = img.target;
  if (img.test) image.test = { run: img.test.run };
  const cache = cacheRule(ctx, img, ip, regs);
  if (cache) image.cache = cache;
  return image;
}

/** Annotation keys say their levels as bake does: KEY, index:KEY, manifest:KEY or index,manifest:KEY. */
function checkAnnotationKeys(ctx: RuleContext, annotations: Record<string, string> | undefined, path: Path): void {
  for (const key of Object.keys(annotations ?? {})) {
    if (parseAnnotationKey(key)) continue;
    const hint = "prefix the key with index:, manifest: or index,manifest: (as in bake), or none for each image manifest";
    report(ctx, "invalid-value", [...path, key], `annotation "${key}": multiarch writes annotations on the index and the image manifests only`, hint, true);
  }
}

type MergedField = "args" | "labels" | "annotations";

/** Defaults' entries, then the image's: the image's keys win, each entry keeps the position it came from. */
function merged(
  ctx: RuleContext,
  shared: Shared,
  field: MergedField,
  defaults: Record<string, string> | undefined,
  own: Record<string, string> | undefined,
  ip: Path,
  keyRe?: RegExp,
): KeyedTemplate[] {
  const read = shared.defaults[field];
  const fromDefaults: KeyedTemplate[] = [];
  for (const key of Object.keys(defaults ?? {})) {
    if (own && Object.hasOwn(own, key)) continue;
    if (!read.has(key)) read.set(key, keyedTemplates(ctx, { [key]: defaults![key]! }, ["defaults", field], keyRe)[0]);
    const t = read.get(key);
    if (t) fromDefaults.push(t);
  }
  return [...fromDefaults, ...keyedTemplates(ctx, own, [...ip, field], keyRe)];
}

/**
 * Tag templates, and { each: VAR } entries: one tag per item of a list variable. With `literal`, a tag with
 * no template in it is checked here, beside the image's other errors (rendering, which checks the rest,
 * runs only on a spec without errors); an empty one is rendering's to drop.
 */
function tagTemplates(
  ctx: RuleContext,
  tags: readonly (string | { each: string } | { tag: string; onPrerelease: boolean })[],
  path: Path,
  literal = false,
): (Template | undefined)[] {
  const literalRule = (text: string, at: Path) => {
    if (!literal || text === "" || text.includes("{{")) return;
    const ok = checkTag(text);
    if (!ok.ok) report(ctx, "tag-invalid", at, ok.message, tagHint(text, ok.hint));
  };
  return tags.map((t, i) => {
    if (typeof t === "string") {
      literalRule(t, [...path, i]);
      return template(ctx, t, [...path, i]);
    }
    if ("tag" in t) {
      literalRule(t.tag, [...path, i, "tag"]);
      const tt = template(ctx, t.tag, [...path, i, "tag"]);
      return tt && { ...tt, onPrerelease: t.onPrerelease };
    }
    if (!ctx.listVariables.has(t.each)) {
      const hint = ctx.variableNames.has(t.each)
        ? `give variable ${t.each} a separator, e.g. split: ","`
        : (didYouMean(t.each, [...ctx.listVariables.keys()]) ?? "declare it under variables: with split:");
      report(ctx, "template-unknown-variable", [...path, i, "each"], `"${t.each}" is not a list variable`, hint);
      return undefined;
    }
    return { source: t.each, at: ctx.map.valueAt([...path, i, "each"]), uses: [t.each], each: true as const };
  });
}

/** A repository (as resolved) is valid and fits with each registry's name. `onKey`: it is the image's name. */
function repositoryRule(ctx: RuleContext, registries: readonly Registry[], repository: string, where: Path, onKey: boolean, regs: readonly string[]): void {
  const check = checkRepositoryPath(repository);
  if (!check.ok) {
    report(ctx, "repository-invalid", where, check.message, check.hint, onKey);
    return;
  }
  for (const rn of regs) {
    const reg = registries.find((r) => r.name === rn);
    if (!reg) continue;
    const length = checkFullName(repositoryRef(reg, repository));
    if (!length.ok) report(ctx, "repository-invalid", where, length.message, undefined, onKey);
  }
}

/**
 * buildx writes a local cache's folder (index.json, blobs/): inside the repository, as every path the spec
 * names, through links too (the folder may not exist yet: its nearest existing folder is asked).
 */
function localCacheInside(ctx: RuleContext, dir: string, path: Path): void {
  if (dir.includes("{{")) {
    // not rendered: buildx would make a folder of that very name
    report(ctx, "invalid-value", path, `cache dir ${dir}: a folder, not a template (it is not rendered)`, "write the folder's path, inside the repository");
    return;
  }
  if (isAbsolute(dir)) {
    absolutePath(ctx, path, { what: "cache dir", key: "dir", abs: dir, kind: "folder", base: ctx.dir, baseName: "the spec's folder" });
    return;
  }
  let at = resolveInSpec(ctx, dir);
  let real = ctx.fs.realpath(at);
  while (real === undefined && at !== posix.dirname(at)) {
    at = posix.dirname(at);
    real = ctx.fs.realpath(at);
  }
  if (real !== undefined && !isWithin(ctx.rootReal, real))
    report(
      ctx,
      "path-outside-repo",
      path,
      `cache dir ${dir} is outside the repository (${ctx.rootReal}): buildx would write there`,
      "keep it inside the repository (default .multiarch/cache), or use a registry cache",
    );
}

function cacheRule(ctx: RuleContext, img: ImageInput, ip: Path, regs: readonly string[]): Cache | undefined {
  const cacheIn = img.cache ?? ctx.input.defaults?.cache;
  if (!cacheIn) return undefined;
  const path = img.cache ? [...ip, "cache"] : ["defaults", "cache"];
  const cache: Cache = {
    type: cacheIn.type,
    mode: cacheIn.mode ?? "max",
    shared: cacheIn.shared ?? false,
    ignoreError: cacheIn.ignoreError ?? false,
    from: [],
  };
  (cacheIn.from ?? []).forEach((f, i) => {
    if (!/^type=[a-z]+(,|$)/.test(f))
      report(ctx, "invalid-value", [...path, "from", i], `cache source "${f}" is not buildx's form`, "type=registry,ref=HOST/REPO:TAG");
    else cache.from.push(f);
  });
  if (cacheIn.type === "registry") {
    const rn = cacheIn.registry ?? regs[0];
    if (rn === undefined) report(ctx, "registry-unknown", path, "a registry cache needs a registry, and this image has none");
    else if (!ctx.registryNames.includes(rn))
      report(ctx, "registry-unknown", [...path, "registry"], `unknown registry "${rn}"`, didYouMean(rn, ctx.registryNames));
    else cache.registry = rn;
  } else if (cacheIn.type === "local") {
    cache.dir = posix.normalize(cacheIn.dir ?? ".multiarch/cache");
    localCacheInside(ctx, cache.dir, cacheIn.dir !== undefined ? [...path, "dir"] : path);
  }
  return cache;
}
