import { describe, expect, test } from "vitest";
import { checkTemplate, handlebars, MapValue, simpleTemplate } from "./template.ts";

const vars = new Set(["version", "channel"]);
const render = (src: string, ctx: Record<string, unknown>) => {
  const t = checkTemplate(src, vars);
  if (!t.ok) throw new Error(t.problem.message);
  return t.template.render(ctx);
};

describe("templates", () => {
  test("render without HTML escaping", () => {
    expect(render("{{version}}&<{{channel}}>=", { version: "1.0", channel: "a&b" })).toBe("1.0&<a&b>=");
  });
  test("helpers", () => {
    const ctx = {
      version: "1.0",
      channel: "Feature/Login",
      git: { sha: "abc", shortSha: "abc", branch: "feat/x", tag: "" },
      image: { name: "api", repository: "api" },
    };
    expect(render("{{lower channel}}", ctx)).toBe("feature/login");
    expect(render("{{sanitize git.branch}}", ctx)).toBe("feat-x");
    expect(render("{{default git.tag 'dev'}}", ctx)).toBe("dev");
    expect(render("{{#if git.tag}}{{git.tag}}{{else}}{{version}}{{/if}}", ctx)).toBe("1.0");
    expect(render("{{truncate git.sha 2}}-{{image.name}}", ctx)).toBe("ab-api");
  });
  test("semver helpers as metadata-action tags versions: no value for a non-version or a prerelease drops the whole tag, with the reason", () => {
    const tag = (src: string, version: string) => {
      const t = checkTemplate(src, vars);
      if (!t.ok) throw new Error(t.problem.message);
      const why: string[] = [];
      const value = t.template.render({ version }, undefined, why);
      return why.length ? `dropped: ${why[0]}` : value;
    };
    const tags = (version: string) =>
      ["{{major version}}", "{{majorMinor version}}-slim", "{{semver version 'v{{major}}.{{minor}}'}}"].map((t) => tag(t, version));
    expect(tags("v1.2.3")).toEqual(["1", "1.2-slim", "v1.2"]);
    expect(tags("2.0.0-rc.1")).toEqual([
      "dropped: 2.0.0-rc.1 is a prerelease: major, minor and patch tags move only on releases",
      "dropped: 2.0.0-rc.1 is a prerelease: major, minor and patch tags move only on releases",
      "dropped: 2.0.0-rc.1 is a prerelease: only {{version}} and {{raw}} tag it",
    ]);
    expect(tags("main")).toEqual([
      'dropped: "main" is not a semantic version',
      'dropped: "main" is not a semantic version',
      'dropped: "main" is not a semantic version',
    ]);
    // outside tags (labels, args) and inside a subexpression the helper is only empty
    expect(render("{{major version}}", { version: "main" })).toBe("");
    expect(tag("{{#unless (major version)}}dev{{/unless}}", "main")).toBe("dev");
    // {{version}} never carries build metadata (+ is not allowed in a tag); {{raw}} keeps it, tag-safe
    expect(render("{{semver version}}", { version: "v1.2.3+build.5" })).toBe("1.2.3");
    expect(render("{{semver version '{{raw}}'}}", { version: "v1.2.3+build.5" })).toBe("v1.2.3-build.5");
    expect(() => render("{{semver version}}", { version: "1.2" })).toThrow('"1.2" is not a semantic version');
  });
  test("ref and sha as metadata-action's type=ref and type=sha", () => {
    const git = { sha: "860c1904a1ce19322e91ac35af1ab07466440c37", shortSha: "860c190", branch: "my/branch", tag: "" };
    const ci = { pr: "", ref: "" };
    expect(render("{{ref 'branch'}} {{ref 'pr' prefix='mr-'}}", { git, ci: { pr: "7", ref: "" } })).toBe(" mr-7");
    expect(render("{{ref 'branch'}}", { git, ci })).toBe("my-branch");
    expect(render("{{sha}} {{sha prefix=''}} {{sha format='long'}}", { git, ci })).toBe(`sha-860c190 860c190 sha-${git.sha}`);
  });
  test("replace: literal text, or /regex/flags with $1", () => {
    expect(render("{{replace version '.' '-'}}", { version: "1.2.3" })).toBe("1-2-3");
    expect(render("{{replace version '/^v(\\d+).*$/' 'major-$1'}}", { version: "v12.4.0" })).toBe("major-12");
  });
  test("lookup reads a map variable (own keys only), with a fallback; the map written whole is an error", () => {
    const arch = new MapValue("version", new Map([["amd64", "x86_64"]]));
    expect(render("{{lookup version 'amd64'}}", { version: arch })).toBe("x86_64");
    expect(render("{{lookup version 'constructor' 'none'}}", { version: arch })).toBe("none");
    expect(() => render("{{lookup version 'riscv64'}}", { version: arch })).toThrow('"riscv64" is not a key of version (keys: amd64)');
    expect(() => render("{{version}}", { version: arch })).toThrow("variable version is a map");
  });
  // found by a review: {{truncate version}} rendered empty (the tag silently dropped), {{date}} was an "unknown
  // variable", and every syntax error said "every {{ needs a matching }}"
  test("a helper given too few or too many values, or named alone, and common foreign syntaxes, say what to write", () => {
    const problem = (src: string) => {
      const t = checkTemplate(src, vars);
      return t.ok ? undefined : [t.problem.code, t.problem.message.replace(`template "${src}": `, ""), t.problem.hint];
    };
    expect(problem("{{truncate version}}")).toEqual(["template-syntax", "truncate takes 2 values, e.g. {{truncate git.sha 7}}", undefined]);
    expect(problem("{{truncate version 'abc'}}")).toEqual([
      "template-syntax",
      "truncate takes a length (a whole number), e.g. {{truncate git.sha 7}}",
      undefined,
    ]);
    expect(problem("{{truncate version -1}}")?.[1]).toBe("truncate takes a length (a whole number), e.g. {{truncate git.sha 7}}");
    expect(problem("{{truncate version 1.5}}")?.[1]).toBe("truncate takes a length (a whole number), e.g. {{truncate git.sha 7}}");
    expect(problem("{{major}}")?.[1]).toBe("major is a helper, not a variable: write {{major version}}");
    expect(problem("{{semver}}")?.[1]).toBe("semver is a helper, not a variable: write {{semver version}}");
    expect(problem("{{truncate version '3'}}")).toBeUndefined();
    expect(problem("{{lower version channel}}")?.[1]).toBe("lower takes 1 value, e.g. {{lower git.branch}}");
    expect(problem("{{lookup version}}")?.[1]).toBe("lookup takes 2 or 3 values, e.g. {{lookup NAME KEY}} or {{lookup NAME KEY FALLBACK}}");
    expect(problem("{{date}}")?.[1]).toBe('date is a helper, not a variable: write {{date "YYYYMMDD"}}');
    expect(problem("{{version | lower}}")?.[2]).toBe("a helper comes before its value: {{lower version}}, not {{version | lower}}");
    expect(problem("{{ .Version }}")?.[2]).toBe("this is Go's template syntax: write {{version}} (a variable of the spec), not {{ .Version }}");
    expect(problem("{{#if version}}x")?.[2]).toBe("close each {{#if …}} with {{/if}} (and {{#unless …}} with {{/unless}})");
    expect(problem("{{version")?.[2]).toBe("every {{ needs a matching }}");
    expect(problem("{{version.major}}")?.[1]).toBe("a variable has no fields: write {{major version}}");
    expect(problem("{{git.commit}}")?.[2]).toBe("use git.sha, git.shortSha, git.branch, git.tag");
    expect(problem("{{#each version}}x{{/each}}")?.[2]).toBe("one tag per item of a list variable is written tags: [{ each: NAME }]");
  });
  test("date formats the commit's time in UTC, never the clock", () => {
    const t = checkTemplate("{{date 'YYYYMMDD-HHmm'}}", vars);
    if (!t.ok) throw new Error(t.problem.message);
    expect(t.template.render({}, "1700000000")).toBe("20231114-2213");
    expect(() => t.template.render({})).toThrow("SOURCE_DATE_EPOCH");
  });
  test.each([
    ["{{ version }", "template-syntax"],
    ["{{verison}}", "template-unknown-variable"],
    ["{{git.sah}}", "template-unknown-variable"],
    ["{{platform.arch}}", "template-unknown-variable"],
    ["{{shout version}}", "template-unknown-helper"],
    ["{{lookup this 'constructor'}}", "template-unknown-variable"],
    ["{{#each version}}x{{/each}}", "template-unknown-helper"],
    ["{{constructor}}", "template-unknown-variable"],
    ["{{__proto__}}", "template-unknown-variable"],
    ["{{this}}", "template-unknown-variable"],
    ["{{../version}}", "template-unknown-variable"],
    ["{{@root.version}}", "template-unknown-variable"],
    ["{{> partial}}", "template-syntax"],
    // helpers' literal arguments are checked before any value is known
    ["{{ref 'main'}}", "template-syntax", 'ref takes one of "branch", "tag" or "pr"'],
    ["{{ref 'pr' suffix='x'}}", "template-syntax", "ref takes no suffix= (only prefix)"],
    ["{{sha format='medium'}}", "template-syntax", 'sha takes only format="short"|"long"'],
    ["{{semver version '{{major}}.{{build}}'}}", "template-syntax", 'semver pattern "{{major}}.{{build}}": use {{version}}'],
    ["{{semver version 'latest'}}", "template-syntax", 'semver pattern "latest"'],
    ["{{major version 'x'}}", "template-syntax", "major takes one version"],
  ])("%s is refused as %s", (src, code, message?: string) => {
    const t = checkTemplate(src, vars);
    expect(t.ok ? "ok" : t.problem.code).toBe(code);
    if (message) expect(!t.ok && t.problem.message).toContain(message);
  });
  test("a missing value fails instead of rendering empty (strict)", () => {
    expect(() => render("{{version}}", {})).toThrow(/not defined/);
  });
});

test("a helper of the handlebars environment is never read as a variable by the fast path", () => {
  for (const helper of Object.keys(handlebars().helpers)) expect(simpleTemplate(`{{${helper}}}`)).toBeUndefined();
});
