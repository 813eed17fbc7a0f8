import { describe, expect, test } from "vitest";
import { checkTemplate, MapValue } from "./template.ts";

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
  test("semver helpers as metadata-action tags versions: a value that is not one renders empty (its tag is dropped)", () => {
    const tags = (version: string) =>
      ["{{major version}}", "{{majorMinor version}}", "{{#unless (isPrerelease version)}}latest{{/unless}}"].map((t) => render(t, { version }));
    expect(tags("v1.2.3")).toEqual(["1", "1.2", "latest"]);
    expect(tags("2.0.0-rc.1")).toEqual(["2", "2.0", ""]);
    expect(tags("main")).toEqual(["", "", "latest"]);
    expect(render("{{semver version}}", { version: "v1.2.3+build.5" })).toBe("1.2.3+build.5");
    expect(() => render("{{semver version}}", { version: "1.2" })).toThrow('"1.2" is not a semantic version');
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
  ])("%s is refused as %s", (src, code) => {
    const t = checkTemplate(src, vars);
    expect(t.ok ? "ok" : t.problem.code).toBe(code);
  });
  test("a missing value fails instead of rendering empty (strict)", () => {
    expect(() => render("{{version}}", {})).toThrow(/not defined/);
  });
});
