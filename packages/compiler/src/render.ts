// Renders every template of the selected images once, and checks the results against the reference grammar.
import { checkTag, type GitFacts, type ImageInputFacts, type PublishedTag, repositoryRef } from "@multiarch/plan";
import {
  checkTemplate,
  type Diagnostic,
  diag,
  type Image,
  type KeyedTemplate,
  MapValue,
  parseAnnotationKey,
  parseSemver,
  type Spec,
  type Template,
  tagHint,
} from "@multiarch/spec";

/** The world the compiler may look at, injected so compile() stays pure and repeatable. */
export interface Facts {
  /** undefined when the spec is not in a git work tree. */
  git: GitFacts | undefined;
  /** Why git facts are missing (no repository, no commits yet), for the error where a template needs them. */
  gitProblem?: string;
  /** Each image's inputs (files, bases), gathered before the build: with them, images get input hashes. */
  inputs?: Record<string, ImageInputFacts>;
  /** What each user tag (name:tag) holds now; null where it holds nothing. With them, unchanged images are skipped. */
  published?: Record<string, PublishedTag | null>;
  env: Readonly<Record<string, string | undefined>>;
}

export interface RenderedImage {
  image: Image;
  tags: string[];
  args: Record<string, string>;
  labels: Record<string, string>;
  /** Annotations on each image manifest. */
  annotations: Record<string, string>;
  /** Tag templates that rendered empty (or a list with no items): no tag from them in this run. */
  dropped: string[];
  /** Annotations on the index itself: the spec's index: ones, and (bake) the input hash, read from there. */
  indexAnnotations?: Record<string, string>;
}

/**
 * Renders templates. With `lenient` (used by `validate`), templates whose values are not known yet
 * (git outside a repository, an unset env variable without default) are skipped instead of failing:
 * those are errors at the point of use, i.e. plan and apply.
 */
/** A problem of a template, where it is written; one --set gave has no line, and says so (as the spec's rules do). */
const templateDiag = (code: Parameters<typeof diag>[0], t: Template, message: string, extra?: Parameters<typeof diag>[3]): Diagnostic =>
  diag(code, t.at, t.from ? `--set ${t.from}: ${message}` : message, extra);

export function renderImages(spec: Spec, images: readonly Image[], facts: Facts, lenient = false): { rendered: RenderedImage[]; diagnostics: Diagnostic[] } {
  const errors: Diagnostic[] = [];
  const vars: Record<string, string> = Object.create(null);
  const unavailable = new Map<string, string>();
  const maps: Record<string, MapValue> = Object.create(null);
  for (const v of spec.variables) {
    if (v.map !== undefined) maps[v.name] = new MapValue(v.name, new Map(Object.entries(v.map)));
    else if (v.value !== undefined) vars[v.name] = v.value;
    else {
      const fromEnv = v.env !== undefined ? facts.env[v.env] : undefined;
      if (fromEnv !== undefined) vars[v.name] = fromEnv;
      else if (v.default !== undefined) vars[v.name] = v.default;
      else unavailable.set(v.name, `variable ${v.name} reads $${v.env}, which is not set and has no default`);
    }
  }
  if (!facts.git) unavailable.set("git", `git.* values are not available: ${facts.gitProblem ?? "the spec is not inside a git repository"}`);
  const known = new Set([...Object.keys(vars), ...Object.keys(maps), ...unavailable.keys()]);

  const ci = ciFacts(facts.env);
  const epoch = facts.env.SOURCE_DATE_EPOCH ?? facts.git?.time;
  const contextOf = (image: Image) =>
    Object.assign(Object.create(null), vars, maps, {
      git: facts.git ? { ...facts.git } : undefined,
      image: { name: image.name, repository: image.repository },
      ci,
    });
  const render = (t: Template, context: Record<string, unknown>, why?: string[]): string | undefined => {
    const missing = t.uses.find((u) => unavailable.has(u));
    if (missing !== undefined) {
      if (!lenient) {
        const code = missing === "git" ? "git-unavailable" : "env-unset";
        const hint =
          missing === "git"
            ? "run inside a git work tree with at least one commit, or stop using git.* here"
            : `export ${spec.variables.find((v) => v.name === missing)?.env} or give the variable a default:`;
        errors.push(templateDiag(code, t, `template "${t.source}": ${unavailable.get(missing)}`, { hint }));
      }
      return undefined;
    }
    const checked = checkTemplate(t.source, known);
    if (!checked.ok) {
      errors.push(templateDiag(checked.problem.code, t, checked.problem.message, { hint: checked.problem.hint }));
      return undefined;
    }
    try {
      return checked.template.render(context, epoch, why);
    } catch (e) {
      errors.push(templateDiag("template-render", t, `template "${t.source}": ${e instanceof Error ? e.message.split("\n")[0] : String(e)}`));
      return undefined;
    }
  };
  const renderMap = (entries: KeyedTemplate[], context: Record<string, unknown>): Record<string, string> => {
    const out: Record<string, string> = {};
    for (const { key, value } of entries) {
      const v = render(value, context);
      if (v !== undefined) out[key] = v;
    }
    return out;
  };

  const lists = new Map(spec.variables.filter((v) => v.split !== undefined).map((v) => [v.name, v.split!]));
  /** { each: VAR }: the list's items, trimmed, empty ones dropped. */
  const items = (t: Template): string[] | undefined => {
    if (unavailable.has(t.source)) return render(t, {}) === undefined ? undefined : [];
    return (vars[t.source] ?? "")
      .split(lists.get(t.source)!)
      .map((x) => x.trim())
      .filter(Boolean);
  };
  const fullName = (registry: string) => {
    const reg = spec.registries.find((x) => x.name === registry);
    return (repo: string) => (reg ? repositoryRef(reg, repo) : repo);
  };
  // (registry, repository, tag) -> the image publishing it: images may share a repository, never a tag
  const owners = new Map<string, string>();
  const rendered: RenderedImage[] = [];
  for (const image of images) {
    const context = contextOf(image);
    const tags: string[] = [];
    const dropped: string[] = [];
    let emptied = 0;
    // an internal image is never tagged: its tags are not rendered at all
    const prerelease = image.publish ? prereleaseOf(image.tags, vars, facts) : undefined;
    for (const t of image.publish ? image.tags : []) {
      const why: string[] = [];
      const one = t.each ? undefined : render(t, context, why);
      if (one && prerelease && !(t.onPrerelease ?? one !== "latest")) why.push(`${one} moves only on releases, and ${prerelease}`);
      const values = t.each ? items(t) : [why.length ? "" : one];
      if (values === undefined) continue;
      if (t.each && values.length === 0) {
        emptied++;
        dropped.push(`{ each: ${t.source} } (no items)`);
      }
      for (const value of values) {
        if (value === undefined) continue;
        for (const r of value === "" ? [] : image.registries) {
          for (const repo of image.repositories) {
            const key = `${r}\u0000${repo}:${value}`;
            const other = owners.get(key);
            if (other && other !== image.name)
              errors.push(
                templateDiag("tag-duplicate", t, `images ${other} and ${image.name} both publish ${fullName(r)(repo)}:${value}`, {
                  hint: "give their tags something that differs (e.g. {{image.name}}), or one of them another repository:",
                }),
              );
            owners.set(key, image.name);
          }
        }
        addTag(t, value, why[0]);
      }
    }
    function addTag(t: Template, value: string, reason: string | undefined): void {
      if (value === "") {
        // {{git.tag}} off a tag, an empty optional variable, a release-only tag of a prerelease: not wanted in this run
        errors.push(
          templateDiag(
            "tag-empty",
            t,
            reason
              ? `tag template "${t.source}" gives no tag in this run: ${reason}`
              : `tag template "${t.source}" renders empty: the tag is dropped in this run`,
            {
              severity: "warning",
              ...(reason?.includes("moves only on releases, and") && t.onPrerelease === undefined
                ? { hint: `to move it on prereleases too, write it { tag: ${JSON.stringify(t.source)}, onPrerelease: true }` }
                : {}),
            },
          ),
        );
        emptied++;
        dropped.push(`"${t.source}" (${reason ?? "renders empty"})`);
        return;
      }
      const ok = checkTag(value);
      if (!ok.ok)
        errors.push(
          templateDiag("tag-invalid", t, `tag template "${t.source}" renders ${JSON.stringify(value)}: ${ok.message}`, { hint: tagHint(t.source, ok.hint) }),
        );
      else if (tags.includes(value))
        errors.push(templateDiag("tag-duplicate", t, `tag "${value}" (from "${t.source}") is listed twice for image ${image.name}`, { severity: "warning" }));
      else tags.push(value);
    }
    if (image.publish && emptied > 0 && emptied === image.tags.length) {
      errors.push(
        diag("tag-empty", image.at, `image ${image.name}: every tag renders empty, so it would have none`, {
          hint: "add a tag that is always set, e.g. {{git.shortSha}} or latest",
        }),
      );
    }
    const annotations: Record<string, string> = {};
    const indexAnnotations: Record<string, string> = {};
    for (const [text, value] of Object.entries(renderMap(image.annotations, context))) {
      const a = parseAnnotationKey(text)!; // the spec's rules refused the other levels
      if (a.manifest) annotations[a.key] = value;
      if (a.index) indexAnnotations[a.key] = value;
    }
    rendered.push({
      image,
      tags,
      args: renderMap(image.args, context),
      labels: renderMap(image.labels, context),
      annotations,
      dropped,
      ...(Object.keys(indexAnnotations).length ? { indexAnnotations } : {}),
    });
  }
  // A template shared by several images (defaults) fails once, not once per image.
  const unique = [...new Map(errors.map((d) => [`${d.code}:${d.file}:${d.line}:${d.col}:${d.severity}`, d])).values()];
  return { rendered, diagnostics: unique };
}

/**
 * The prerelease this image's tags are rendered from, if any: a variable a tag template reads (or the
 * git tag, for templates reading git.*) holding a semantic version with a prerelease part. Such a run
 * moves no release tag: latest, and tags written with onPrerelease: false.
 */
function prereleaseOf(templates: readonly Template[], vars: Record<string, string>, facts: Facts): string | undefined {
  for (const t of templates) {
    if (t.each) continue;
    for (const u of t.uses) {
      const value = u === "git" ? facts.git?.tag : vars[u];
      if (value !== undefined && parseSemver(value)?.prerelease) return `${u === "git" ? "the git tag" : u} is prerelease ${value}`;
    }
  }
  return undefined;
}

/** ci.pr and ci.ref from the variables GitHub Actions, GitLab CI and Buildkite set; empty elsewhere. */
function ciFacts(env: Facts["env"]): { pr: string; ref: string } {
  const pr =
    /^refs\/pull\/(\d+)\//.exec(env.GITHUB_REF ?? "")?.[1] ??
    env.CI_MERGE_REQUEST_IID ??
    (env.BUILDKITE_PULL_REQUEST && env.BUILDKITE_PULL_REQUEST !== "false" ? env.BUILDKITE_PULL_REQUEST : undefined) ??
    "";
  const ref = env.GITHUB_REF ?? env.CI_COMMIT_REF_NAME ?? env.BUILDKITE_BRANCH ?? "";
  return { pr, ref };
}
