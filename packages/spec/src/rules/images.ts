// images: names, repositories (unique per registry, within length), paths (context, Dockerfile), args
// that look like secrets, secret sources, tags, cache and attestations; defaults fill what an image omits.
import { posix } from "node:path";
import { type Attest, type Cache, DEFAULT_PLATFORMS, DEFAULT_TAGS, type Image, type Registry, type Template } from "../model.ts";
import { type Platform, parsePlatform } from "../platform.ts";
import { checkFullName, checkRepositoryPath, repositoryRef } from "../reference.ts";
import type { ImageInput } from "../schema.ts";
import type { Path } from "../source-map.ts";
import { didYouMean } from "../suggest.ts";
import { checkRegistryNames, inside, keyedTemplates, platformList, type RuleContext, report, resolveInSpec, specRelative, template, warn } from "./context.ts";
import { contextRules } from "./contexts.ts";
import { NAME_RE } from "./registries.ts";

const ARG_NAME_RE = /^[A-Za-z_][A-Za-z0-9_]*$/;
// Names that usually carry secrets: *_TOKEN, *PASSWORD*, *SECRET*, API_KEY, GITHUB_AUTH_KEY, *_KEY, AUTH*…
const SECRET_LIKE_RE = /(TOKEN|PASSWORD|PASSWD|PASSPHRASE|SECRET|CREDENTIAL|AUTH(?!OR)|(^|_)KEY$|API_?KEY|PRIVATE_?KEY|ACCESS_?KEY|_PAT$)/i;

/** What every image shares: the defaults, read once. */
interface Shared {
  registries: readonly Registry[];
  platforms: Platform[];
  tags: (Template | undefined)[] | undefined;
  /** full repository name -> the image publishing it */
  repositories: Map<string, string>;
}

export function imageRules(ctx: RuleContext, registries: readonly Registry[]): Image[] {
  const d = ctx.input.defaults ?? {};
  if (d.registries) checkRegistryNames(ctx, d.registries, ["defaults", "registries"]);
  const shared: Shared = {
    registries,
    platforms: ctx.input.platforms
      ? platformList(ctx, ctx.input.platforms, ["platforms"])
      : DEFAULT_PLATFORMS.map((p) => (parsePlatform(p) as { platform: Platform }).platform),
    tags: d.tags ? d.tags.map((t, i) => template(ctx, t, ["defaults", "tags", i])) : undefined,
    repositories: new Map(),
  };
  const images: Image[] = [];
  if (Object.keys(ctx.input.images).length === 0) report(ctx, "invalid-value", ["images"], "no images: list at least one under images:");
  for (const [name, img] of Object.entries(ctx.input.images)) {
    const ip = ["images", name];
    if (!NAME_RE.test(name)) {
      const lower = name.toLowerCase();
      report(
        ctx,
        "invalid-value",
        ip,
        `image name "${name}" must match [a-z0-9][a-z0-9_-]*`,
        lower !== name && NAME_RE.test(lower) ? `write ${lower}` : undefined,
        true,
      );
    }
    images.push(imageRule(ctx, shared, name, img, ip));
  }
  return images;
}

function imageRule(ctx: RuleContext, shared: Shared, name: string, img: ImageInput, ip: Path): Image {
  const d = ctx.input.defaults ?? {};
  const repository = img.repository ?? name;
  const regs = img.registries ?? d.registries ?? ctx.registryNames;
  if (img.registries) checkRegistryNames(ctx, img.registries, [...ip, "registries"]);
  repositoryRule(ctx, shared, name, img, ip, regs);

  const contextAbs = resolveInSpec(ctx, img.context);
  const dockerfile = img.dockerfile ?? "Dockerfile";
  if (inside(ctx, contextAbs, "dir", [...ip, "context"], "context")) {
    inside(ctx, resolveInSpec(ctx, posix.join(img.context, dockerfile)), "file", img.dockerfile ? [...ip, "dockerfile"] : [...ip, "context"], "Dockerfile");
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

  const tags = img.tags ? img.tags.map((t, i) => template(ctx, t, [...ip, "tags", i])) : (shared.tags ?? DEFAULT_TAGS.map((t) => template(ctx, t, ip)));
  const attestIn = img.attest ?? d.attest ?? {};
  const attest: Attest = { provenance: attestIn.provenance ?? "min", sbom: attestIn.sbom ?? false };
  const image: Image = {
    name,
    repository,
    at: ctx.map.keyAt(ip),
    context: specRelative(ctx, contextAbs),
    dockerfile,
    platforms: img.platforms
      ? platformList(ctx, img.platforms, [...ip, "platforms"])
      : d.platforms
        ? platformList(ctx, d.platforms, ["defaults", "platforms"])
        : shared.platforms,
    registries: regs.filter((r) => ctx.registryNames.includes(r)),
    contexts,
    args: keyedTemplates(ctx, img.args ?? d.args, img.args ? [...ip, "args"] : ["defaults", "args"], ARG_NAME_RE),
    labels: keyedTemplates(ctx, img.labels ?? d.labels, img.labels ? [...ip, "labels"] : ["defaults", "labels"]),
    annotations: keyedTemplates(ctx, img.annotations ?? d.annotations, img.annotations ? [...ip, "annotations"] : ["defaults", "annotations"]),
    secrets: (img.secrets ?? []).map((s) => ({ id: s.id, ...(s.env ? { env: s.env } : {}), ...(s.file ? { file: s.file } : {}) })),
    tags: tags.filter((t): t is Template => t !== undefined),
    attest,
    dependsOn,
  };
  if (img.target) image.target = img.target;
  if (img.test) image.test = { run: img.test.run };
  const cache = cacheRule(ctx, img, ip, regs);
  if (cache) image.cache = cache;
  return image;
}

/** The repository is valid, fits with each registry's name, and no other image publishes it. */
function repositoryRule(ctx: RuleContext, shared: Shared, name: string, img: ImageInput, ip: Path, regs: readonly string[]): void {
  const repository = img.repository ?? name;
  const where = img.repository ? [...ip, "repository"] : ip;
  const check = checkRepositoryPath(repository);
  if (!check.ok) {
    report(ctx, "repository-invalid", where, check.message, check.hint, !img.repository);
    return;
  }
  for (const rn of regs) {
    const reg = shared.registries.find((r) => r.name === rn);
    if (!reg) continue;
    const full = repositoryRef(reg, repository);
    const length = checkFullName(full);
    if (!length.ok) report(ctx, "repository-invalid", where, length.message, undefined, !img.repository);
    const other = shared.repositories.get(full);
    if (other) report(ctx, "tag-duplicate", ip, `images ${other} and ${name} both publish ${full}`, "give one of them another repository:", true);
    shared.repositories.set(full, name);
  }
}

function cacheRule(ctx: RuleContext, img: ImageInput, ip: Path, regs: readonly string[]): Cache | undefined {
  const cacheIn = img.cache ?? ctx.input.defaults?.cache;
  if (!cacheIn) return undefined;
  const path = img.cache ? [...ip, "cache"] : ["defaults", "cache"];
  const cache: Cache = { type: cacheIn.type, mode: cacheIn.mode ?? "max" };
  if (cacheIn.type === "registry") {
    const rn = cacheIn.registry ?? regs[0];
    if (rn === undefined) report(ctx, "registry-unknown", path, "a registry cache needs a registry, and this image has none");
    else if (!ctx.registryNames.includes(rn))
      report(ctx, "registry-unknown", [...path, "registry"], `unknown registry "${rn}"`, didYouMean(rn, ctx.registryNames));
    else cache.registry = rn;
  } else if (cacheIn.type === "local") cache.dir = posix.normalize(cacheIn.dir ?? ".multiarch/cache");
  return cache;
}
